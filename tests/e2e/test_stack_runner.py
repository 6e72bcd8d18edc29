"""The local stack's Traefik config and process bookkeeping, checked without starting it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from stack.__main__ import setup_lines
from stack.config import StackConfig, config_from_environment
from stack.gateway import write_config
from stack.runner import Stack
from stack.topology import make_plan


def test_rendered_traefik_config_trusts_no_forwarded_header_and_logs_access(tmp_path: Path):
    plan = make_plan("127.0.0.1", 9101)
    static = yaml.safe_load(write_config(plan, tmp_path, "127.0.0.1:9100").read_text())
    web = static["entryPoints"]["web"]
    assert web["address"] == "127.0.0.1:9100"
    assert web["forwardedHeaders"]["trustedIPs"] == []  # nothing is in front of Traefik
    assert static["accessLog"]["filePath"] == str(tmp_path / "logs" / "traefik-access.log")
    assert static["accessLog"]["fields"]["headers"]["defaultMode"] == "drop"  # no Authorization

    dynamic = yaml.safe_load(Path(static["providers"]["file"]["filename"]).read_text())["http"]
    for name, router in dynamic["routers"].items():
        assert router["service"] in dynamic["services"], name
        assert set(router["middlewares"]) <= set(dynamic["middlewares"])
    auth = dynamic["services"]["identity-auth"]["loadBalancer"]
    assert [s["url"] for s in auth["servers"]] == [
        "http://127.0.0.1:9101",
        "http://127.0.0.1:9102",
    ]
    assert auth["healthCheck"]["path"] == "/auth/readyz"
    assert dynamic["routers"]["identity-directory"]["rule"] == (
        "PathPrefix(`/directory`) || PathPrefix(`/users`)"
    )


def test_the_session_check_goes_to_replicas_of_its_own_with_the_others_behind(tmp_path: Path):
    plan = make_plan("127.0.0.1", 9101, auth_replicas=2, session_replicas=2)
    static = yaml.safe_load(write_config(plan, tmp_path, "127.0.0.1:9100").read_text())
    dynamic = yaml.safe_load(Path(static["providers"]["file"]["filename"]).read_text())["http"]
    router = dynamic["routers"]["identity-auth-session"]
    assert router["rule"] == "Path(`/auth/session`) && Method(`GET`)"
    # Above the auth router, whose rule is the longer one (Traefik's default priority).
    assert router["priority"] > len(dynamic["routers"]["identity-auth"]["rule"])
    assert "priority" not in dynamic["routers"]["identity-auth"]
    failover = dynamic["services"][router["service"]]["failover"]
    assert failover["fallback"] == "identity-auth"
    assert failover["errors"]["status"] == ["502"]
    replicas = dynamic["services"][failover["service"]]["loadBalancer"]
    assert [s["url"] for s in replicas["servers"]] == [
        "http://127.0.0.1:9103",
        "http://127.0.0.1:9104",
    ]
    assert replicas["healthCheck"]["path"] == "/auth/readyz"
    names = [p.name for p in plan.processes if p.port]
    assert names[:5] == ["auth-1", "auth-2", "auth-session-1", "auth-session-2", "directory"]


def test_edge_proxies_are_the_only_forwarded_header_sources_traefik_trusts(tmp_path: Path):
    plan = make_plan("127.0.0.1", 9101)
    path = write_config(plan, tmp_path, "127.0.0.1:9100", ["10.0.0.5/32"])
    static = yaml.safe_load(path.read_text())
    assert static["entryPoints"]["web"]["forwardedHeaders"]["trustedIPs"] == ["10.0.0.5/32"]


def test_services_trust_forwarded_headers_from_traefiks_address_only(tmp_path: Path):
    config = StackConfig(run_dir=tmp_path, env={"IDENTITY_TRUSTED_PROXIES": "0.0.0.0/0"})
    assert config.process_env()["IDENTITY_TRUSTED_PROXIES"] == "127.0.0.1/32"


def test_processes_get_two_malloc_arenas_unless_the_operator_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert StackConfig(run_dir=tmp_path).process_env()["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert StackConfig(run_dir=tmp_path).process_env()["MALLOC_ARENA_MAX"] == "4"


def test_auth_replicas_share_the_hosts_cpus_for_hashing_unless_the_operator_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)))
    env = StackConfig(run_dir=tmp_path, auth_replicas=2).process_env()
    assert env["IDENTITY_PASSWORD_HASHING_PROCESSES"] == "4"
    env = StackConfig(run_dir=tmp_path, auth_replicas=16).process_env()
    assert env["IDENTITY_PASSWORD_HASHING_PROCESSES"] == "1"
    given = {"IDENTITY_PASSWORD_HASHING_PROCESSES": "3"}
    env = StackConfig(run_dir=tmp_path, auth_replicas=2, env=given).process_env()
    assert env["IDENTITY_PASSWORD_HASHING_PROCESSES"] == "3"


def test_make_stack_keeps_one_local_secret_key_unless_given_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("IDENTITY_SECRET_KEY", raising=False)
    monkeypatch.setenv("IDENTITY_LOG_LEVEL", "DEBUG")
    first = config_from_environment(tmp_path).env
    assert len(first["IDENTITY_SECRET_KEY"]) >= 32 and first["IDENTITY_LOG_LEVEL"] == "DEBUG"
    assert (
        config_from_environment(tmp_path).env["IDENTITY_SECRET_KEY"]
        == (first["IDENTITY_SECRET_KEY"])
    )
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("IDENTITY_SECRET_KEY", "k" * 40)
    assert config_from_environment(tmp_path).env["IDENTITY_SECRET_KEY"] == "k" * 40


def test_a_stale_pid_file_never_stops_an_unrelated_process(tmp_path: Path):
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        # Same pid, another start time: the recorded process is gone, the pid reused.
        record = {"pid": stranger.pid, "started": "1", "argv": ["uvicorn"]}
        (pids / "directory.pid").write_text(json.dumps(record))
        stack = Stack(StackConfig(run_dir=tmp_path))
        assert stack.running() == {}
        assert stack.down() == []
        assert stranger.poll() is None  # still running
        assert not (pids / "directory.pid").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_make_stack_shows_the_setup_token_whichever_auth_replica_printed_it(tmp_path: Path):
    stack = Stack(StackConfig(run_dir=tmp_path))
    stack.log_dir.mkdir(parents=True)
    token_line = "No administrator yet. One-time setup token (valid 24 h): abc123"
    (stack.log_dir / "auth-session.log").write_text(f"starting\n{token_line}\nready\n")
    (stack.log_dir / "auth-1.log").write_text("No administrator yet: printed by another replica\n")
    (stack.log_dir / "directory.log").write_text("No administrator yet. not an auth replica\n")
    lines = setup_lines(stack)
    assert ("auth-session", token_line) in lines
    assert {name for name, _ in lines} == {"auth-session", "auth-1"}
