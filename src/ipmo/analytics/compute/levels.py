"""Organisation levels and deciles shared by the engine, CLI and pages (no heavy imports, so the
CLI starts fast)."""

from __future__ import annotations

DECILES = tuple(range(10, 100, 10))
# org_type → column of the practices table holding that level's code (None: whole country)
LEVELS: dict[str, str | None] = {
    "practice": "practice",
    "pcn": "pcn",
    "place": "place",
    "icb": "icb",
    "region": "region",
    "national": None,
}
NATIONAL_CODE = "ENG"
