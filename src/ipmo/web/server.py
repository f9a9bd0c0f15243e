"""Running the web app: one process, or several worker processes sharing one listening socket.

Several workers use uvicorn's own supervisor, with two fixes:

* **TCP_NODELAY.** ``uvicorn --workers N`` binds the listening socket with ``proto`` 0, accepted
  sockets inherit it, and asyncio only sets TCP_NODELAY when ``proto`` is IPPROTO_TCP, so every
  keep-alive response waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; a single
  worker is not affected). The socket is rebuilt with the protocol set before workers get it.
* **Logging in every worker.** Workers are fresh processes: each calls
  :func:`ipmo.logs.configure_logging` in :func:`worker_app`, so NHS numbers are masked in every
  worker's access log too (tests/security/test_no_patient_data_in_logs.py).

SQLite allows this (WAL, one writer at a time, busy timeout); audit entries are written at commit
so the write lock is held briefly (``security/audit.py``, docs/decisions/0008). PostgreSQL is the
store for heavier multi-worker use.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from ipmo.logs import configure_logging


class _TcpNoDelayConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def worker_app() -> FastAPI:
    """The app factory each worker process calls (the store comes from the environment)."""
    # imported here, not at the top: a spawned worker unpickles its config class from this module
    # before it can answer uvicorn's health check, so this module must stay light to import
    from ipmo.cli_support import store_engine
    from ipmo.security.audit import checkpoint_noted
    from ipmo.web.app import create_app

    configure_logging()
    app = create_app(store_engine())
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            yield state
        # a signed audit checkpoint of what this worker committed (security/audit.py): uvicorn
        # ends workers with SIGTERM, which skips atexit
        checkpoint_noted()

    app.router.lifespan_context = lifespan
    return app


def run(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    configure_logging()
    if workers <= 1:
        uvicorn.run(worker_app(), host=host, port=port, log_config=None, log_level=log_level)
        return
    from uvicorn.supervisors import Multiprocess

    config = _TcpNoDelayConfig(
        "ipmo.web.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        log_level=log_level,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
