"""Directory command line: `python -m directory.cli create-admin | admin-token`.

`create-admin` bootstraps the first administrator from a shell (DESIGN.md §10).
`admin-token` prints a short-lived console token for scripts in dev/test only;
in production administrators sign in through the auth service.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from sqlalchemy import select

from directory.sync.feed import refresh_user_entries
from directory.users.service import ensure_unique, normalize_contact_fields
from shared.devmode import dev_settings
from shared.models import UserAccount
from shared.runtime import Runtime
from shared.security.password_policy import WeakPassword, check_password
from shared.settings import Settings, load_settings
from shared.sync_contract import compute_sync_hash
from shared.tokens import CONSOLE_AUDIENCE, ensure_signing_key


def _settings(args: argparse.Namespace) -> Settings:
    return dev_settings(args.data_dir) if args.dev else load_settings()


def create_admin(runtime: Runtime, name: str, email: str | None, mobile: str | None) -> str:
    fields = normalize_contact_fields(
        {"name": name, "email": email, "mobile_number": mobile, "emp_id": None, "status": "active"},
        runtime.settings.default_region,
    )
    password = os.environ.get("IDENTITY_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    check_password(
        password, min_length=runtime.settings.password_min_length, personal=[name, email, mobile]
    )
    with runtime.session_factory() as session:
        ensure_unique(session, fields)
        user = UserAccount(**fields, is_admin=True, sync_hash=compute_sync_hash(fields))
        user.password_hash = runtime.passwords.hash(password)
        session.add(user)
        session.flush()
        refresh_user_entries(session, user)
        session.commit()
        return str(user.id)


def admin_token(runtime: Runtime, login: str, ttl: int) -> str:
    if not (runtime.settings.is_dev or runtime.settings.env.value == "test"):
        raise SystemExit("admin-token is for dev/test; sign in through the auth service")
    with runtime.session_factory() as session:
        ensure_signing_key(session, runtime.box)
        user = session.scalar(
            select(UserAccount).where(
                (UserAccount.email == login.lower()) | (UserAccount.mobile_number == login)
            )
        )
        if user is None or not user.is_admin or user.status != "active":
            raise SystemExit(f"no active administrator with login {login!r}")
        token, _ = runtime.tokens.mint(
            subject=str(user.id), audience=CONSOLE_AUDIENCE, ttl_seconds=ttl
        )
        return token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m directory.cli", description=__doc__)
    parser.add_argument("--dev", action="store_true", help="use the embedded dev settings")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an administrator")
    create.add_argument("--name", required=True)
    create.add_argument("--email")
    create.add_argument("--mobile")
    token = commands.add_parser("admin-token", help="print a console token (dev/test only)")
    token.add_argument("--login", required=True)
    token.add_argument("--ttl", type=int, default=900)
    args = parser.parse_args(argv)

    runtime = Runtime(_settings(args))
    try:
        if args.command == "create-admin":
            if not args.email and not args.mobile:
                parser.error("give --email or --mobile")
            print(create_admin(runtime, args.name, args.email, args.mobile))
        else:
            print(admin_token(runtime, args.login, args.ttl))
    except WeakPassword as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:
        message = getattr(exc, "message", str(exc))
        print(f"error: {message}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
