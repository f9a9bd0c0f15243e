"""The store's connection pool and the web app's request threads (issue 20): a request waits for
a thread, never for a pooled connection, so a busy server queues instead of failing."""

from __future__ import annotations

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import text

from ipmo.security import Activity
from ipmo.store import StoreError, create_store_engine, pool_capacity
from ipmo.web.deps import DbSession, require


def test_the_pool_size_comes_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IPMO_DB_POOL_SIZE", "4")
    monkeypatch.setenv("IPMO_DB_MAX_OVERFLOW", "2")
    engine = create_store_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert pool_capacity(engine) == 6
    engine.dispose()


def test_defaults_are_ten_plus_twenty(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("IPMO_DB_POOL_SIZE", raising=False)
    monkeypatch.delenv("IPMO_DB_MAX_OVERFLOW", raising=False)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert pool_capacity(engine) == 30
    engine.dispose()


def test_a_negative_pool_size_is_refused_with_a_readable_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DB_POOL_SIZE", "-1")
    with pytest.raises(StoreError, match="IPMO_DB_POOL_SIZE"):
        create_store_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")


def test_the_app_runs_no_more_request_threads_than_the_pool_has_connections(
    tmp_path, app_settings, monkeypatch: pytest.MonkeyPatch
):
    import anyio

    from ipmo.store import init_store
    from ipmo.web.app import create_app

    monkeypatch.setenv("IPMO_DB_POOL_SIZE", "3")
    monkeypatch.setenv("IPMO_DB_MAX_OVERFLOW", "2")
    engine = create_store_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    init_store(engine)
    app = create_app(engine, app_settings)
    seen = []

    @app.get("/_threads")
    def threads() -> dict:
        return {}

    @app.middleware("http")
    async def note(request, call_next):
        seen.append(anyio.to_thread.current_default_thread_limiter().total_tokens)
        return await call_next(request)

    with TestClient(app) as client:
        assert client.get("/_threads").status_code == 200
    assert seen == [5]
    engine.dispose()


def test_an_in_memory_store_has_no_pool_to_size():
    for url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_store_engine(url)
        assert pool_capacity(engine) is None
        engine.dispose()


def _crowd(tmp_path, app_settings, monkeypatch, *, admission: bool) -> list[int]:
    """24 store-holding requests at once against a pool of 2 connections and 2 threads; a
    wait on the pool fails after 1 s (a 500) instead of 30."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import anyio
    import httpx
    from tests.conftest import seed_sample

    from ipmo.security.users import DEMO_PASSWORD
    from ipmo.store import init_store
    from ipmo.web import admission as admission_module
    from ipmo.web.app import create_app

    monkeypatch.setenv("IPMO_DB_POOL_SIZE", "1")
    monkeypatch.setenv("IPMO_DB_MAX_OVERFLOW", "1")
    if not admission:  # what the app did before: threads capped, requests not
        monkeypatch.setattr(admission_module, "admitted_at_once", lambda capacity: None)
    engine = create_store_engine(f"sqlite:///{tmp_path / 'crowd.sqlite3'}")
    init_store(engine)
    seed_sample(engine)
    engine.pool._timeout = 1  # type: ignore[attr-defined]
    app = create_app(engine, app_settings)

    # the shape of every API route: an authorising dependency that reads the store (the
    # connection is held from then on), then a sync handler on the same unit of work
    @app.get("/_crowd")
    def crowd_route(session: DbSession, _p=Depends(require(Activity.RECORD_VIEW))) -> dict:
        return {"one": session.scalar(text("select 1"))}

    async def crowd() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2  # as the lifespan sets
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = (
                await c.post(
                    "/api/auth/token",
                    data={"username": "pcn.pharmacist", "password": DEMO_PASSWORD},
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            answers = await asyncio.gather(*(c.get("/_crowd", headers=auth) for _ in range(24)))
        return [r.status_code for r in answers]

    try:
        # a loop of its own, in a thread of its own: another test in this worker may have left
        # one running in the main thread (Playwright's sync API does)
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, crowd()).result()
    finally:
        engine.dispose()


def test_a_crowd_of_requests_waits_to_be_admitted_never_on_the_pool(
    tmp_path, app_settings, monkeypatch: pytest.MonkeyPatch
):
    """Found by bench/bench_load.py (p99 34 s, 500s "QueuePool limit … reached" at 100 users):
    requests holding connections waited for threads that newer requests, waiting for
    connections, held. Admitted at most half the pool's worth at once, every request answers."""
    assert _crowd(tmp_path, app_settings, monkeypatch, admission=True) == [200] * 24


def test_without_the_admission_limit_the_same_crowd_times_out_on_the_pool(
    tmp_path, app_settings, monkeypatch: pytest.MonkeyPatch
):
    """The control: the crowd above is one that deadlocks a thread cap alone (so the test
    above proves the admission limit, not a lucky schedule)."""
    codes = _crowd(tmp_path, app_settings, monkeypatch, admission=False)
    assert 500 in codes, codes


def test_half_the_pool_is_admitted_at_once():
    from ipmo.web.admission import admitted_at_once

    assert admitted_at_once(30) == 15 and admitted_at_once(1) == 1
    assert admitted_at_once(None) is None
