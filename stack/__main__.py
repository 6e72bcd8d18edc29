"""`python -m stack up | down | status` (what `make stack` and `make stack-down` run)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from stack.config import DEFAULT_RUN_DIR, StackConfig, config_from_environment
from stack.runner import Stack, StackError

SETUP_LINE = re.compile(r"No administrator yet.*")


def setup_lines(stack: Stack) -> list[tuple[str, str]]:
    """What each auth replica said about the one-time setup token: whichever started first
    (the session-check replica too) printed it, the others say so."""
    auth = [
        name
        for b in stack.plan.backends
        if b.name.startswith("identity-auth")
        for name in b.processes
    ]
    return [(name, line) for name in auth for line in SETUP_LINE.findall(stack.log_tail(name, 200))]


def _up(stack: Stack) -> int:
    config = stack.config
    print(f"starting the stack (logs in {stack.log_dir}) ...", flush=True)
    try:
        stack.up()
    except StackError as exc:
        print(f"the stack did not start: {exc}", file=sys.stderr)
        return 1
    print(f"\nTraefik: {config.gateway_url}  (open {config.gateway_url}/setup)")
    for process in stack.plan.processes:
        where = f"http://{config.host}:{process.port}" if process.port else "(no port)"
        print(f"  {process.name:<15} {where:<24} {stack.log_dir / (process.name + '.log')}")
    print(f"  {'traefik':<15} {config.gateway_url:<24} {stack.log_dir / 'traefik.log'}")
    print(f"  access log      {stack.log_dir / 'traefik-access.log'}")
    for name in stack.plan.skipped:
        print(f"  {name:<15} not started: its package is not there yet")
    for name in stack.failed:
        print(f"  {name:<15} FAILED to start and left out: see its log")
    for name, line in setup_lines(stack):
        print(f"\n{name}: {line}")
    print("\nStop it with: make stack-down")
    return 0


def _down(stack: Stack) -> int:
    stopped = stack.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status(stack: Stack) -> int:
    running = stack.running()
    for name, pid in running.items():
        print(f"{name:<15} pid {pid}")
    if not running:
        print("nothing is running")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR)
    args = parser.parse_args(argv)
    # Only `up` needs the settings (and may make the local secret key).
    config = config_from_environment(args.run_dir) if args.command == "up" else None
    stack = Stack(config or StackConfig(run_dir=args.run_dir))
    commands = {"up": _up, "down": _down, "status": _status}
    return commands[args.command](stack)


if __name__ == "__main__":
    sys.exit(main())
