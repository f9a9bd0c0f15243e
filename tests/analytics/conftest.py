"""Fixtures shared by the analytics tests."""

from __future__ import annotations

import pytest
from tests.analytics import epd_data


@pytest.fixture(scope="session")
def epd_folder(tmp_path_factory):
    """(analytics folder, practice → IMD decile): synthetic EPD months, two PCNs, deprivation and
    the measure cache, built once; copy it (``epd_data.copy_into``) before changing anything."""
    root = tmp_path_factory.mktemp("epd") / "analytics"
    return root, epd_data.build(root)
