"""Second factors: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes.

`factors` reads what a user has enrolled; `policy` decides whether a sign-in
needs a second step and which methods may complete it; `totp`,
`recovery_codes` and `passkeys` enrol and check each kind; `service` is the
second step itself (the REST API's `mfa_required` challenge, the lockout the
password shares, the audit trail); `router` serves `POST /auth/mfa/...`.
The hosted sign-in page (auth/oidc/hosted.py) and the account page
(auth/account/) use the same functions.
"""
