"""Starting and killing real `celery -A otp_delivery.worker worker -Q otp` processes in tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# Short enough that a killed worker's message comes back within seconds, and
# still consistent: visibility > time limit + longest backoff > provider timeouts.
TIMINGS = {
    "IDENTITY_OTP_HTTP_TIMEOUT_SECONDS": "3",
    "IDENTITY_OTP_SMTP_TIMEOUT_SECONDS": "3",
    "IDENTITY_OTP_TASK_TIME_LIMIT_SECONDS": "5",
    "IDENTITY_OTP_RETRY_BACKOFF_SECONDS": "0.2",
    "IDENTITY_OTP_RETRY_BACKOFF_MAX_SECONDS": "1",
    "IDENTITY_OTP_VISIBILITY_TIMEOUT_SECONDS": "7",
}


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("IDENTITY_")}
    env.update(
        {
            "IDENTITY_ENV": "test",
            "IDENTITY_DATABASE_URL": settings.database_url,
            "IDENTITY_REDIS_URL": settings.redis_url,
            "IDENTITY_REDIS_PREFIX": settings.redis_prefix,
            "IDENTITY_SECRET_KEY": settings.secret_key.get_secret_value(),
            "IDENTITY_OTP_ALLOW_PRIVATE_HOSTS": "true",
            "IDENTITY_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",  # the log file is read while the worker runs
            **TIMINGS,
        }
    )
    return env


class Workers:
    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.started = 0

    def start(self, pool: str = "solo", concurrency: int = 1, *, events: bool = False) -> str:
        """A worker; `solo` runs tasks in the worker process itself, `prefork` in children.

        `events`: the worker sends task events (`-E`), as under a monitor such as Flower.
        """
        self.started += 1
        name = f"w{self.started}"
        log = (self.log_dir / f"{name}.log").open("ab")
        command = [
            sys.executable, "-m", "celery", "-A", "otp_delivery.worker", "worker",
            "-Q", "otp", "-c", str(concurrency), f"--pool={pool}",
            "-n", f"{name}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel=INFO",
            *(["-E"] if events else []),
        ]  # fmt: skip
        self.running[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        log.close()
        return name

    def kill(self, name: str) -> None:
        """SIGKILL, as a crashed host or an OOM kill would: no shutdown, no acks."""
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))
