"""`/.well-known/openid-configuration`: the provider's metadata (OpenID Connect Discovery 1.0)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from auth.oidc.http import PREFIX, runtime_of
from shared.signing_keys import ALGORITHMS

router = APIRouter(tags=["OpenID Connect"])

CLAIMS = (
    "sub",
    "name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "emp_id",
    "updated_at",
)


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> JSONResponse:
    """The provider's metadata (OpenID Connect Discovery 1.0)."""
    issuer = runtime_of(request).tokens.issuer
    methods = ["client_secret_basic", "client_secret_post", "none"]
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}{PREFIX}/authorize",
        "token_endpoint": f"{issuer}{PREFIX}/token",
        "userinfo_endpoint": f"{issuer}{PREFIX}/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}{PREFIX}/revoke",
        "introspection_endpoint": f"{issuer}{PREFIX}/introspect",
        "end_session_endpoint": f"{issuer}{PREFIX}/logout",
        "scopes_supported": ["openid", "profile", "email", "phone"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods[:2],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS),
        "prompt_values_supported": ["none", "login"],
        "request_parameter_supported": False,
        "claims_parameter_supported": False,
    }
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
