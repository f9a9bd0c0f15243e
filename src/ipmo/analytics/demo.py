"""Demo hook: a few months of synthetic EPD-format prescribing for the dashboard.

The analytics zone is pseudonymised and national-shaped, so the demo uses the national EPD
generator (per-practice shape from the real samples) rather than the direct-care store's patients.
When the store holds a (synthetic) ICS, the EPD is generated for exactly its GP practices, under
their ODS codes and names, and the analytics practices table and deprivation come from the store:
the dashboard then shows the demo ICS's practices rolled up to its PCNs, places and ICB. Without
practices in the store (the small hand-made sample ICS) it falls back to made-up practices.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.reports.inequalities import populate_demo as populate_demo_deprivation
from ipmo.analytics.reports.inequalities import store_deprivation
from ipmo.synth import generate_national_epd

DEMO_MONTHS = ("2025_07", "2025_08", "2025_09", "2025_10", "2025_11", "2025_12")
DEMO_PRACTICES = 60  # made-up practices when the store has none


@dataclass(frozen=True)
class StorePractice:
    practice: str  # ODS code
    name: str
    pcn: str | None
    place: str | None
    icb: str | None
    region: str | None
    imd_decile: int | None


def store_practices(engine: Engine | None) -> list[StorePractice]:
    """The store's active GP practices with their PCN, place and ICB (walking ``parent_code``;
    region: the ICB's parent, if the store has one), by ODS code."""
    if engine is None:
        return []
    from ipmo.organisations import Organisation, OrgKind
    from ipmo.store import session_scope

    o = Organisation
    with session_scope(engine) as s:
        rows = s.execute(select(o.ods_code, o.kind, o.name, o.parent_code, o.imd_decile, o.active))
        orgs = {r.ods_code: r for r in rows}
    out = []
    for code, org in sorted(orgs.items()):
        if org.kind != OrgKind.PRACTICE or not org.active:
            continue
        above: dict[str, str] = {}
        parent, seen = org.parent_code, {code}
        while parent in orgs and parent not in seen:  # a cycle cannot loop forever
            seen.add(parent)
            kind = orgs[parent].kind
            above.setdefault("region" if "icb" in above else kind, parent)
            parent = orgs[parent].parent_code
        out.append(
            StorePractice(
                code,
                org.name,
                above.get(OrgKind.PCN),
                above.get(OrgKind.PLACE),
                above.get(OrgKind.ICB),
                above.get("region"),
                org.imd_decile,
            )
        )
    return out


def write_practices(practices: list[StorePractice], root: Path) -> None:
    """Replace the analytics practices table (datastore.PRACTICE_COLUMNS) with ``practices``."""
    table = pa.table(
        {c: [getattr(p, c) for p in practices] for c in datastore.PRACTICE_COLUMNS},
        schema=pa.schema([(c, pa.string()) for c in datastore.PRACTICE_COLUMNS]),
    )
    with datastore.staged() as writes:
        pq.write_table(table, writes.path_for(root / "practices.parquet"))


def _band(age: int) -> str:
    if age >= 95:
        return "95+"
    lo = age // 5 * 5
    return f"{lo}_{lo + 4}"


def write_store_list_sizes(engine: Engine | None, months: tuple[str, ...], folder: Path) -> int:
    """The store's registered patients as NHS Digital "Patients registered at a GP practice"
    files (quinary age band × sex, one per month: age on the 1st), ingested as the list sizes.

    Without them every measure whose denominator is the list size (per 1,000 patients, STAR-PU,
    the 31 "low priority" and per-1,000 measures) has no value: the demo showed 44 of 75 blank."""
    if engine is None:
        return 0
    from ipmo.patients import Patient
    from ipmo.store import session_scope

    with session_scope(engine) as s:
        people = s.execute(
            select(Patient.practice_code, Patient.sex, Patient.birth_date).where(
                Patient.practice_code.is_not(None), Patient.date_of_death.is_(None)
            )
        ).all()
    if not people:
        return 0
    from datetime import date

    from ipmo.analytics.ingest.list_sizes import COLUMNS, ingest_list_sizes

    written = 0
    for m in months:
        on = date(int(m[:4]), int(m[5:7]), 1)
        counts: dict[tuple, int] = {}
        for practice, sex, born in people:
            age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
            if age < 0:
                continue
            code = {"male": "MALE", "female": "FEMALE"}.get(str(sex).lower())
            for key in [
                (practice, "ALL", "ALL"),
                *([(practice, code, _band(age))] if code else []),
            ]:
                counts[key] = counts.get(key, 0) + 1
        path = folder / f"list_sizes_{m}.csv"
        lines = [",".join(COLUMNS)]
        extract = on.strftime("%d%b%Y").upper()
        for (practice, sex_code, band), n in sorted(counts.items()):
            lines.append(f"GP_PRAC_PAT_LIST,{extract},GP,{practice},,,{sex_code},{band},{n}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written = ingest_list_sizes(path)
    return written


def populate(engine: Engine | None, seed: int) -> str:
    practices = store_practices(engine)
    named = [(p.practice, p.name) for p in practices] or None
    with tempfile.TemporaryDirectory() as tmp:
        files = [
            generate_national_epd(
                Path(tmp), seed + i, practices=DEMO_PRACTICES, month=m, named=named
            ).path
            for i, m in enumerate(DEMO_MONTHS)
        ]
        report = ingest_epd(files)
        listed = write_store_list_sizes(
            engine, tuple(m.replace("_", "-") for m in DEMO_MONTHS), Path(tmp)
        )
    root = datastore.data_dir()
    deciles = {p.practice: p.imd_decile for p in practices if p.imd_decile is not None}
    if practices:
        write_practices(practices, root)  # the store's hierarchy, not the EPD's made-up one
    if deciles:
        store_deprivation(deciles, root)
    else:
        populate_demo_deprivation(seed, root)  # synthetic IMD deciles for the inequality view
    from ipmo.analytics.compute.service import cached_results

    cached_results(root)  # compute the measures now, so the first dashboard view is instant
    return f"{report}; list sizes: {listed} practice-months" if listed else str(report)
