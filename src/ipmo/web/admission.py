"""Admit no more requests at once than the store's pool can serve (issue 20, ADR 0009).

A request holds its pooled connection from its first query until its unit of work commits, and
in between it needs request threads more than once (the authorising dependency, the handler, the
commit). Capping threads alone is not enough: requests holding connections can wait for a
thread while the threads are all taken by newer requests waiting for a connection — each side
waits for the other until the pool's 30-second timeout ends in a 500 ("QueuePool limit of size
10 overflow 20 reached"; found by bench/bench_load.py: p99 34 s and 500s at 100 users). So the
request itself is admitted first: at most half the pool's connections' worth of requests run at
once (half: a refusal's audit entry is written on a second, short-lived connection), and the
rest wait in the event loop, without a time limit and without holding anything."""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from ipmo.web.asgi import HttpMiddleware


def admitted_at_once(pool_capacity: int | None) -> int | None:
    """How many requests may run at once for a pool of this many connections (None: no bound)."""
    return None if not pool_capacity else max(1, pool_capacity // 2)


class AdmissionLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, capacity: int | None) -> None:
        super().__init__(app)
        self.capacity = capacity
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.capacity is None:
            await self.app(scope, receive, send)
            return
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.capacity)
        async with self._limiter:
            await self.app(scope, receive, send)
