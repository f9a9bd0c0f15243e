"""Reference data is loaded once per process even when many request threads ask at once."""

from __future__ import annotations

import threading
import time

from ipmo.caching import load_once


def test_concurrent_first_calls_load_once_and_share_the_result():
    loads = []

    @load_once
    def slow_table() -> dict[str, int]:
        loads.append(1)
        time.sleep(0.2)  # long enough for every thread below to arrive while it loads
        return {"a": 1}

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow_table())) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert len(results) == 16 and all(r is results[0] for r in results)


def test_cache_clear_loads_again():
    loads = []

    @load_once
    def table() -> list[int]:
        loads.append(1)
        return [len(loads)]

    assert table() == [1]
    table.cache_clear()
    assert table() == [2]
    assert table.__name__ == "table"


def test_the_app_loads_the_reference_data_before_it_serves(sample_ics, app_settings):
    from fastapi.testclient import TestClient

    from ipmo.records.terminology import default_dictionary
    from ipmo.web.app import create_app

    default_dictionary.cache_clear()
    with TestClient(create_app(sample_ics, app_settings)):
        assert default_dictionary.loaded  # loaded during start-up, before any request
