"""``/metrics``: what an ICS's monitoring scrapes, in the Prometheus text format (issue 20).

* ``ipmo_http_requests_total{method, route, status}`` and
  ``ipmo_http_request_duration_seconds{method, route}`` — every request, labelled with the route
  *template* (``/api/patients/{nhs_number}``), never the path, so no NHS number becomes a label and
  the number of series stays bounded; requests no route matched share the label ``unmatched``.
* Queue readings offered by the domains (hook ``OPERATIONS_GAUGES``: a function
  ``(session, now) -> {name: (help, value)}``), read from the store at scrape time, e.g. the
  referral outbox's undelivered notices and how far the overdue sweep is behind.

With ``ipmo serve --workers N`` each worker counts its own requests; prometheus-client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by :mod:`ipmo.web.server` to a fresh folder
under the data folder) adds them up at scrape time, whichever worker answers.

The endpoint carries no patient data. Set ``IPMO_METRICS_TOKEN`` to require
``Authorization: Bearer <token>`` from the scraper (otherwise keep it off the public network, as
for ``/health``).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ipmo.hooks import offered
from ipmo.store import utcnow
from ipmo.web.asgi import HttpMiddleware

log = logging.getLogger(__name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# request durations in seconds: the targets are p99 ≤ 200 ms, so resolution below that
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Requests:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.count = Counter(
            "ipmo_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "ipmo_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )


class RequestMetrics(HttpMiddleware):
    """Count and time every HTTP request."""

    def __init__(self, app: ASGIApp, requests: _Requests) -> None:
        super().__init__(app)
        self.requests = requests

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # if the app raises before it answers

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.requests.count.labels(method, route, str(status)).inc()
            self.requests.seconds.labels(method, route).observe(time.perf_counter() - started)


class _StoreGauges(Collector):
    """The domains' queue readings, read from the store when scraped."""

    def __init__(self, engine: Engine, clock=utcnow) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now: datetime = self.clock()
        readings: dict[str, tuple[str, float]] = {}
        try:
            with Session(self.engine) as session:
                for gauges in offered("OPERATIONS_GAUGES"):
                    readings.update(gauges(session, now))
        except Exception:  # noqa: BLE001 - a scrape must answer; the gap shows as 'up' below
            log.exception("reading the queue gauges from the store failed")
            yield GaugeMetricFamily("ipmo_store_up", "1 if the store answered the scrape", 0)
            return
        yield GaugeMetricFamily("ipmo_store_up", "1 if the store answered the scrape", 1)
        for name, (help_text, value) in sorted(readings.items()):
            yield GaugeMetricFamily(name, help_text, value)


def install(app: FastAPI) -> None:
    """Add the request counters (outermost middleware) and the ``/metrics`` route."""
    own = CollectorRegistry(auto_describe=True)
    requests = _Requests(own)
    app.add_middleware(RequestMetrics, requests=requests)
    gauges = _StoreGauges(app.state.engine, lambda: app.state.clock())
    token = os.environ.get("IPMO_METRICS_TOKEN")

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if token and not hmac.compare_digest(
            request.headers.get("authorization", ""), f"Bearer {token}"
        ):
            return JSONResponse({"detail": "a metrics token is required"}, status_code=401)
        scrape = CollectorRegistry()
        if os.environ.get(MULTIPROCESS_ENV):
            multiprocess.MultiProcessCollector(scrape)  # every worker's counters, added up
        else:
            scrape.register(_Own(own))
        scrape.register(gauges)
        return Response(generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)


class _Own(Collector):
    """This process's request metrics, for a single-process server."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
