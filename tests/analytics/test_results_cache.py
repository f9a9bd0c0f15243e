"""The measure results are read from their Parquet files once per change, not on every request
(issue 20: the dashboard re-read them each time)."""

from __future__ import annotations

import os

from tests.analytics import epd_data

from ipmo.analytics.compute.service import cached_results, results_paths


def test_results_are_read_once_and_again_after_the_files_change(epd_folder, tmp_path):
    root = tmp_path / "analytics"
    epd_data.copy_into(epd_folder[0], root)
    first = cached_results(root)
    assert first is not None
    assert cached_results(root) is first  # the same tables: not read again
    values_path, _ = results_paths(root)
    stat = values_path.stat()
    os.utime(values_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # rewritten
    again = cached_results(root)
    assert again is not first
    assert again.values.equals(first.values)
