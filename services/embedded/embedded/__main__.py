"""`python -m embedded`: the whole system in one process on SQLite and an in-process Redis.

For trying it out and demos only: it refuses to run with production settings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from embedded.app import create_embedded_app
from shared.devmode import dev_settings
from shared.logging import configure_logging
from shared.migrate import upgrade
from shared.runtime import Runtime
from shared.signing_keys import ensure_signing_keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args()

    settings = dev_settings(args.data_dir, issuer=f"http://localhost:{args.port}")
    configure_logging("embedded", settings.log_level)
    upgrade(settings.database_url)
    runtime = Runtime(settings)
    with runtime.session_factory() as session:
        ensure_signing_keys(session, runtime.box)
    print(f"Identity Services (dev): http://localhost:{args.port}/setup", flush=True)
    # proxy_headers off: X-Forwarded-For is judged by shared/client_ip.py alone.
    # log_config None: uvicorn's lines go through configure_logging's masked handler;
    # no access log, as behind Traefik (its query strings carry searched emails).
    uvicorn.run(
        create_embedded_app(runtime),
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
