"""Running the web app: one process, or several worker processes sharing one listening socket.

Several workers use uvicorn's own supervisor, with two fixes:

* **TCP_NODELAY.** ``uvicorn --workers N`` binds the listening socket with ``proto`` 0, accepted
  sockets inherit it, and asyncio only sets TCP_NODELAY when ``proto`` is IPPROTO_TCP, so every
  keep-alive response waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; a single
  worker is not affected). The socket is rebuilt with the protocol set before workers get it.
* **Workers that start on a busy machine.** uvicorn's supervisor pings each worker every half
  second and kills one that does not answer within ``timeout_worker_healthcheck`` (5 s by
  default). A worker starved of CPU (load average ~18 in issue 20's load run) or still importing
  the app missed that deadline, was killed and replaced by another that missed it too: ``ipmo serve
  --workers 2`` restarted its workers for over a minute and never served. The deadline here is
  ``IPMO_WORKER_TIMEOUT`` seconds (default 120) without an answer, checked with short pings so
  one slow worker does not hold up the others; a worker that has *exited* is replaced at once.
  Acknowledged writes are committed before their response, so a worker that dies loses none.
* **Logging in every worker.** Workers are fresh processes: each calls
  :func:`ipmo.logs.configure_logging` in :func:`worker_app`, so NHS numbers are masked in every
  worker's access log too (tests/security/test_no_patient_data_in_logs.py).

SQLite allows this (WAL, one writer at a time, busy timeout); audit entries are written at commit
so the write lock is held briefly (``security/audit.py``, docs/decisions/0008). PostgreSQL is the
store for heavier multi-worker use.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from ipmo.logs import configure_logging

log = logging.getLogger(__name__)


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


WORKER_TIMEOUT_SECONDS = 120


def worker_timeout() -> int:
    """Seconds a worker may go without answering the supervisor's ping before it is replaced."""
    value = os.environ.get("IPMO_WORKER_TIMEOUT")
    if value is None:
        return WORKER_TIMEOUT_SECONDS
    seconds = int(value)
    if seconds < 1:
        raise ValueError("IPMO_WORKER_TIMEOUT must be a whole number of seconds, at least 1")
    return seconds


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, patient with slow workers and quick with dead ones.

    uvicorn pings each worker with the full timeout, one after another, so one slow worker holds
    up the check of the others. Here each ping waits at most a second; a worker is replaced when
    its process has exited (at once) or when it has not answered for ``timeout`` seconds.
    """

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], timeout: int) -> None:
        super().__init__(config, sockets)
        self.timeout = timeout
        self._answered: dict[int, float] = {}

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        now = time.monotonic()
        for idx, process in enumerate(self.processes):
            last = self._answered.setdefault(id(process), now)
            if process.process.is_alive():
                if process.ping(timeout=min(1.0, self.timeout)):
                    self._answered[id(process)] = time.monotonic()
                    continue
                if now - last < self.timeout:
                    continue  # busy or still starting: give it time
                log.warning(
                    "worker [%s] did not answer for %d s; replacing it", process.pid, self.timeout
                )
            process.kill()
            process.join()
            self._answered.pop(id(process), None)
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            log.warning(
                "worker [%s] exited (code %s); starting another", process.pid, process.exitcode
            )
            replacement = Process(self.config, self.sockets)
            replacement.start()
            self.processes[idx] = replacement


def _share_metrics_between_workers() -> Path | None:
    """Give the workers one fresh folder for prometheus-client's multiprocess mode (``/metrics``
    adds up every worker's counters, whichever worker is scraped); set before they start."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None  # the operator's own folder
    from ipmo.config import resolve_data_dir

    folder = resolve_data_dir() / "metrics" / str(os.getpid())
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def run(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    configure_logging()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # ipmo.logs has configured logging (NHS numbers redacted)
        "log_level": log_level,
    }
    if workers <= 1:
        uvicorn.run(worker_app(), **options)
        return
    metrics_folder = _share_metrics_between_workers()
    app = "ipmo.web.server:worker_app"
    config = _TcpNoDelayConfig(app, factory=True, workers=workers, **options)
    try:
        _Supervisor(config, [config.bind_socket()], worker_timeout()).run()
    finally:
        if metrics_folder is not None:
            shutil.rmtree(metrics_folder, ignore_errors=True)
