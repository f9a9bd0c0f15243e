"""Importer for the official NHSBSA dm+d XML release (the weekly TRUD files).

One file per entity family (``f_vtm2_*.xml``, ``f_vmp2_*.xml``, ``f_amp2_*.xml``,
``f_vmpp2_*.xml``, ``f_ampp2_*.xml``, ``f_lookup2_*.xml``; optional ``f_bnf1_*.xml``), laid out
as in NHSBSA's "dm+d Technical Specification of Data Files". Files are streamed with
:func:`lxml.etree.iterparse` with no network access, no DTD loading and no entity resolution,
and a document that declares a DOCTYPE is refused outright (the defusedxml policy). The whole
release is parsed and checked before anything is written, and the write is one transaction, so a
malformed or truncated file leaves the store untouched and yields one line naming file and line.

BNF codes are not in the core release: they come from the supplementary ``f_bnf1_*.xml`` file or
from NHSBSA's "BNF SNOMED mapping" spreadsheet (``--bnf-mapping``). As in OpenPrescribing's
``import_dmd`` (dmd/management/commands/import_dmd.py), a VMP with no BNF code of its own takes
the code its VMPPs share, when they all share one.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from sqlalchemy import delete
from sqlalchemy.orm import Session

from ipmo.terminology.models import DmdAmp, DmdAmpp, DmdCodeMap, DmdVmp, DmdVmpp, DmdVtm

FAMILIES = {
    "vtm": "f_vtm2_",
    "vmp": "f_vmp2_",
    "amp": "f_amp2_",
    "vmpp": "f_vmpp2_",
    "ampp": "f_ampp2_",
    "lookup": "f_lookup2_",
}
_RECORD_TAGS = {"VTM", "VMP", "VPI", "DFORM", "DROUTE", "AMP", "VMPP", "AMPP", "INFO", "DTINFO"}
_MAX_CHUNK = 500


class DmdImportError(ValueError):
    """The release cannot be imported; the message is one line naming the file and line."""


STRENGTH_COLUMNS = (
    "strength_num_value",
    "strength_num_unit",
    "strength_den_value",
    "strength_den_unit",
)


@dataclass
class DmdRelease:
    """A parsed release: rows ready for the store plus the figures the import reports."""

    name: str
    vtms: list[dict] = field(default_factory=list)
    vmps: list[dict] = field(default_factory=list)
    amps: list[dict] = field(default_factory=list)
    vmpps: list[dict] = field(default_factory=list)
    ampps: list[dict] = field(default_factory=list)
    code_map: list[dict] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "VTM": len(self.vtms),
            "VMP": len(self.vmps),
            "AMP": len(self.amps),
            "VMPP": len(self.vmpps),
            "AMPP": len(self.ampps),
            "previous ids": len(self.code_map),
        }


def _refuse_doctype(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        line = head[: head.find(b"<!")].count(b"\n") + 1
        raise DmdImportError(f"{path.name}:{line}: DOCTYPE/ENTITY declarations are not allowed")


def iter_records(path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Yield ``(list_tag, record_tag, {child: text})`` for every record element in ``path``.

    ``list_tag`` is the record's parent (e.g. ``FORM`` for a lookup ``INFO`` row).
    """
    _refuse_doctype(path)
    stack: list[str] = []
    try:
        context = etree.iterparse(
            str(path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
        )
        for event, elem in context:
            tag = elem.tag if isinstance(elem.tag, str) else ""
            if event == "start":
                stack.append(tag)
                continue
            stack.pop()
            if tag in _RECORD_TAGS and len(stack) >= 1:
                row = {
                    child.tag: (child.text or "").strip()
                    for child in elem
                    if isinstance(child.tag, str)
                }
                yield stack[-1], tag, row
                elem.clear()
                parent = elem.getparent()
                while parent is not None and elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        msg = str(exc.msg if hasattr(exc, "msg") else exc).split(" (", 1)[0].split(", line")[0]
        raise DmdImportError(f"{path.name}:{line}: malformed XML: {msg}") from None
    except OSError as exc:
        raise DmdImportError(f"{path.name}:0: cannot read ({exc.strerror or exc})") from None


def _find(directory: Path, prefix: str) -> Path | None:
    matches = sorted(directory.glob(f"{prefix}*.xml"))
    return matches[-1] if matches else None


def _require(directory: Path, prefix: str) -> Path:
    if found := _find(directory, prefix):
        return found
    raise DmdImportError(f"{directory}:0: no {prefix}*.xml file (not a dm+d release folder)")


def _num(value: str | None, where: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise DmdImportError(f"{where}: not a number: {value!r}") from None


def _pence(value: str | None, where: str) -> int | None:
    """A dm+d price (whole pence) or None when the pack has none."""
    number = _num(value, where)
    return None if number is None else round(number)


def _need(row: dict[str, str], key: str, where: str) -> str:
    value = row.get(key, "")
    if not value:
        raise DmdImportError(f"{where}: record without {key}")
    return value


def _records(path: Path, tag: str, key: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each ``tag`` record of one release file, with its id (the ``key`` field, required)."""
    for _list, record_tag, row in iter_records(path):
        if record_tag == tag:
            yield _need(row, key, path.name), row


def _concept(row: dict[str, str], concept_id: str, where: str, src: str, **fields: object) -> dict:
    """A concept's store row: its id and name (required), ``fields``, the invalid flag and the
    release it came from."""
    return {
        "id": concept_id,
        "name": _need(row, "NM", where),
        **fields,
        "invalid": row.get("INVALID") == "1",
        "source": src,
    }


#: a column read as a number (``_num``); other columns are text, or decoded through the lookup
#: list named (``f_lookup2``'s list tag)
NUMBER = "number"

#: The levels below the VMP, table-driven: file, record tag, id field, the link to the level
#: above (column, required field) and the other columns (column, field, how it is read).
PACKS_AND_PRODUCTS = {
    "vmpp": ("VMPP", "VPPID", ("vmp_id", "VPID"),
             (("qty_value", "QTYVAL", NUMBER), ("qty_unit", "QTY_UOMCD", "UNIT_OF_MEASURE"))),
    "amp": ("AMP", "APID", ("vmp_id", "VPID"),
            (("description", "DESC", None), ("supplier", "SUPPCD", "SUPPLIER"))),
    "ampp": ("AMPP", "APPID", ("amp_id", "APID"),
             (("vmpp_id", "VPPID", None), ("legal_category", "LEGAL_CATCD", "LEGAL_CATEGORY"))),
}  # fmt: skip


def _level(
    family: str,
    paths: dict[str, Path],
    src: str,
    bnf: dict[str, str],
    lookups: dict[str, dict[str, str]],
    more: Callable[[str], dict[str, object]] | None = None,
) -> list[dict]:
    """The store rows of one level below the VMP (``PACKS_AND_PRODUCTS``): each record as a
    concept (``_concept``) with its link to the level above, its columns, ``more(id)`` (columns
    from other records) and its BNF code."""
    tag, key, (link, link_field), columns = PACKS_AND_PRODUCTS[family]
    path = paths[family]
    where = path.name
    rows = []
    for concept_id, row in _records(path, tag, key):
        fields: dict[str, object] = {link: _need(row, link_field, where)}
        for column, name, read in columns:
            if read == NUMBER:
                fields[column] = _num(row.get(name), f"{where}: {tag} {concept_id}")
            elif read is None:
                fields[column] = row.get(name) or None
            else:
                fields[column] = lookups[read].get(row.get(name, "")) or None
        if more is not None:
            fields |= more(concept_id)
        rows.append(_concept(row, concept_id, where, src, **fields, bnf_code=bnf.get(concept_id)))
    return rows


def _previous(release: DmdRelease, old_id: str | None, new_id: str, level: str, src: str) -> None:
    """Record that ``old_id`` (VTMIDPREV / VPIDPREV: a previous id) now means ``new_id``."""
    if old_id:
        release.code_map.append({"old_id": old_id, "new_id": new_id, "level": level, "source": src})


def read_bnf_mapping_xlsx(path: Path) -> dict[str, str]:
    """SNOMED id → BNF code from NHSBSA's "BNF SNOMED mapping" spreadsheet.

    Reads column C ("BNF Code") and column E ("SNOMED Code") of the first sheet, dropping the
    leading apostrophe Excel uses to keep ids as text (OpenPrescribing's reader does the same).
    The .xlsx is read as the zip of XML it is, so no spreadsheet library is needed.
    """
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        with zipfile.ZipFile(path) as zf:
            shared: list[str] = []
            if "xl/sharedStrings.xml" in zf.namelist():
                root = etree.fromstring(zf.read("xl/sharedStrings.xml"), parser)
                shared = ["".join(si.itertext()) for si in root.iter(f"{ns}si")]
            sheet = etree.fromstring(zf.read("xl/worksheets/sheet1.xml"), parser)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
        raise DmdImportError(
            f"{path.name}:0: not a readable BNF mapping workbook ({exc})"
        ) from None
    out: dict[str, str] = {}
    for row in sheet.iter(f"{ns}row"):
        cells: dict[str, str] = {}
        for c in row.iter(f"{ns}c"):
            col = re.sub(r"\d", "", c.get("r", ""))
            if c.get("t") == "s":
                v = c.find(f"{ns}v")
                text = shared[int(v.text)] if v is not None and v.text else ""
            else:
                text = "".join(t.text or "" for t in c.iter(f"{ns}t", f"{ns}v"))
            cells[col] = text.strip().lstrip("'")
        bnf, code = cells.get("C", ""), cells.get("E", "")
        if code.isdigit() and bnf and bnf != "BNF Code":
            out[code] = bnf
    return out


def parse_release(directory: Path, bnf_mapping: Path | None = None) -> DmdRelease:
    """Parse and check a whole release folder without touching the store."""
    if not directory.is_dir():
        raise DmdImportError(f"{directory}:0: not a folder")
    paths = {key: _require(directory, prefix) for key, prefix in FAMILIES.items()}
    release = DmdRelease(name=directory.name)

    lookups: dict[str, dict[str, str]] = defaultdict(dict)
    for list_tag, tag, row in iter_records(paths["lookup"]):
        if tag == "INFO" and row.get("CD"):
            lookups[list_tag][row["CD"]] = row.get("DESC", "")
    units, forms, routes = lookups["UNIT_OF_MEASURE"], lookups["FORM"], lookups["ROUTE"]

    bnf: dict[str, str] = {}
    if bnf_mapping is not None:
        bnf.update(read_bnf_mapping_xlsx(bnf_mapping))
    if bnf_file := _find(directory, "f_bnf1_"):
        for _list, _tag, row in iter_records(bnf_file):
            dmd_id = next((row[k] for k in ("VPID", "APID", "VPPID", "APPID") if row.get(k)), "")
            if dmd_id and row.get("BNF"):
                bnf[dmd_id] = row["BNF"]

    src = f"dmd:{directory.name}"
    where = paths["vtm"].name
    for vtm_id, row in _records(paths["vtm"], "VTM", "VTMID"):
        release.vtms.append(_concept(row, vtm_id, where, src, prev_id=row.get("VTMIDPREV") or None))
        _previous(release, row.get("VTMIDPREV"), vtm_id, "VTM", src)

    vmp_forms: dict[str, str] = {}
    vmp_routes: dict[str, list[str]] = defaultdict(list)
    vpis: dict[str, list[dict[str, str]]] = defaultdict(list)
    vmps: list[dict[str, str]] = []
    where = paths["vmp"].name
    for _list, tag, row in iter_records(paths["vmp"]):
        if tag == "VMP":
            vmps.append(row)
        elif tag == "VPI":
            vpis[_need(row, "VPID", where)].append(row)
        elif tag == "DFORM":
            vmp_forms[_need(row, "VPID", where)] = forms.get(row.get("FORMCD", ""), "")
        elif tag == "DROUTE":
            vmp_routes[_need(row, "VPID", where)].append(routes.get(row.get("ROUTECD", ""), ""))

    where = paths["vmpp"].name
    # the Drug Tariff price of each pack (DRUG_TARIFF_INFO, pence); packs without one have none
    tariff = {
        _need(row, "VPPID", where): row.get("PRICE")
        for _list, tag, row in iter_records(paths["vmpp"])
        if tag == "DTINFO"
    }
    release.vmpps = _level(
        "vmpp", paths, src, bnf, lookups,
        lambda vppid: {"price_pence": _pence(tariff.get(vppid), f"{where}: DTINFO {vppid}")},
    )  # fmt: skip
    vmpp_bnf: dict[str, set[str]] = defaultdict(set)
    for r in release.vmpps:
        if r["bnf_code"]:
            vmpp_bnf[r["vmp_id"]].add(r["bnf_code"])

    inferred = 0
    where = paths["vmp"].name
    for row in vmps:
        vpid = _need(row, "VPID", where)
        code = bnf.get(vpid)
        if not code and len(vmpp_bnf.get(vpid, ())) == 1:
            code = next(iter(vmpp_bnf[vpid]))
            inferred += 1
        strength: dict[str, object] = {}
        ingredients = vpis.get(vpid, [])
        if len(ingredients) == 1 and ingredients[0].get("STRNT_NMRTR_VAL"):
            ing = ingredients[0]
            strength = {
                "strength_num_value": _num(ing.get("STRNT_NMRTR_VAL"), f"{where}: VPI {vpid}"),
                "strength_num_unit": units.get(ing.get("STRNT_NMRTR_UOMCD", "")) or None,
                "strength_den_value": _num(ing.get("STRNT_DNMTR_VAL"), f"{where}: VPI {vpid}"),
                "strength_den_unit": units.get(ing.get("STRNT_DNMTR_UOMCD", "")) or None,
            }
        release.vmps.append(
            _concept(
                row, vpid, where, src,
                vtm_id=row.get("VTMID") or None,
                form=vmp_forms.get(vpid) or None,
                route=", ".join(r for r in vmp_routes.get(vpid, []) if r) or None,
                **(dict.fromkeys(STRENGTH_COLUMNS) | strength),
                bnf_code=code,
                prev_id=row.get("VPIDPREV") or None,
            )
        )  # fmt: skip
        _previous(release, row.get("VPIDPREV"), vpid, "VMP", src)

    release.amps = _level("amp", paths, src, bnf, lookups)
    release.ampps = _level("ampp", paths, src, bnf, lookups)

    # An id retired twice (seen in real releases) keeps its latest successor: one row per old id.
    release.code_map = list({m["old_id"]: m for m in release.code_map}.values())
    by_bnf = Counter(r["bnf_code"] for r in release.vmps if r["bnf_code"])
    release.stats = {
        "vmps-with-no-bnf-code": sum(1 for r in release.vmps if not r["bnf_code"]),
        "vmps-with-inferred-bnf-code": inferred,
        "bnf-codes-with-multiple-vmps": sum(1 for n in by_bnf.values() if n > 1),
    }
    return release


TABLES = (
    (DmdVtm, "vtms"),
    (DmdVmp, "vmps"),
    (DmdAmp, "amps"),
    (DmdVmpp, "vmpps"),
    (DmdAmpp, "ampps"),
)


def _chunks(items: list, size: int = _MAX_CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write_release(session: Session, release: DmdRelease, *, replace: bool = False) -> None:
    """Write a parsed release in the caller's transaction.

    Rows replace same-id rows (a release is newer than what is stored); ids retired by a
    ``…PREV`` field are removed, since the release re-issues their children under the new id.
    ``replace=True`` clears every dm+d table first (a full release replacing everything).
    """
    retired = [m["old_id"] for m in release.code_map]
    for model, attr in TABLES:
        rows = getattr(release, attr)
        if replace:
            session.execute(delete(model))
        else:
            ids = [r["id"] for r in rows] + retired
            for chunk in _chunks(ids):
                session.execute(delete(model).where(model.id.in_(chunk)))
        if rows:
            session.execute(model.__table__.insert(), rows)
    if replace:
        session.execute(delete(DmdCodeMap))
    else:
        for chunk in _chunks([m["old_id"] for m in release.code_map]):
            session.execute(delete(DmdCodeMap).where(DmdCodeMap.old_id.in_(chunk)))
    if release.code_map:
        session.execute(DmdCodeMap.__table__.insert(), release.code_map)
    session.flush()


def import_release(
    session: Session, directory: Path, *, bnf_mapping: Path | None = None, replace: bool = False
) -> DmdRelease:
    """Parse ``directory`` completely, then write it in the session's transaction."""
    release = parse_release(directory, bnf_mapping)
    write_release(session, release, replace=replace)
    return release
