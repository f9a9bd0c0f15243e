"""Build the shipped starter dictionary from the public data under ../shared (a development-time
step: the product only reads what this writes, ``src/ipmo/terminology/data``).

    uv run python scripts/build_terminology.py [--shared PATH] [--out DIR]

runs :func:`build_dictionary`. Inputs (all public, see
``data/SOURCE.md``):

1. ``terminology/public_codelists`` — 561 OpenSAFELY codelists (dm+d ids with names, types and
   BNF codes; 8 BNF-code lists). Ids are read as text and checked (``verhoeff.py``).
2. ``clinical/{pincer,smr,high_risk_monitoring}`` — the dm+d codelists among them.
3. ``peers/openprescribing/fixtures/epd_format`` — BNF presentations with their names from real
   English Prescribing Dataset samples.
4. ``peers/openprescribing/dmd_fixtures/release_1`` — a cut-down official dm+d release whose VTM
   list is complete: it names the substances VMPs are mapped to.

Float-damaged ids (../shared/terminology/README.md, "Data quality") are handled per id:

* ``clean``: passes Verhoeff and was seen in at least one file without damage, or is at most
  2**53 (a float64 holds it exactly);
* suspect (quarantined): passes Verhoeff but above 2**53 and seen only in damaged files — about
  1 in 8 damaged ids pass the check by chance, so these cannot be trusted;
* ``repaired``: failed Verhoeff and the repair rule finds exactly one candidate (kept, marked
  inferred; the damaged text stays in the quarantine report);
* quarantined (not shipped as concepts): no or several candidates.

The output is deterministic (sorted rows, gzip without timestamp) so a rebuild from the same
inputs gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ipmo.terminology import bnf
from ipmo.terminology.codelists import CodelistError, CodelistRow, read_codelist
from ipmo.terminology.dmd_xml import parse_release
from ipmo.terminology.names import NameIndex, normalise_name, parse_product_name, substance_key
from ipmo.terminology.verhoeff import (
    FLOAT_EXACT_LIMIT,
    is_uk_extension,
    is_valid_sctid,
    repair_candidates,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "src" / "ipmo" / "terminology" / "data"
ARTIFACT = "starter_dictionary.csv.gz"
SOURCES = "starter_dictionary_sources.csv"
QUARANTINE = "starter_dictionary_quarantine.csv.gz"

COLUMNS = [
    "kind", "id", "name", "vmp_id", "vtm_id", "bnf_code", "form", "route",
    "strength_num_value", "strength_num_unit", "strength_den_value", "strength_den_unit",
    "supplier", "invalid", "new_id", "status", "mapped_by", "sources",
]  # fmt: skip
KIND_ORDER = {"VTM": 0, "VMP": 1, "AMP": 2, "VMPP": 3, "AMPP": 4, "DMD": 5, "MAP": 6, "BNF": 7}
_SEMANTIC_TAG = re.compile(r"\s*\((?:product|clinical drug)\)\s*$", re.I)
_PREVIOUS = re.compile(r"^VMP (previous|subsequent) to (\d+)$", re.I)

# Route implied by the form words of a name, for VMPs whose source gives no route (dm+d
# "Route of administration" values; only unambiguous forms are mapped).
_ROUTE_BY_FORM = (
    ("eye", "Ocular"),
    ("ear drops", "Auricular"),
    ("nasal", "Nasal"),
    ("suppositor", "Rectal"),
    ("enema", "Rectal"),
    ("pessar", "Vaginal"),
    ("vaginal", "Vaginal"),
    ("transdermal", "Transdermal"),
    ("inhal", "Inhalation"),
    ("nebuliser", "Inhalation"),
    ("cream", "Cutaneous"),
    ("ointment", "Cutaneous"),
    ("tablets", "Oral"),
    ("capsules", "Oral"),
    ("oral", "Oral"),
    ("granules", "Oral"),
)


class BuildError(ValueError):
    """The dictionary cannot be built; the message names the file and line."""


@dataclass
class _Id:
    names: Counter = field(default_factory=Counter)
    levels: Counter = field(default_factory=Counter)
    bnf: Counter = field(default_factory=Counter)
    vpids: Counter = field(default_factory=Counter)
    form_route: Counter = field(default_factory=Counter)
    sources: set[int] = field(default_factory=set)
    status: str = "clean"


@dataclass
class BuildReport:
    counts: dict[str, int]
    by_source: dict[str, dict[str, int]]
    ids_read: int
    failed_check: int
    repaired: int
    repaired_confirmed: int
    quarantined: int
    quarantine_reasons: dict[str, int]
    amp_mapping: dict[str, int]
    files: int
    artifact_bytes: int


@dataclass
class _Builder:
    shared: Path
    sources: list[dict[str, str]] = field(default_factory=list)
    ids: dict[str, _Id] = field(default_factory=lambda: defaultdict(_Id))
    code_map: dict[str, tuple[str, str, set[int]]] = field(default_factory=dict)
    bnf_names: dict[str, tuple[str, set[int]]] = field(default_factory=dict)
    quarantine: list[dict[str, str]] = field(default_factory=list)
    damaged_text: dict[str, str] = field(default_factory=dict)

    def source(self, path: Path, **meta: str) -> int:
        rel = path.relative_to(self.shared).as_posix()
        self.sources.append({"n": str(len(self.sources) + 1), "path": rel, **meta})
        return len(self.sources)

    def add_bnf(self, code: str, name: str, src: int) -> None:
        code = code.strip().upper()
        if len(code) != 15 or not code.isalnum():
            return
        old = self.bnf_names.get(code)
        if old is None:
            self.bnf_names[code] = (name, {src})
        else:
            old[1].add(src)
            if not old[0] and name:
                self.bnf_names[code] = (name, old[1])


def _read(path: Path) -> list[CodelistRow]:
    try:
        return read_codelist(path)
    except CodelistError as exc:
        raise BuildError(str(exc)) from None


def _dmd_codelists(shared: Path) -> list[tuple[Path, dict[str, str]]]:
    root = shared / "terminology" / "public_codelists"
    index = root / "INDEX.csv"
    if not index.exists():
        raise BuildError(f"{index}:0: missing (is --shared the ../shared folder?)")
    files = []
    with index.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            files.append((root / row["folder"] / row["file"], row))
    return files


def _looks_dmd(rows: list[CodelistRow], known: set[str]) -> bool:
    """A clinical-folder codelist is a dm+d list when most of its valid ids are dm+d-issued
    (UK ``1000001`` namespace) or already known as medicines from the public codelists."""
    ids = [r.code for r in rows if is_valid_sctid(r.code)]
    if not ids or any(r.level for r in rows):
        return bool(rows) and any(r.level for r in rows)
    hits = sum(1 for c in ids if is_uk_extension(c) or c in known)
    return hits * 2 > len(ids)


def _collect_codelists(b: _Builder) -> int:
    files = _dmd_codelists(b.shared)
    dmd_files: list[tuple[Path, list[CodelistRow], int]] = []
    for path, meta in files:
        system = meta.get("code_system", "")
        if system not in ("dmd", "bnf"):
            continue
        rows = _read(path)
        src = b.source(
            path, repo=meta.get("repo", ""), commit=meta.get("commit", ""),
            licence=meta.get("licence", ""),
        )  # fmt: skip
        if system == "bnf":
            for r in rows:
                b.add_bnf(r.code, r.term, src)
        else:
            dmd_files.append((path, rows, src))
    known = {r.code for _, rows, _ in dmd_files for r in rows}
    clinical = b.shared / "clinical"
    for sub in ("pincer", "smr", "high_risk_monitoring"):
        for path in sorted((clinical / sub).rglob("*.csv")):
            try:
                rows = read_codelist(path)
            except CodelistError:
                continue  # not a codelist layout (e.g. the ethnicity tables)
            if _looks_dmd(rows, known):
                dmd_files.append((path, rows, b.source(path, repo="", commit="", licence="MIT")))
    for _path, rows, src in dmd_files:
        _add_rows(b, rows, src)
    return len(dmd_files)


def _add_rows(b: _Builder, rows: list[CodelistRow], src: int) -> None:
    codes = [r.code for r in rows if r.code.isdigit()]
    damaged_file = any(not is_valid_sctid(c) for c in codes)
    for r in rows:
        code = r.code
        if not code.isdigit():
            continue
        target = code
        status = "clean"
        if not is_valid_sctid(code):
            cands = repair_candidates(code)
            if len(cands) != 1:
                reason = "no-candidate" if not cands else "ambiguous"
                if int(code) <= FLOAT_EXACT_LIMIT:
                    reason = "below-2^53"
                b.quarantine.append(
                    {"id": code, "name": r.term, "reason": reason,
                     "candidates": ";".join(cands), "source": str(src), "line": str(r.line)}
                )  # fmt: skip
                continue
            target, status = cands[0], "repaired"
            b.damaged_text[target] = code
        elif damaged_file and int(code) > FLOAT_EXACT_LIMIT:
            # Valid by chance or genuine: a float round-trip can yield a passing id (README,
            # "Roughly 1 in 8 damaged ids still passes"), so trust it only if a clean file has it.
            b.quarantine.append(
                {"id": code, "name": r.term, "reason": "suspect",
                 "candidates": "", "source": str(src), "line": str(r.line)}
            )  # fmt: skip
            continue
        entry = b.ids[target]
        rank = {"clean": 0, "repaired": 1}
        if not entry.sources or rank[status] < rank[entry.status]:
            entry.status = status
        entry.sources.add(src)
        term = _SEMANTIC_TAG.sub("", r.term)
        if m := _PREVIOUS.match(term):
            other = m.group(2)
            old, new = (target, other) if m.group(1).lower() == "previous" else (other, target)
            prev = b.code_map.get(old)
            b.code_map[old] = (new, "VMP", (prev[2] if prev else set()) | {src})
            entry.levels["VMP"] += 1
            continue
        if term:
            entry.names[term] += 1
        if r.level:
            entry.levels[r.level] += 1
        if r.bnf_code:
            entry.bnf[r.bnf_code.upper()] += 1
            if r.bnf_name:
                b.add_bnf(r.bnf_code, r.bnf_name, src)
        if r.vpid and r.vpid.isdigit() and r.vpid != target:
            entry.vpids[r.vpid] += 1
        if r.form_route:
            entry.form_route[r.form_route] += 1


def _collect_epd(b: _Builder) -> int:
    folder = b.shared / "peers" / "openprescribing" / "fixtures" / "epd_format"
    n = 0
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = {f.lower(): f for f in reader.fieldnames or []}
            code_f = fields.get("bnf_code")
            name_f = fields.get("bnf_description") or fields.get("bnf_name")
            if not code_f or not name_f:
                raise BuildError(f"{path}:1: no BNF_CODE/BNF_DESCRIPTION columns")
            src = b.source(path, repo="bennettoxford/openprescribing", commit="", licence="MIT")
            n += 1
            for row in reader:
                b.add_bnf(row[code_f], row[name_f].strip(), src)
    return n


def _best_name(names: Counter) -> str:
    """Prefer names in mixed case, with a supplier, then the most frequent, then the longest."""
    if not names:
        return ""
    return sorted(
        names,
        key=lambda n: (n.isupper(), not n.endswith(")"), -names[n], -len(n), n),
    )[0]


def _route(form: str, form_route: Counter) -> str:
    if form_route:
        fr = form_route.most_common(1)[0][0]
        if "." in fr:
            return fr.split(".", 1)[1].replace("_", " ").capitalize()
    low = form.lower()
    for word, route in _ROUTE_BY_FORM:
        if word in low:
            return route
    return ""


def _level(code: str, e: _Id, name: str, vmp_names: set[str]) -> str:
    if e.levels:
        return e.levels.most_common(1)[0][0]
    if e.vpids:
        return "AMP"
    parsed = parse_product_name(name) if name else None
    if parsed and parsed.supplier:
        return "AMP"
    codes = [c for c in e.bnf if len(c) == 15]
    if codes and not bnf.is_generic(codes[0]):
        return "AMP"
    if not is_uk_extension(code):
        # International namespace: VTM (no strength, no form) or VMP.
        if parsed and not parsed.strengths and not parsed.form:
            return "VTM"
        return "VMP"
    if name and normalise_name(name) in vmp_names:
        return "AMP"  # a generic AMP shares its VMP's name
    if not name and not e.bnf:
        return "DMD"  # a dm+d-issued id of unknown level with nothing else known
    return "VMP"


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


def build_dictionary(shared: Path, out_dir: Path = DATA_DIR) -> BuildReport:
    """Build the starter dictionary from ``shared`` into ``out_dir``; return the figures."""
    shared = shared.resolve()
    b = _Builder(shared)
    n_files = _collect_codelists(b)
    n_files += _collect_epd(b)

    release_dir = shared / "peers" / "openprescribing" / "dmd_fixtures" / "release_1"
    mapping = release_dir.parent / "bnf_snomed_mapping" / "mapping.xlsx"
    release = parse_release(release_dir, mapping if mapping.exists() else None)
    rel_src = b.source(release_dir, repo="bennettoxford/openprescribing", commit="", licence="MIT")
    n_files += 1
    vtm_rows = {v["id"]: v for v in release.vtms}
    vtm_by_name: dict[str, list[str]] = defaultdict(list)
    vtm_by_loose: dict[str, list[str]] = defaultdict(list)
    for v in release.vtms:
        if not v["invalid"]:
            vtm_by_name[v["name"].lower()].append(v["id"])
            vtm_by_loose[substance_key(v["name"], loose=True)].append(v["id"])

    # Levels and names of codelist ids.
    named = {c: _best_name(e.names) for c, e in b.ids.items()}
    stated_vmps = {
        c for c, e in b.ids.items() if e.levels and e.levels.most_common(1)[0][0] == "VMP"
    }
    vmp_names = {normalise_name(named[c]) for c in stated_vmps if named[c]}
    levels = {c: _level(c, e, named[c], vmp_names) for c, e in b.ids.items()}
    for v in release.vmps + release.amps + release.vmpps + release.ampps:
        b.ids.pop(v["id"], None)  # the release is authoritative for its own rows

    rows: list[dict[str, str]] = []
    vmp_index_src = [(c, named[c]) for c in b.ids if levels[c] == "VMP" and named[c]]
    vmp_index_src += [(v["id"], v["name"]) for v in release.vmps]
    index = NameIndex(vmp_index_src)
    vmp_by_bnf: dict[str, list[str]] = defaultdict(list)
    for c, e in b.ids.items():
        if levels[c] == "VMP" and e.bnf:
            vmp_by_bnf[e.bnf.most_common(1)[0][0]].append(c)
    for v in release.vmps:
        if v["bnf_code"]:
            vmp_by_bnf[v["bnf_code"]].append(v["id"])

    retired = set(b.code_map) | {m["old_id"] for m in release.code_map}
    amp_mapping: Counter = Counter()
    vmp_vtm: dict[str, str] = {v["id"]: v["vtm_id"] or "" for v in release.vmps}
    for code in sorted(b.ids):
        e, name, level = b.ids[code], named[code], levels[code]
        if level == "VTM" and not name and code in vtm_rows:
            name = vtm_rows[code]["name"]
        if not name and level != "VMP" and level != "AMP":
            name = ""
        code_bnf = e.bnf.most_common(1)[0][0] if e.bnf else ""
        parsed = parse_product_name(name) if name else None
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind=level, id=code, name=name, bnf_code=code_bnf, status=e.status,
                   sources=";".join(str(s) for s in sorted(e.sources)))  # fmt: skip
        if level == "VMP" and parsed:
            row["form"] = parsed.form
            row["route"] = _route(parsed.form, e.form_route)
            if len(parsed.strengths) == 1:
                s = parsed.strengths[0]
                row.update(
                    strength_num_value=_fmt(s.num_value),
                    strength_num_unit=s.num_unit,
                    strength_den_value=_fmt(s.den_value),
                    strength_den_unit=s.den_unit or "",
                )
            vtm = vtm_by_name.get(parsed.substance.lower()) or []
            if len(vtm) != 1:
                loose = vtm_by_loose.get(substance_key(parsed.substance, loose=True)) or []
                vtm = loose if len(loose) == 1 else vtm
            if len(vtm) == 1:
                row["vtm_id"] = vtm[0]
                vmp_vtm[code] = vtm[0]
        elif level == "AMP":
            if parsed:
                row["supplier"] = parsed.supplier or ""
            vmp, how = _amp_vmp(e, name, code_bnf, index, vmp_by_bnf, retired)
            row["vmp_id"], row["mapped_by"] = vmp, how
            amp_mapping[how or "unmapped"] += 1
        elif level in ("VMPP", "AMPP") and e.vpids:
            row["vmp_id"] = e.vpids.most_common(1)[0][0]
        rows.append(row)

    for row in rows:
        if row["kind"] == "VMP" and not row["vtm_id"] and row["id"] in vmp_vtm:
            row["vtm_id"] = vmp_vtm[row["id"]]
        elif row["kind"] == "AMP" and row["vmp_id"]:
            row["vtm_id"] = vmp_vtm.get(row["vmp_id"], "")

    src = str(rel_src)
    for attr, kind in (("vtms", "VTM"), ("vmps", "VMP"), ("amps", "AMP"),
                       ("vmpps", "VMPP"), ("ampps", "AMPP")):  # fmt: skip
        for v in getattr(release, attr):
            if kind == "VTM" and v["id"] in b.ids:
                continue
            row = dict.fromkeys(COLUMNS, "")
            row.update({k: ("1" if v[k] is True else "" if v[k] in (None, False) else
                            _fmt(v[k]) if isinstance(v[k], float) else str(v[k]))
                        for k in v if k in COLUMNS and k != "source"})  # fmt: skip
            row.update(kind=kind, status="clean", sources=src)
            if kind == "VMP":
                row["new_id"] = ""
            if kind == "AMP":
                row["vtm_id"] = vmp_vtm.get(v["vmp_id"], "")
                row["mapped_by"] = "dmd"
            if kind == "AMPP":
                row["vmp_id"] = ""
            rows.append(row)
    for m in release.code_map:
        b.code_map.setdefault(m["old_id"], (m["new_id"], m["level"], {rel_src}))

    for old, (new, level, srcs) in sorted(b.code_map.items()):
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind="MAP", id=old, new_id=new, name=level, status="clean",
                   sources=";".join(str(s) for s in sorted(srcs)))  # fmt: skip
        rows.append(row)

    # BNF presentations: names from EPD and BNF lists, else from the generic VMP with that code.
    vmp_name_by_bnf: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: r["kind"] != "VMP"):  # VMP names first, then AMPs'
        if r["kind"] in ("VMP", "AMP") and r["bnf_code"] and r["name"]:
            vmp_name_by_bnf.setdefault(r["bnf_code"], parse_product_name(r["name"]).text)
    for r in rows:
        if r["kind"] in ("VMP", "AMP") and len(r["bnf_code"]) == 15:
            b.add_bnf(r["bnf_code"], "", int(r["sources"].split(";")[0]))
    for code, (name, srcs) in sorted(b.bnf_names.items()):
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind="BNF", id=code, bnf_code=code, name=name or vmp_name_by_bnf.get(code, ""),
                   status="clean", sources=";".join(str(s) for s in sorted(srcs)))  # fmt: skip
        rows.append(row)

    rows.sort(key=lambda r: (KIND_ORDER[r["kind"]], r["id"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact = _write_gz(out_dir / ARTIFACT, rows)
    _write_csv(out_dir / SOURCES, ["n", "path", "repo", "commit", "licence"], b.sources)
    quarantine = sorted(b.quarantine, key=lambda q: (q["id"], int(q["source"]), int(q["line"])))
    _write_csv(out_dir / QUARANTINE,
               ["id", "name", "reason", "candidates", "source", "line"], quarantine)  # fmt: skip

    counts = Counter(r["kind"] for r in rows)
    by_source: dict[str, dict[str, int]] = defaultdict(Counter)
    for r in rows:
        for n in r["sources"].split(";"):
            top = b.sources[int(n) - 1]["path"].split("/")
            by_source[" / ".join(top[:2])][r["kind"]] += 1
    q_ids = {q["id"]: q["reason"] for q in quarantine if q["id"] not in b.ids}
    repaired = {c for c, e in b.ids.items() if e.status == "repaired"}
    return BuildReport(
        counts=dict(counts),
        by_source={k: dict(v) for k, v in sorted(by_source.items())},
        ids_read=len({r for r in b.ids} | set(q_ids) | set(b.damaged_text.values())),
        failed_check=len(
            set(b.damaged_text.values()) | {q for q, why in q_ids.items() if why != "suspect"}
        ),
        repaired=len(b.damaged_text),
        repaired_confirmed=len(set(b.damaged_text) - repaired),
        quarantined=len(q_ids),
        quarantine_reasons=dict(Counter(q_ids.values())),
        amp_mapping=dict(amp_mapping),
        files=n_files,
        artifact_bytes=artifact,
    )


def _current(ids: list[str], retired: set[str]) -> list[str]:
    """Drop retired ids when a current one is among the candidates."""
    ids = list(dict.fromkeys(ids))
    live = [i for i in ids if i not in retired]
    return live or ids


def _amp_vmp(e: _Id, name: str, code_bnf: str, index: NameIndex,
             vmp_by_bnf: dict[str, list[str]], retired: set[str]) -> tuple[str, str]:  # fmt: skip
    """Map an AMP to its VMP: stated parent, then generic name, then BNF generic equivalent, then
    the parsed name (substance + strength + form). A retired VMP id loses to its successor."""
    if e.vpids:
        return e.vpids.most_common(1)[0][0], "vpid"
    if name:
        hits = _current([m.vmp_id for m in index.match(name) if m.how == "exact"], retired)
        if len(hits) == 1:
            return hits[0], "name"
    if len(code_bnf) == 15:
        generic = bnf.generic_equivalent(code_bnf) or ""
        cands = vmp_by_bnf.get(generic) or vmp_by_bnf.get(code_bnf) or []
        cands = _current(cands, retired)
        if len(cands) == 1:
            return cands[0], "bnf"
    if name:
        matches = index.match(name)
        hits = _current([m.vmp_id for m in matches], retired)
        if len(hits) == 1:
            return hits[0], f"parsed-{matches[0].how}"
    return "", ""


def _write_gz(path: Path, rows: list[dict[str, str]]) -> int:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)
    return path.stat().st_size


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    if path.suffix != ".gz":
        path.write_bytes(data)
        return
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(data)


def _default_shared() -> Path:
    """``../shared`` next to the working tree, as on developer machines and CI."""
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / "shared" / "terminology").is_dir():
            return base / "shared"
        if (base.parent / "shared" / "terminology").is_dir():
            return base.parent / "shared"
    return Path("../shared")


def main(argv: list[str] | None = None) -> int:
    """Build, print the counts; a one-line error and status 2 for bad input."""
    import argparse
    import time

    from ipmo.terminology.dmd_xml import DmdImportError

    parser = argparse.ArgumentParser(description="Rebuild the shipped dm+d starter dictionary.")
    parser.add_argument("--shared", type=Path, default=None, help="the ../shared data folder")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder")
    args = parser.parse_args(argv)
    shared = args.shared or _default_shared()
    if not shared.is_dir():
        print(f"{shared}:0: shared data folder not found (pass --shared PATH)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        report = build_dictionary(shared, args.out)
    except (BuildError, DmdImportError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    c = report.counts
    print(
        f"starter dictionary: {c.get('VTM', 0):,} VTMs, {c.get('VMP', 0):,} VMPs, "
        f"{c.get('AMP', 0):,} AMPs, {c.get('VMPP', 0):,} VMPPs, {c.get('AMPP', 0):,} AMPPs, "
        f"{c.get('DMD', 0):,} ids of unknown level, {c.get('MAP', 0):,} previous ids, "
        f"{c.get('BNF', 0):,} BNF presentations; {report.artifact_bytes / 1e6:.2f} MB "
        f"from {report.files} files in {time.perf_counter() - start:.1f}s"
    )
    kinds = ["VTM", "VMP", "AMP", "VMPP", "AMPP", "MAP", "BNF"]
    print("rows by source (a row counts once per source folder holding it):")
    print("\t".join(["source", *kinds]))
    for src, per in report.by_source.items():
        print("\t".join([src, *(f"{per.get(k, 0):,}" for k in kinds)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
