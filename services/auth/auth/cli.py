"""Auth command line: `python -m auth.cli create-admin | setup-token`.

`create-admin` creates the first administrator from a shell, as the console's
setup page does (refused once any administrator exists). `setup-token`
prints a new one-time setup token for that page.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from auth.admin.setup import admin_exists, create_first_admin, forget_setup_token, issue_setup_token
from shared.devmode import dev_settings
from shared.errors import ServiceError
from shared.migrate import upgrade
from shared.runtime import Runtime
from shared.settings import load_settings


def create_admin(runtime: Runtime, name: str, email: str | None, mobile: str | None) -> str:
    password = os.environ.get("IDENTITY_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    with runtime.session_factory() as session:
        user = create_first_admin(
            session, runtime, name=name, email=email, mobile_number=mobile, password=password
        )
        session.commit()
        forget_setup_token(runtime)
        return str(user.id)


def setup_token(runtime: Runtime) -> str:
    with runtime.session_factory() as session:
        if admin_exists(session):
            raise SystemExit("an administrator exists already; sign in to the console")
    token = issue_setup_token(runtime, replace=True)
    assert token is not None  # replace=True always stores
    return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth.cli", description=__doc__)
    parser.add_argument("--dev", action="store_true", help="use the embedded dev settings")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create the first administrator")
    create.add_argument("--name", required=True)
    create.add_argument("--email")
    create.add_argument("--mobile")
    commands.add_parser("setup-token", help="print a new one-time setup token")
    args = parser.parse_args(argv)
    if args.command == "create-admin" and not args.email and not args.mobile:
        parser.error("give --email or --mobile")

    if args.dev and args.command == "setup-token":
        # The embedded server's Redis lives inside that process: only it can issue one.
        parser.error("in dev mode the running server prints the setup token at start")
    settings = dev_settings(args.data_dir) if args.dev else load_settings(service_name="auth")
    if args.dev:
        upgrade(settings.database_url)
    runtime = Runtime(settings)
    try:
        if args.command == "create-admin":
            print(create_admin(runtime, args.name, args.email, args.mobile))
        else:
            print(setup_token(runtime))
    except ServiceError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
