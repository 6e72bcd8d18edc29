"""Benchmark of OTP delivery: task enqueued -> message received at a local HTTP SMS sink.

    python bench/bench_otp.py [--deliveries 300]

Creates its own MariaDB database (dropped at the end) and Redis prefix, a
local HTTP server that answers like an SMS API, and the Generic API provider
pointed at it. Starts one, then two real `celery -A otp_delivery.worker worker
-Q otp` processes (prefork, concurrency 1 each) and times, with each count:
- OTP one at a time: enqueue -> the sink has the message; the next is sent
  after it arrived (latency alone);
- OTP burst: all N enqueued at once (latency with queueing; throughput);
- the same two for a no-op Celery task (`otp_delivery.ping`, answering on a
  Redis list): the floor set by the broker and the worker before any
  delivery work, measured in the same run.
Prints a markdown table; asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from celery import Celery
from harness import (
    REDIS_URL,
    ROOT,
    markdown_header,
    markdown_row,
    redis_prefix,
    scratch_database,
    stop_processes,
    use_service,
)

use_service("otp-delivery")

from otp_delivery.provider_settings.repository import ChannelSettings, save_channel  # noqa: E402
from shared.models.base import utcnow  # noqa: E402
from shared.otp_contract import OTP_QUEUE, Channel, OtpDeliveryTask, Purpose  # noqa: E402
from shared.otp_sender import CeleryOtpSender, celery_broker_options  # noqa: E402
from shared.runtime import Runtime  # noqa: E402
from shared.settings import Environment, Settings  # noqa: E402

WAIT = 60.0
PING_TASK_NAME = "otp_delivery.ping"  # otp_delivery.worker.ping (importing it needs its env)


@dataclass
class Row:
    label: str
    workers: int
    latencies: list[float]
    seconds: float

    def cells(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        rate = len(ms) / self.seconds if self.seconds else 0.0
        figures = [f"{statistics.median(ms):.1f}", f"{p95:.1f}", f"{ms[-1]:.1f}", f"{rate:,.0f}"]
        return markdown_row([self.label, self.workers, len(ms), *figures])


class Sink:
    """An SMS API stand-in: notes when each code arrives."""

    def __init__(self) -> None:
        self.arrivals: queue.Queue[tuple[str, float]] = queue.Queue()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrivals.put((json.loads(body)["otp"], time.perf_counter()))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextlib.contextmanager
def workers(settings: Settings, count: int) -> Iterator[None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    env.update(
        IDENTITY_ENV="test",
        IDENTITY_DATABASE_URL=settings.database_url,
        IDENTITY_REDIS_URL=settings.redis_url,
        IDENTITY_REDIS_PREFIX=settings.redis_prefix,
        IDENTITY_SECRET_KEY=settings.secret_key.get_secret_value(),
        IDENTITY_OTP_ALLOW_PRIVATE_HOSTS="true",
        IDENTITY_OTP_WORKER_CONCURRENCY="1",
        IDENTITY_LOG_LEVEL="WARNING",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "otp_delivery.worker", "worker",
             "-Q", OTP_QUEUE, "-n", f"bench{n}-{os.getpid()}@%h", "--loglevel=WARNING",
             "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for n in range(count)
    ]  # fmt: skip
    try:
        yield
    finally:
        # SIGTERM is Celery's warm shutdown: a task in progress finishes first.
        stop_processes(processes, timeout=30, whole_group=True)


class Bench:
    def __init__(self, settings: Settings, runtime: Runtime, sink: Sink) -> None:
        self.settings, self.runtime, self.sink = settings, runtime, sink
        self.sender = CeleryOtpSender.from_settings(settings, runtime.box)
        self.celery = Celery("bench", broker=settings.redis_url)
        self.celery.conf.broker_transport_options = celery_broker_options(settings)
        self.reply = runtime.keys("bench", "pong", uuid.uuid4().hex)

    def otp_tasks(self, n: int) -> list[tuple[str, OtpDeliveryTask]]:
        now = utcnow()
        tasks = []
        for i in range(n):
            code = f"{i:06d}"
            task = OtpDeliveryTask(
                channel=Channel.SMS,
                purpose=Purpose.LOGIN,
                destination=f"+1415555{i % 10000:04d}",
                secret_encrypted=self.runtime.box.encrypt(code),
                requested_at=now,
                expires_at=now + timedelta(minutes=5),
            )
            tasks.append((code, task))
        return tasks

    def send_ping(self, token: str) -> None:
        reply_to = self.reply.rsplit(":", 1)[1]
        self.celery.send_task(PING_TASK_NAME, args=[reply_to, token], queue=OTP_QUEUE)

    def next_pong(self) -> tuple[str, float]:
        answer = self.runtime.redis.blpop([self.reply], timeout=WAIT)
        if answer is None:
            raise SystemExit("no answer from the worker")
        return str(answer[1]), time.perf_counter()

    def next_otp(self) -> tuple[str, float]:
        return self.sink.arrivals.get(timeout=WAIT)

    def one_at_a_time(
        self, items: list[tuple[str, Callable[[], None]]], receive: Callable[[], tuple[str, float]]
    ) -> tuple[list[float], float]:
        latencies, start = [], time.perf_counter()
        for _, send in items:
            sent = time.perf_counter()
            send()
            _, arrived = receive()
            latencies.append(arrived - sent)
        return latencies, time.perf_counter() - start

    def burst(
        self, items: list[tuple[str, Callable[[], None]]], receive: Callable[[], tuple[str, float]]
    ) -> tuple[list[float], float]:
        sent: dict[str, float] = {}
        start = time.perf_counter()
        for token, send in items:
            sent[token] = time.perf_counter()
            send()
        latencies, last = [], start
        for _ in items:
            token, last = receive()
            latencies.append(last - sent[token])
        return latencies, last - start

    def run(self, count: int, n: int) -> list[Row]:
        def pings() -> list[tuple[str, Callable[[], None]]]:
            return [(f"p{i}", partial(self.send_ping, f"p{i}")) for i in range(n)]

        def otps() -> list[tuple[str, Callable[[], None]]]:
            return [(code, partial(self.sender, task)) for code, task in self.otp_tasks(n)]

        rows = []
        with workers(self.settings, count):
            # Warm-up, not measured: every worker connected, DB pools and caches filled.
            self.burst(pings()[:20], self.next_pong)
            self.burst(otps()[:20], self.next_otp)
            for label, items, receive, mode in (
                ("no-op task, one at a time", pings, self.next_pong, self.one_at_a_time),
                ("OTP delivery, one at a time", otps, self.next_otp, self.one_at_a_time),
                ("no-op task, burst", pings, self.next_pong, self.burst),
                ("OTP delivery, burst", otps, self.next_otp, self.burst),
            ):
                latencies, seconds = mode(items(), receive)
                rows.append(Row(label, count, latencies, seconds))
                print(rows[-1].cells(), flush=True)
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()
    sink = Sink()
    with scratch_database() as (_, url), redis_prefix() as prefix:
        settings = Settings(
            env=Environment.TEST,
            database_url=url,
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            secret_key=secrets.token_urlsafe(32),
            otp_allow_private_hosts=True,
        )
        runtime = Runtime(settings)
        try:
            with runtime.session_factory() as session, session.begin():
                save_channel(session, runtime.box, generic_api(sink.url))
            columns = ["run", "workers", "n", "p50 ms", "p95 ms", "max ms", "per second"]
            print(markdown_header(columns))
            bench = Bench(settings, runtime, sink)
            for count in (1, 2):
                bench.run(count, args.deliveries)
        finally:
            runtime.close()
            sink.server.shutdown()


def generic_api(url: str) -> ChannelSettings:
    return ChannelSettings(
        channel="sms",
        provider="generic_api",
        is_enabled=True,
        config={
            "url": url,
            "method": "POST",
            "content_type": "application/json",
            "headers": {},
            "auth_header_name": "Authorization",
            "body_template": '{"to": "{mobile}", "text": "{message}", "otp": "{code}"}',
        },
        secrets={"auth_header_value": "Bearer bench"},
        template="{code} is your {brand} {action} code.",
        subject="",
        updated_at=utcnow(),
        updated_by=None,
    )


if __name__ == "__main__":
    main()
