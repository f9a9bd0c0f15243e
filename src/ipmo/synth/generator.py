"""``generate()``: build a synthetic ICS in memory (numpy) and bulk-load it into the store.

Deterministic: every random draw comes from ``numpy.random.SeedSequence(seed)`` spawned into one
stream per stage, and dates are counted back from ``as_of`` (default: today). The same seed and
``as_of`` give identical rows. See ``docs`` in each stage module for where its figures come from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from ipmo.organisations import Organisation
from ipmo.patients import Patient
from ipmo.synth import targets as T
from ipmo.synth.labs import KINDS, Labs, build_labs
from ipmo.synth.nhs_numbers import synthetic_nhs_numbers
from ipmo.synth.orgs import Orgs, build_orgs
from ipmo.synth.people import People, build_people
from ipmo.synth.prescribing import Prescribing, Products, build_prescribing, load_products
from ipmo.synth.realism import RealismRow, realism_rows
from ipmo.synth.sizes import DEMO_CODES, SIZES, DemoCodes, Size
from ipmo.synth.sources import build_admissions, build_sources
from ipmo.synth.writer import BulkWriter

# np.where(cond, value, None) as numpy's stubs accept it: an object-array None
_NONE = np.array(None, dtype=object)


class SynthError(ValueError):
    """A request the generator refuses; the message is one line, safe to show a user."""


@dataclass
class Report:
    size: str
    seed: int
    as_of: date
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[RealismRow] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    codes: DemoCodes = DEMO_CODES

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.rows)


def _iso(as_of: date, days_ago: np.ndarray) -> list[str]:
    """ISO dates for day offsets before ``as_of``, through a lookup table of the distinct offsets
    (a few thousand) — formatting 40 million numpy datetimes one by one takes minutes."""
    days = np.asarray(days_ago, dtype=np.int64)
    if not len(days):
        return []
    lo = int(days.min())
    span = np.arange(lo, int(days.max()) + 1)
    table = (np.datetime64(as_of, "D") - span.astype("timedelta64[D]")).astype(str).astype(object)
    return table[days - lo].tolist()


def _present(table: str, extras: dict[str, list | np.ndarray]) -> dict[str, list | np.ndarray]:
    """Only the optional columns the current schema has (records may add or drop them)."""
    from ipmo.store import load_all_models

    columns = load_all_models().metadata.tables[table].c
    return {name: values for name, values in extras.items() if name in columns}


@contextmanager
def _connection(target: Session | Engine | Connection) -> Iterator[Connection]:
    if isinstance(target, Session):
        yield target.connection()  # the caller's unit of work commits
    elif isinstance(target, Connection):
        yield target
    else:
        with target.begin() as conn:
            yield conn


def store_counts(conn: Connection) -> tuple[int, int]:
    orgs = conn.execute(select(func.count()).select_from(Organisation)).scalar_one()
    pats = conn.execute(select(func.count()).select_from(Patient)).scalar_one()
    return orgs, pats


def _clear(conn: Connection) -> None:
    """--replace: empty the ICS tables and every table that points at them (children first).

    Tables with no path to organisations or patients are kept: the dm+d dictionary, plans, and
    the append-only audit log (which the database refuses to delete from, by design).
    """
    from ipmo.store import load_all_models

    tables = load_all_models().metadata.sorted_tables
    doomed = {"organisations", "patients"}
    for table in tables:  # sorted: parents before children, so one pass finds the closure
        if any(fk.column.table.name in doomed for fk in table.foreign_keys):
            doomed.add(table.name)
    for table in reversed(tables):
        if table.name in doomed:
            conn.execute(table.delete())


@dataclass
class Simulated:
    """The in-memory ICS before loading (what the realism report is computed from)."""

    streams: list[np.random.Generator]
    orgs: Orgs
    people: People
    products: Products
    presc: Prescribing
    labs: Labs


def simulate(spec: Size, seed: int, advance=lambda: None) -> Simulated:
    """Organisations, people, prescribing and labs for ``spec`` — no store needed."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    orgs = build_orgs(spec, streams[0])
    people = build_people(spec.patients, orgs, streams[1])
    advance()
    products = load_products()
    presc = build_prescribing(people, products, streams[2])
    advance()
    labs = build_labs(people, presc, products, streams[3])
    advance()
    return Simulated(streams, orgs, people, products, presc, labs)


