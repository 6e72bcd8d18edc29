"""Starting, watching and stopping the local stack's processes.

Each process runs in its own process group (so a Celery worker's children go
with it) but in the runner's session: Linux gives every session its own
scheduling group with an equal share of the CPUs, and one group shared by
the services keeps their work at equal weight (the password hashing
processes leave it for groups of their own at the lowest weight, and leave
with their service; shared/security/passwords.py). Each process logs to
`<run dir>/logs/<name>.log`, and has `<run dir>/pids/<name>.pid` recording
its pid and start time. Stopping
signals only process groups whose leader is still that very process (same
pid, same start time), so a stale pid file never hits an unrelated process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.settings import Settings
from stack.config import StackConfig, ensure_database
from stack.gateway import traefik_process, write_config
from stack.topology import ROOT, make_plan


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.plan = make_plan(
            config.host, config.first_service_port, config.auth_replicas, config.session_replicas
        )
        self.log_dir = config.run_dir / "logs"
        self.pid_dir = config.run_dir / "pids"
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._processes = {p.name: p for p in self.plan.processes}
        self.failed: list[str] = []  # optional processes that did not start

    # -- the whole stack ------------------------------------------------------

    def up(self, *, migrate: bool = True, timeout: float = 45.0) -> None:
        """Start everything and return once every service answers through Traefik."""
        if self.running():
            raise StackError(f"already running ({', '.join(self.running())}): stop it first")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        if migrate:
            self._migrate()
        static = write_config(
            self.plan,
            self.config.run_dir,
            f"{self.config.host}:{self.config.gateway_port}",
            self.config.edge_trusted_ips,
        )
        self._processes["traefik"] = traefik_process(static)
        for process in self._processes.values():
            (self.log_dir / f"{process.name}.log").unlink(missing_ok=True)  # this run's logs only
        try:
            for process in self._processes.values():
                self.start(process.name)
            self.wait_ready(timeout)
        except BaseException:
            self.down()
            raise

    def down(self, grace: float = 10.0) -> list[str]:
        """SIGTERM every recorded process group, SIGKILL what is left after `grace`."""
        records = self._records()
        for pid in records.values():
            self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(self._alive(pid) for pid in records.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for name, pid in records.items():
            if self._alive(pid):
                self._signal(pid, signal.SIGKILL)
            self._forget(name)
        return list(records)

    def running(self) -> dict[str, int]:
        return {name: pid for name, pid in self._records().items() if self._alive(pid)}

    # -- one process ----------------------------------------------------------

    def start(self, name: str) -> int:
        process = self._processes[name]
        with (self.log_dir / f"{name}.log").open("ab") as log:
            child = subprocess.Popen(  # noqa: S603 - our own command table, no shell
                process.argv,
                cwd=ROOT,
                env=self.config.process_env(process.pythonpath),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,  # not a session of its own: see the module docstring
            )
        self._children[child.pid] = child
        record = {"pid": child.pid, "started": _start_time(child.pid), "argv": process.argv}
        (self.pid_dir / f"{name}.pid").write_text(json.dumps(record))
        return child.pid

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or an OOM kill would: no shutdown, no goodbye to anyone."""
        pid = self._records()[name]
        self._signal(pid, signal.SIGKILL)
        while self._alive(pid):
            time.sleep(0.05)
        self._forget(name)

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Start one process again (after `kill`); a web one is waited for until it answers."""
        self.start(name)
        process = self._processes[name]
        if process.port is not None and process.ready_path is not None:
            url = f"http://{self.config.host}:{process.port}{process.ready_path}"
            self._wait_for(url, time.monotonic() + timeout, name)

    def wait_ready(self, timeout: float) -> None:
        """Each uvicorn answers its readiness path, then each backend answers through Traefik.

        An optional service (the console) that dies or never answers is stopped and
        left out (`self.failed`); anything else failing to start is an error.
        """
        deadline = time.monotonic() + timeout
        for process in self._processes.values():
            if process.port is None or process.ready_path is None:
                continue
            url = f"http://{self.config.host}:{process.port}{process.ready_path}"
            try:
                self._wait_for(url, deadline, process.name)
            except StackError:
                if not process.optional:
                    raise
                self._give_up_on(process.name)
        for backend in self.plan.backends:
            if not set(backend.processes) & set(self.failed):
                self._wait_for(self.config.gateway_url + backend.health_path, deadline)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- internals ------------------------------------------------------------

    def _migrate(self) -> None:
        env = self.config.process_env()
        default_url = Settings.model_fields["database_url"].default
        ensure_database(env.get("IDENTITY_DATABASE_URL") or default_url)
        with (self.log_dir / "migrate.log").open("ab") as log:
            done = subprocess.run(
                [sys.executable, "-m", "shared.migrate"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise StackError("migrations failed:\n" + self.log_tail("migrate"))

    def _wait_for(self, url: str, deadline: float, name: str | None = None) -> None:
        """Poll `url` until it answers 200; `name` is the process that should answer it."""
        while True:
            self._check_all_alive()
            if name in self.failed:
                raise StackError(f"{name} exited at start; see {self.log_dir}/{name}.log")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{url} did not become ready; see {self.log_dir}")
            time.sleep(0.2)

    def _check_all_alive(self) -> None:
        for name, pid in self._records().items():
            if not self._alive(pid):
                self._forget(name)
                if not self._processes[name].optional:
                    log = self.log_tail(name)
                    raise StackError(f"{name} exited at start; its log ends:\n{log}")
                self.failed.append(name)

    def _give_up_on(self, name: str) -> None:
        pid = self._records().get(name)
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            self._forget(name)
        if name not in self.failed:
            self.failed.append(name)

    def _records(self) -> dict[str, int]:
        """Recorded processes that still run (stale files are dropped)."""
        records: dict[str, int] = {}
        if not self.pid_dir.is_dir():
            return records
        for path in sorted(self.pid_dir.glob("*.pid")):
            record = json.loads(path.read_text())
            pid = int(record["pid"])
            if _start_time(pid) == record["started"] or pid in self._children:
                records[path.stem] = pid
            else:
                path.unlink()
        return records

    def _forget(self, name: str) -> None:
        (self.pid_dir / f"{name}.pid").unlink(missing_ok=True)

    def _alive(self, pid: int) -> bool:
        child = self._children.get(pid)
        if child is not None:
            child.poll()  # reaps our own dead child, which would otherwise linger as a zombie
        # Even with the leader gone, a worker's children may still be in its group.
        return _group_exists(pid)

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)


def _start_time(pid: int) -> str | None:
    """Clock ticks since boot when `pid` started (field 22 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after it do not.
    return stat.rsplit(")", 1)[1].split()[19]


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
