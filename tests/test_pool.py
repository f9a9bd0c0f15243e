"""The store's connection pool and the web app's request threads (issue 20): a request waits for
a thread, never for a pooled connection, so a busy server queues instead of failing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ipmo.store import StoreError, create_store_engine, pool_capacity


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
