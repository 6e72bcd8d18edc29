"""OpenID Connect provider: the registered applications as clients, Authlib's server core.

Layout: `clients.py` (client settings, the in-process registry), `client_admin.py`
(the administrators' API), `codes.py` (authorization codes in Redis), `grants.py`
(Authlib grants and extensions bound to our sessions), `server.py` (Authlib's
server on Starlette requests), `sso.py` (the provider's sign-in session and its
cookie), `pages.py` (the hosted sign-in page), `router.py` (the endpoints).
"""