def generate(
    target: Session | Engine | Connection,
    size: str = "demo",
    seed: int = 1,
    progress: bool = True,
    *,
    as_of: date | None = None,
    replace: bool = False,
    console: Console | None = None,
) -> Report:
    """Generate the ICS of ``size`` into an empty store and return its realism report.

    Raises :class:`SynthError` for an unknown size or a store that already holds organisations or
    patients (unless ``replace``). Everything is written in one transaction.
    """
    if size not in SIZES:
        raise SynthError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SynthError(f"seed must be a whole number 0 or more, not {seed!r}")
    spec = SIZES[size]
    as_of = as_of or date.today()
    report = Report(size=size, seed=seed, as_of=as_of)
    console = console or Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed:>12,}"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
        transient=False,
    )

    started = time.perf_counter()
    with bar, _connection(target) as conn:
        n_orgs, n_pats = store_counts(conn)
        if (n_orgs or n_pats) and not replace:
            raise SynthError(
                f"the store already holds {n_orgs} organisations and {n_pats} patients; "
                "use --replace to overwrite them"
            )
        if replace:
            _clear(conn)

        t0 = time.perf_counter()
        task = bar.add_task("building population", total=4)
        built = simulate(spec, seed, advance=lambda: bar.advance(task))
        orgs, people, products, presc, labs = (
            built.orgs,
            built.people,
            built.products,
            built.presc,
            built.labs,
        )
        adm = build_admissions(people, spec.trusts, built.streams[4])
        sources = build_sources(people, presc, products, adm, orgs, built.streams[5])
        nhs = synthetic_nhs_numbers(spec.patients, built.streams[6])
        report.rows = realism_rows(people, presc, products, labs)
        bar.advance(task)
        report.seconds["build"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        writer = BulkWriter(conn)
        big = [
            "patients",
            "conditions",
            "observations",
            "medication_issues",
            "admissions",
            "source_lists",
            "source_items",
        ]
        ddl = writer.drop_indexes(big) if spec.patients > 20_000 else []
        _write(writer, bar, as_of, orgs, people, presc, products, labs, adm, sources, nhs, report)
        task = bar.add_task("indexing", total=len(ddl) or 1)
        writer.create_indexes(ddl)
        bar.update(task, completed=len(ddl) or 1)
        writer.fix_sequences(list(report.counts))
        writer.restore()
        report.seconds["load"] = time.perf_counter() - t1
    report.seconds["total (with commit)"] = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _Days:
    """A date column, as day offsets before ``as_of`` (formatted chunk by chunk)."""

    days: np.ndarray


CHUNK = 500_000  # rows turned into Python objects at a time (bounds memory at ICS size)


def _write(writer, bar, as_of, orgs, people, presc, products, labs, adm, sources, nhs, report):
    def part(src, a: int, b: int) -> list:
        if isinstance(src, _Days):
            return _iso(as_of, src.days[a:b])
        if isinstance(src, np.ndarray):
            return src[a:b].tolist()
        if isinstance(src, list | range):
            return list(src[a:b])
        return [src] * (b - a)  # a constant (None or a string)

    def load(table: str, n: int, columns: dict) -> None:
        columns = {"id": range(1, n + 1), **columns}
        task = bar.add_task(f"writing {table}", total=n)
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            rows = zip(*(part(src, a, b) for src in columns.values()), strict=True)
            writer.insert(table, list(columns), rows, lambda k: bar.advance(task, k))
        report.counts[table] = n

    org_cols = list(orgs.rows[0])
    load("organisations", len(orgs.rows), {c: [r[c] for r in orgs.rows] for c in org_cols})

    pharm = np.array([None, *orgs.pharmacy_codes], dtype=object)[people.pharmacy + 1]
    home = np.array([None, *orgs.care_home_codes], dtype=object)[people.care_home + 1]
    practice_codes = np.array(orgs.practice_codes, dtype=object)
    load(
        "patients",
        people.n,
        {
            "nhs_number": nhs,
            "given_name": people.given,
            "family_name": people.family,
            "birth_date": _Days(people.birth_days_ago),
            "sex": np.where(people.female, "female", "male"),
            "postcode": people.postcode,
            "practice_code": practice_codes[people.practice],
            "nominated_pharmacy_code": pharm,
            "care_home_code": home,
            "imd_decile": people.imd,
            "weight_kg": people.weight_kg,
            "date_of_death": None,
        },
    )

    # Conditions (plus bipolar and CKD stage codes)
    pts, codes_, terms, onset = [], [], [], []
    for i, c in enumerate(T.CONDITIONS):
        who = np.flatnonzero(people.has[:, i])
        code = np.full(len(who), c.snomed, dtype=object)
        term = np.full(len(who), c.term, dtype=object)
        if c.key == "smi":
            bip = people.bipolar[who]
            code[bip], term[bip] = T.BIPOLAR_SNOMED, T.BIPOLAR_TERM
        if c.key == "ckd":
            stage = people.ckd_stage[who]
            code[stage == 4], term[stage == 4] = "431857002", "Chronic kidney disease stage 4"
            code[stage == 5], term[stage == 5] = "433146000", "Chronic kidney disease stage 5"
        pts.append(who)
        codes_.append(code)
        terms.append(term)
        onset.append(people.onset_days_ago[who, i])
    c_pt = np.concatenate(pts)
    load(
        "conditions",
        len(c_pt),
        {
            "patient_id": c_pt + 1,
            "snomed_code": np.concatenate(codes_),
            "term": np.concatenate(terms),
            "onset_date": _Days(np.concatenate(onset)),
            "resolved_date": None,
        },
    )

    which = np.concatenate([np.full(len(p), i) for i, p in enumerate(labs.pt)])
    value = np.concatenate(labs.value).astype(object)
    value[np.isnan(np.concatenate(labs.value))] = None
    comparator = np.concatenate(
        [
            c if c is not None else np.full(len(p), None, dtype=object)
            for p, c in zip(labs.pt, labs.comparator, strict=True)
        ]
    )
    load(
        "observations",
        len(which),
        {
            "patient_id": np.concatenate(labs.pt) + 1,
            "snomed_code": np.array([KINDS[k][0] for k in labs.kind], dtype=object)[which],
            "kind": np.array(labs.kind, dtype=object)[which],
            "value": value,
            "unit": np.array([KINDS[k][1] for k in labs.kind], dtype=object)[which],
            "comparator": comparator,
            "effective_date": _Days(np.concatenate(labs.ago)),
        },
    )

    pr = presc.i_prod
    vtm = np.where(products.vtm == "", None, products.vtm)
    bnf = np.where(products.bnf == "", None, products.bnf)
    load(
        "medication_issues",
        len(pr),
        {
            "patient_id": presc.i_pt + 1,
            "dmd_code": products.vmp[pr],
            "name": products.name[pr],
            "vmp_code": products.vmp[pr],
            "vtm_code": vtm[pr],
            "bnf_code": bnf[pr],
            "issue_date": _Days(presc.i_ago),
            "issue_type": np.where(presc.i_acute, "acute", "repeat").astype(object),
            "quantity": products.quantity[pr],
            "dose_text": products.dose[pr],
            "practice_code": practice_codes[people.practice[presc.i_pt]],
        },
    )

    trust_codes = np.array(orgs.trust_codes, dtype=object)
    discharged = np.where(adm.discharged_ago >= 0, adm.discharged_ago, 0)
    discharged_iso = np.array(_iso(as_of, discharged), dtype=object)
    discharged_iso[adm.discharged_ago < 0] = None  # still in hospital
    load(
        "admissions",
        len(adm.pt),
        {
            "patient_id": adm.pt + 1,
            "trust_code": trust_codes[adm.trust],
            "admitted_on": _Days(adm.admitted_ago),
            "discharged_on": discharged_iso,
            "reason": adm.reason.astype(object),
            "is_fall": adm.is_fall,
        },
    )

    lists, items = sources.lists, sources.items
    m = len(lists["pt"])
    fhir = {"gp": "STU3", "pharmacy": "R4", "hospital": "R4"}  # GP Connect is STU3
    load(
        "source_lists",
        m,
        {
            "patient_id": lists["pt"] + 1,
            "source_kind": lists["kind"],
            "source_org_code": lists["org"],
            "source_system": lists["system"],
            "resource_id": [f"synth-list-{i}" for i in range(1, m + 1)],
            "resource_version": "1",
            "content_hash": lists["hash"],
            "as_of": as_of.isoformat(),
            "received_at": f"{as_of.isoformat()} 08:00:00",
            **_present("source_lists", {"fhir_version": [fhir[k] for k in lists["kind"].tolist()]}),
        },
    )
    m = len(items["list"])
    end = np.array(_iso(as_of, np.maximum(items["last_ago"] - 28, 0)), dtype=object)
    end[~items["stopped"]] = None
    resource = {
        "gp": "MedicationStatement",
        "pharmacy": "MedicationDispense",
        "hospital": "MedicationStatement",
    }
    load(
        "source_items",
        m,
        {
            "source_list_id": items["list"] + 1,
            "dmd_code": items["dmd_code"],
            "code_system": "https://dmd.nhs.uk",
            "name": items["name"],
            "vmp_code": items["vmp_code"],
            "vtm_code": items["vtm_code"],
            "mapping": items["mapping"],
            "dose_text": items["dose_text"],
            "dosage": items["dosage"],
            "route": items["route"],
            "form": items["form"],
            "status": items["status"],
            "category": items["category"],
            "authored_on": _Days(items["authored_ago"]),
            "last_issued": _Days(items["last_ago"]),
            "end_date": end,
            "prescriber_type": np.where(items["category"] == "inpatient", "hospital", "gp"),
            "resource_id": [f"synth-item-{i}" for i in range(1, m + 1)],
            "resource_version": "1",
            **_present(
                "source_items",
                {
                    "resource_type": [resource[k] for k in lists["kind"][items["list"]].tolist()],
                    "status_reason": np.where(items["stopped"], "Stopped by GP", _NONE),
                },
            ),
        },
    )
