"""The starter dictionary: an in-memory :class:`Dictionary` and a bulk loader into the store.

The shipped artifact (``data/starter_dictionary.csv.gz``, built by ``build.py``) has one row per
concept, previous-id mapping (``MAP``) and BNF presentation (``BNF``). :class:`Dictionary` answers
the same questions as the store-backed ``service`` functions without a database, for batch work
(reconciliation, case finding) where a query per item would dominate.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.terminology.concept import Concept
from ipmo.terminology.models import (
    BnfPresentation,
    DmdAmp,
    DmdAmpp,
    DmdCodeMap,
    DmdVmp,
    DmdVmpp,
    DmdVtm,
)
from ipmo.terminology.names import NameIndex, NameMatch

DATA_DIR = Path(__file__).with_name("data")
ARTIFACT = DATA_DIR / "starter_dictionary.csv.gz"
_MAX_HOPS = 10  # an id re-coded more than this many times is treated as a loop


class DictionaryMissing(FileNotFoundError):
    """The dm+d dictionary file is not there. A broken install: callers must fail, never fall
    back to matching medicines by name alone (that would reconcile differently, silently)."""


def read_artifact(path: Path | None = None) -> list[dict[str, str]]:
    """The rows of the dictionary file (default: the shipped starter dictionary)."""
    path = ARTIFACT if path is None else path
    if not path.is_file():
        raise DictionaryMissing(
            f"the dm+d dictionary {path} is missing; reinstall ipmo, or rebuild it with "
            "`uv run python scripts/build_terminology.py`"
        )
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _f(v: str) -> float | None:
    return float(v) if v else None


class Dictionary:
    """Pure, in-memory dm+d lookups over the shipped starter dictionary (or any rows)."""

    def __init__(self, rows: Iterable[dict[str, str]]) -> None:
        self.rows: dict[str, dict[str, str]] = {}
        self.code_map: dict[str, str] = {}
        self.bnf: dict[str, str] = {}
        self._by_bnf: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            kind = r["kind"]
            if kind == "MAP":
                self.code_map[r["id"]] = r["new_id"]
            elif kind == "BNF":
                self.bnf[r["id"]] = r["name"]
            else:
                self.rows[r["id"]] = r
                if r["bnf_code"]:
                    self._by_bnf[r["bnf_code"]].append(r["id"])

    @classmethod
    def load(cls, path: Path | None = None) -> Dictionary:
        """The dictionary at ``path`` (default: the shipped starter dictionary);
        :class:`DictionaryMissing` when the file is not there."""
        return cls(read_artifact(path))

    def _concept(self, r: dict[str, str]) -> Concept:
        kind = r["kind"]
        vmp_id = r["id"] if kind == "VMP" else (r["vmp_id"] or None)
        vtm_id = r["id"] if kind == "VTM" else (r["vtm_id"] or None)
        if kind == "AMPP" and not vmp_id and (amp := self.rows.get(r["vmp_id"] or "")):
            vmp_id = amp["vmp_id"] or None
        vmp = self.rows.get(vmp_id or "") if vmp_id and kind != "VMP" else None
        if vmp is not None and not vtm_id:
            vtm_id = vmp["vtm_id"] or None
        return Concept(
            id=r["id"],
            level=kind if kind != "DMD" else "unknown",
            name=r["name"],
            vmp_id=vmp_id,
            vtm_id=vtm_id,
            bnf_code=r["bnf_code"] or None,
            form=r["form"] or (vmp["form"] if vmp else "") or None,
            route=r["route"] or (vmp["route"] if vmp else "") or None,
            supplier=r["supplier"] or None,
            invalid=r["invalid"] == "1",
        )

    def lookup(self, code: str) -> Concept | None:
        """Any VTM/VMP/AMP/VMPP/AMPP id, following previous ids to their current concept."""
        code = code.strip()
        seen = code
        for _ in range(_MAX_HOPS):
            if (r := self.rows.get(code)) is not None:
                c = self._concept(r)
                return c if code == seen else c.with_replaced(seen)
            if code not in self.code_map:
                return None
            code = self.code_map[code]
        return None

    def resolve_to_vmp_vtm(self, code: str) -> tuple[str | None, str | None]:
        c = self.lookup(code)
        return (c.vmp_id, c.vtm_id) if c else (None, None)

    def by_bnf(self, bnf_code: str) -> list[Concept]:
        return [self._concept(self.rows[i]) for i in self._by_bnf.get(bnf_code.upper(), [])]

    @cached_property
    def _search_keys(self) -> list[tuple[str, str]]:
        return [(r["name"].lower(), i) for i, r in self.rows.items() if r["name"]]

    def search(self, text: str, limit: int = 20) -> list[Concept]:
        """Concepts whose name holds every word of ``text`` (VTMs, then VMPs, then AMPs; shorter
        names first). A digits-only ``text`` is looked up as an id."""
        text = text.strip()
        if text.isdigit():
            c = self.lookup(text)
            return [c] if c else []
        words = [w for w in re.split(r"\s+", text.lower()) if w]
        if not words:
            return []
        hits = [i for name, i in self._search_keys if all(w in name for w in words)]
        order = {"VTM": 0, "VMP": 1, "AMP": 2, "VMPP": 3, "AMPP": 4}
        hits.sort(key=lambda i: (order.get(self.rows[i]["kind"], 9), len(self.rows[i]["name"]), i))
        return [self._concept(self.rows[i]) for i in hits[:limit]]

    @cached_property
    def name_index(self) -> NameIndex:
        return NameIndex((i, r["name"]) for i, r in self.rows.items() if r["kind"] == "VMP")

    def match_by_name(self, name: str) -> list[NameMatch]:
        """Candidate VMPs for a product name (see :mod:`ipmo.terminology.names`)."""
        return self.name_index.match(name)


_TABLES: dict[str, type[DmdVtm | DmdVmp | DmdAmp | DmdVmpp | DmdAmpp]] = {
    "VTM": DmdVtm,
    "VMP": DmdVmp,
    "AMP": DmdAmp,
    "VMPP": DmdVmpp,
    "AMPP": DmdAmpp,
}
_FIELDS = {
    "VTM": ("name", "invalid"),
    "VMP": ("vtm_id", "name", "form", "route", "strength_num_value", "strength_num_unit",
            "strength_den_value", "strength_den_unit", "bnf_code", "invalid"),
    "AMP": ("vmp_id", "name", "supplier", "bnf_code", "invalid"),
    "VMPP": ("vmp_id", "name", "bnf_code", "invalid"),
    "AMPP": ("name", "bnf_code", "invalid"),
}  # fmt: skip
_FLOATS = {"strength_num_value", "strength_den_value"}
_CHUNK = 5000


def _db_row(kind: str, r: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {"id": r["id"], "source": f"starter:{r['sources']}"[:500]}
    for f in _FIELDS[kind]:
        v = r[f]
        out[f] = v == "1" if f == "invalid" else (_f(v) if f in _FLOATS else (v or None))
    out["name"] = r["name"]  # may be "" (a codelist gave the id and BNF code but no name)
    if kind == "AMP":
        out["description"] = None
    return out


def load_starter_dictionary(session: Session, path: Path = ARTIFACT) -> dict[str, int]:
    """Bulk-insert the starter dictionary into the store, in the caller's transaction.

    Rows whose id is already stored are left alone (an imported official release is newer and
    richer), so the call is idempotent. Returns how many rows of each kind were inserted.
    """
    rows = read_artifact(path)
    inserted: dict[str, int] = {}
    by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    for kind, model in _TABLES.items():
        have = set(session.scalars(select(model.id)))
        new = [_db_row(kind, r) for r in by_kind[kind] if r["id"] not in have]
        for i in range(0, len(new), _CHUNK):
            session.execute(model.__table__.insert(), new[i : i + _CHUNK])
        inserted[kind] = len(new)
    have = set(session.scalars(select(DmdCodeMap.old_id)))
    maps = [
        {"old_id": r["id"], "new_id": r["new_id"], "level": r["name"] or "VMP",
         "source": f"starter:{r['sources']}"[:500]}
        for r in by_kind["MAP"] if r["id"] not in have
    ]  # fmt: skip
    if maps:
        session.execute(DmdCodeMap.__table__.insert(), maps)
    inserted["previous ids"] = len(maps)
    have = set(session.scalars(select(BnfPresentation.code)))
    pres = [
        {"code": r["id"], "name": r["name"] or r["id"], "source": f"starter:{r['sources']}"[:500]}
        for r in by_kind["BNF"] if r["id"] not in have
    ]  # fmt: skip
    for i in range(0, len(pres), _CHUNK):
        session.execute(BnfPresentation.__table__.insert(), pres[i : i + _CHUNK])
    inserted["BNF presentations"] = len(pres)
    session.flush()
    return inserted
