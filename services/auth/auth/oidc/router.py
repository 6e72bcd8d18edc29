"""The OpenID Connect endpoints, as one router: discovery, authorize and the hosted sign-in
page, token, userinfo, revocation, introspection and RP-initiated logout. Every step is
audited."""

from __future__ import annotations

from fastapi import APIRouter

from auth.oidc import authorize, backchannel, discovery, hosted, logout, second_step
from auth.oidc.http import PREFIX

router = APIRouter()
for part in (discovery, authorize, hosted, second_step, backchannel, logout):
    router.include_router(part.router)

__all__ = ["PREFIX", "router"]
