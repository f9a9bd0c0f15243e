"""``ipmo demo`` prepares the store once — and again when the store is not the one it prepared."""

from __future__ import annotations

import json

from ipmo.demo.setup import already_prepared

SQLITE = "sqlite:////data/ipmo.sqlite3"
POSTGRES = "postgresql+psycopg://ipmo:***@db/ipmo"


def _marker(tmp_path, **info):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"size": "demo", "seed": 1, **info}))
    return path


def test_the_marker_is_used_for_the_store_it_was_written_for(tmp_path):
    marker = _marker(tmp_path, store=SQLITE)
    assert already_prepared(marker, SQLITE, has_orgs=True)["seed"] == 1


def test_another_store_beside_the_same_folder_is_prepared_again(tmp_path):
    marker = _marker(tmp_path, store=SQLITE)
    assert already_prepared(marker, POSTGRES, has_orgs=True) is None


def test_an_emptied_store_is_prepared_again(tmp_path):
    marker = _marker(tmp_path, store=SQLITE)
    assert already_prepared(marker, SQLITE, has_orgs=False) is None


def test_no_marker_means_not_prepared(tmp_path):
    assert already_prepared(tmp_path / "demo.json", SQLITE, has_orgs=True) is None


def test_an_older_marker_without_a_store_is_trusted_while_the_store_has_data(tmp_path):
    marker = _marker(tmp_path)
    assert already_prepared(marker, SQLITE, has_orgs=True) is not None
