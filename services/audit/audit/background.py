"""The consumer as a thread of the embedded dev process (elsewhere it is its own process)."""

from __future__ import annotations

import threading
import weakref

from audit.consumer import AuditConsumer
from audit.stream import consumer_name
from shared.runtime import Runtime


class EmbeddedConsumer:
    def __init__(self, runtime: Runtime) -> None:
        self._consumer = AuditConsumer(runtime, name=f"{consumer_name()}-embedded")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._consumer.run, args=(self._stop,), name="audit-consumer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


_started: weakref.WeakKeyDictionary[Runtime, EmbeddedConsumer] = weakref.WeakKeyDictionary()


def start_embedded_consumer(runtime: Runtime) -> None:
    """Run the consumer with the runtime's background workers; once per runtime."""
    if runtime in _started:
        return
    consumer = EmbeddedConsumer(runtime)
    _started[runtime] = consumer
    runtime.add_background(consumer.start, consumer.stop)
