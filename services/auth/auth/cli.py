"""Auth command line: `python -m auth.cli create-admin | setup-token | signing-keys |
rotate-signing-keys`.

`create-admin` creates the first administrator from a shell, as the console's
setup page does (refused once any administrator exists). `setup-token`
prints a new one-time setup token for that page. `signing-keys` lists the
token signing keys; `rotate-signing-keys` rotates them as the console's
Platform section does (audited, every replica told at once).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import timedelta
from pathlib import Path

from auth.admin.setup import admin_exists, create_first_admin, forget_setup_token, issue_setup_token
from auth.keys.service import key_states, rotate_signing_keys
from shared.audit import AuditRecord, EventType
from shared.db import transaction
from shared.devmode import dev_settings
from shared.errors import ServiceError
from shared.migrate import upgrade
from shared.runtime import Runtime
from shared.settings import load_settings
from shared.signing_keys import DEFAULT_OVERLAP


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


def rotate_keys(runtime: Runtime, overlap_seconds: int | None) -> list[str]:
    overlap = DEFAULT_OVERLAP if overlap_seconds is None else timedelta(seconds=overlap_seconds)
    with transaction(runtime.session_factory) as session:
        kids = rotate_signing_keys(session, runtime, overlap)
    runtime.audit.emit_after_commit(
        AuditRecord(
            type=EventType.SIGNING_KEYS_ROTATED,
            actor_type="system",
            actor_name="auth.cli",
            details={"kids": kids, "overlap_seconds": int(overlap.total_seconds())},
        )
    )
    return kids


def list_keys(runtime: Runtime) -> str:
    with runtime.session_factory() as session:
        states = key_states(session)
    return "\n".join(
        f"{s.alg:<6} {s.kid}  {s.state:<8} "
        f"signing since {s.activated_at or '-'}  verifies until {s.verify_until or '-'}"
        for s in states
    )


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
    commands.add_parser("signing-keys", help="list the token signing keys and their states")
    rotate = commands.add_parser("rotate-signing-keys", help="rotate the token signing keys")
    rotate.add_argument(
        "--overlap-seconds",
        type=int,
        help="how long the previous keys keep verifying (default: longer than any token "
        "they signed lives; 0 for keys believed compromised)",
    )
    args = parser.parse_args(argv)
    if args.command == "create-admin" and not args.email and not args.mobile:
        parser.error("give --email or --mobile")
    overlap = getattr(args, "overlap_seconds", None)
    if overlap is not None and not 0 <= overlap <= 7 * 86400:
        parser.error("--overlap-seconds must be between 0 and 604800")

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
        elif args.command == "signing-keys":
            print(list_keys(runtime))
        elif args.command == "rotate-signing-keys":
            print("now signing:", " ".join(rotate_keys(runtime, args.overlap_seconds)))
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
