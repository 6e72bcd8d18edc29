"""Running a coroutine from a test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_new_loop(main: Callable[[], Awaitable[T]]) -> T:
    """`asyncio.run(main())` on a thread of its own: the browser tests' Playwright
    keeps an event loop running on the main thread for the whole session."""

    async def run() -> T:
        return await main()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, run()).result()
