"""Run OpenPrescribing's dm+d SQL (code queries and custom sides) over our rebuilt dm+d tables.

The peer's definitions are BigQuery SQL over dm+d (``{dmd}.vmp`` …), its views
(``{measures}.vw__dmd_objs_with_form_route`` …) and prescribing (``{hscic}.normalised_prescribing``,
``{hscic}.bnf``). Rather than re-write each one by hand, we run the definitions' own text:
comments are stripped, dataset prefixes dropped, the BigQuery dialect translated by sqlglot
(``SUBSTR(x, 0, n)`` keeps BigQuery's meaning, position 0 = 1) and the result executed by an
in-memory DuckDB holding the tables of ``dmd_views.py`` plus one row per presentation in the data.

* ``*_bnf_codes_query`` → the set of BNF codes it returns (``plan.py`` intersects it with the
  definition's filter and the data, as OpenPrescribing's ``import_measures.get_bnf_codes`` does).
* a custom side joining dm+d (``SUM(p.items)`` over ``normalised_prescribing p INNER JOIN {dmd}.vmp
  …``) → a weight per BNF code: the query is grouped by ``p.bnf_code`` and evaluated, in one pass,
  with the value columns set to 1 one at a time (and to 2, to check it is linear, and all to 0, to
  check there is no constant). Join multiplicity is kept: a presentation joined to two VMPs counts
  twice, as in the peer's SQL.

A table, view or column we do not hold (``lic_auth``, ``vw__inhaler_quantity_adjustment`` …) makes
the side unsupported with that reason. Coverage: :meth:`DmdDatabase.unplaced` lists the codes in a
measure's scope that the dictionary could not place, so a partial result is reported, not silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import sqlglot
import sqlglot.expressions as sx

from ipmo.analytics.measures.definitions import Side
from ipmo.analytics.planning.custom_sql import UnsupportedSql
from ipmo.analytics.planning.dmd_views import INGREDIENTS, DmdViews, generic_equivalent, load_views

VALUE_COLUMNS = ("items", "quantity", "actual_cost")

# Tables and views the definitions read that we do not rebuild, and why.
MISSING_TABLES = {
    "raw_prescribing_normalised": "it needs per-item quantities from raw EPD rows "
    "(raw_prescribing_normalised.quantity_per_item)",
    "practice_statistics": "it needs list sizes by age band and sex (practice_statistics)",
    "vw__inhaler_quantity_adjustment": "it needs OpenPrescribing's view "
    "vw__inhaler_quantity_adjustment (inhaler quantity in puffs vs inhalers, by month), whose SQL "
    "is not in our reference copy",
    "vw__presentation_ingredient_count": "it needs OpenPrescribing's view "
    "vw__presentation_ingredient_count, whose SQL is not in our reference copy",
    "vw__median_price_per_unit": "it needs OpenPrescribing's monthly median price per unit "
    "(vw__median_price_per_unit), computed from national prescribing",
}
# dm+d columns the definitions name that the starter dictionary does not hold.
MISSING_COLUMNS = {
    "lic_auth": "dm+d amp.lic_auth (licensing authority)",
}


def _strip_comments(sql: str) -> str:
    """Drop ``--`` and ``#`` comments (BigQuery allows both) outside quoted strings."""
    out = []
    for line in sql.splitlines():
        quoted, cut = False, len(line)
        for i, ch in enumerate(line):
            if ch == "'":
                quoted = not quoted
            elif not quoted and (ch == "#" or line.startswith("--", i)):
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def _prepare(sql: str) -> sx.Expression:
    text = re.sub(r"\{\w+\}\.", "", _strip_comments(sql))
    text = re.sub(r"\b(?:ebmdatalab\.)?(?:dmd|measures|hscic)\.(?=\w)", "", text)
    try:
        tree = sqlglot.parse_one(text, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise UnsupportedSql(f"its SQL does not parse: {str(exc).splitlines()[0]}") from exc
    for node in tree.find_all(sx.Substring):
        start = node.args.get("start")
        if isinstance(start, sx.Literal) and start.this == "0":
            node.set("start", sx.Literal.number(1))  # BigQuery: position 0 is treated as 1
    return tree


@dataclass(frozen=True)
class CustomWeights:
    column: str
    weights: dict[str, float]


class DmdDatabase:
    """An in-memory DuckDB with the rebuilt dm+d tables and the data's presentations."""

    def __init__(self, presentations: Mapping[str, str], views: DmdViews | None = None) -> None:
        self.views = views or load_views()
        self.presentations = dict(presentations)
        # queries run over every code the dictionary knows plus the data's, so whether a measure
        # can be resolved does not depend on what one month of data happens to contain
        self.names = self.views.bnf_names | {c: n or "" for c, n in self.presentations.items()}
        self.con = duckdb.connect(":memory:")
        self.amps = self.views.amps + self.views.inferred_amps(self.presentations)
        self._vmps_of: dict[str, list] | None = None
        self._held: set[int] | None = None
        self._load()

    def close(self) -> None:
        self.con.close()

    # -- tables -------------------------------------------------------------------------------
    def _table(self, name: str, columns: dict[str, tuple[pa.DataType, list]]) -> None:
        """Copy an Arrow table into DuckDB as ``name`` (a native table: the definitions' joins
        run on it many times, faster than scanning the Arrow data in place)."""
        arrow = pa.table({k: pa.array(v, type=t) for k, (t, v) in columns.items()})
        self.con.register("_arrow", arrow)
        self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _arrow')
        self.con.unregister("_arrow")

    def _load(self) -> None:  # noqa: PLR0915 - one block per table
        v, i64, s, f64 = self.views, pa.int64(), pa.string(), pa.float64()
        vmps = list(v.vmps.values())
        self._table("vtm", {"id": (i64, list(v.vtms)), "nm": (s, list(v.vtms.values()))})
        vmp_cols: dict[str, tuple[pa.DataType, list]] = {
            "id": (i64, [m.id for m in vmps]),
            "nm": (s, [m.name for m in vmps]),
            "vtm": (i64, [m.vtm for m in vmps]),
            "bnf_code": (s, [m.bnf_code for m in vmps]),
        }
        self._table("vmp", vmp_cols)
        self._table("vmp_full", vmp_cols | {"dform_form": (s, [m.dform for m in vmps])})
        amp_cols: dict[str, tuple[pa.DataType, list]] = {
            "id": (i64, [a.id for a in self.amps]),
            "nm": (s, [a.name or self.names.get(a.bnf_code, "") for a in self.amps]),
            "descr": (s, [a.name or self.names.get(a.bnf_code, "") for a in self.amps]),
            "vmp": (i64, [a.vmp for a in self.amps]),
            "bnf_code": (s, [a.bnf_code for a in self.amps]),
            "inferred": (pa.bool_(), [a.inferred for a in self.amps]),
        }
        self._table("amp", amp_cols)
        self._table("amp_full", amp_cols)
        routes = sorted({f for m in vmps for f in m.form_routes})
        cd = {descr: n for n, descr in enumerate(routes, start=1)}
        self._table("ontformroute", {"cd": (i64, list(cd.values())), "descr": (s, routes)})
        ont = [(m.id, cd[f]) for m in vmps for f in m.form_routes]
        self._table("ont", {"vmp": (i64, [o[0] for o in ont]), "form": (i64, [o[1] for o in ont])})
        vpi = [(m.id, g) for m in vmps for g in m.ingredients]
        self._table(
            "vpi",
            {
                "vmp": (i64, [m for m, _ in vpi]),
                "ing": (i64, [g.ing for _, g in vpi]),
                "bs_subid": (i64, [None] * len(vpi)),
                "strnt_nmrtr_val": (f64, [g.num for _, g in vpi]),
                "strnt_nmrtr_uom": (s, [g.num_uom for _, g in vpi]),
                "strnt_dnmtr_val": (f64, [g.den for _, g in vpi]),
                "strnt_dnmtr_uom": (s, [g.den_uom for _, g in vpi]),
            },
        )
        ings = sorted({(i, k) for k, i in INGREDIENTS.items()})
        self._table("ing", {"id": (i64, [i for i, _ in ings]), "nm": (s, [k for _, k in ings])})
        objs: list[tuple[str, int, int | None, str, str, str]] = [
            ("vmp", m.id, m.id, m.bnf_code, m.name, f) for m in vmps for f in m.form_routes
        ]
        objs += [
            ("amp", a.vmp, a.id, a.bnf_code, a.name, f)
            for a in self.amps
            for f in v.vmps[a.vmp].form_routes
        ]
        self._table(
            "vw__dmd_objs_with_form_route",
            {
                "obj_type": (s, [o[0] for o in objs]),
                "vpid": (i64, [o[1] for o in objs]),
                "snomed_id": (i64, [o[2] for o in objs]),
                "bnf_code": (s, [o[3] for o in objs]),
                "name": (s, [o[4] for o in objs]),
                "form_route": (s, [o[5] for o in objs]),
            },
        )
        aware = v.aware_rows(self.amps)
        self._table(
            "vw_aware_abx_bnf_codes",
            {"bnf_code": (s, [a[0] for a in aware]), "aware": (s, [a[1] for a in aware])},
        )
        # unit → mg (mass) or ml (volume); the units of the gabapentinoid VMPs are mg and ml
        conv = {"mg": 1.0, "gram": 1000.0, "microgram": 0.001, "nanogram": 1e-6, "ml": 1.0,
                "litre": 1000.0}  # fmt: skip
        self._table(
            "vw__measure_conversion",
            {"cd": (s, list(conv)), "nmtr_unit_conversion": (f64, list(conv.values()))},
        )
        codes = sorted(self.names)
        names = [self.names[c] for c in codes]
        self._table("bnf", {"presentation_code": (s, codes), "presentation": (s, names)})
        self._table("presentations", {"bnf_code": (s, codes), "bnf_name": (s, names)})
        # custom sides read normalised_prescribing: one row per code and probe; probe 0 has every
        # value column 0, then each column set to 1 and to 2 in turn (see custom_weights)
        probes = [dict.fromkeys(VALUE_COLUMNS, 0.0)]
        for column in VALUE_COLUMNS:
            probes += [dict.fromkeys(VALUE_COLUMNS, 0.0) | {column: k} for k in (1.0, 2.0)]
        self._table(
            "probe",
            {"probe_id": (i64, list(range(len(probes))))}
            | {c: (f64, [p[c] for p in probes]) for c in VALUE_COLUMNS},
        )
        self.con.execute(
            "CREATE VIEW normalised_prescribing AS SELECT p.bnf_code, p.bnf_name, probe.probe_id, "
            + ", ".join(f"probe.{c}" for c in VALUE_COLUMNS)
            + " FROM presentations AS p CROSS JOIN probe"
        )

    # -- queries ------------------------------------------------------------------------------
    def _execute(self, tree: sx.Expression) -> list[tuple]:
        sql = tree.sql(dialect="duckdb")
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.CatalogException as exc:
            raise UnsupportedSql(self._missing_table(str(exc))) from exc
        except duckdb.BinderException as exc:
            raise UnsupportedSql(self._missing_column(str(exc))) from exc
        except duckdb.Error as exc:
            raise UnsupportedSql(f"its SQL fails on our dm+d tables: {str(exc)[:200]}") from exc

    @staticmethod
    def _missing_table(message: str) -> str:
        match = re.search(r"Table with name (\w+) does not exist", message)
        name = match.group(1) if match else "?"
        return MISSING_TABLES.get(name, f"it reads {name}, a view/table we do not hold")

    @staticmethod
    def _missing_column(message: str) -> str:
        match = re.search(r'column "?(\w+)"?', message, re.I)
        name = match.group(1).lower() if match else "?"
        what = MISSING_COLUMNS.get(name, f"column {name!r}")
        return f"it needs {what}, which the starter dictionary does not hold"

    def codes(self, query: str) -> set[str]:
        """The BNF codes a ``*_bnf_codes_query`` returns (first column)."""
        rows = self._execute(_prepare(query))
        return {str(r[0]).strip() for r in rows if r and r[0]}

    def custom_weights(self, side: Side) -> CustomWeights:
        """Per-code weights of a custom side: value = Σ weight(code) × column."""
        tree = _prepare(f"SELECT {side.columns}\nFROM {side.from_}\nWHERE {side.where or '1 = 1'}")
        if not isinstance(tree, sx.Select) or len(tree.expressions) != 1:
            raise UnsupportedSql("its custom SQL is not a single SELECT of one value")
        tables = [t for t in tree.find_all(sx.Table) if t.name == "normalised_prescribing"]
        if len(tables) != 1:
            table = next((t.name for t in tree.find_all(sx.Table)), "?")
            raise UnsupportedSql(MISSING_TABLES.get(table, f"it reads {table}, not prescribing"))
        alias = tables[0].alias_or_name
        value = tree.expressions[0]
        value = value.this if isinstance(value, sx.Alias) else value
        code = sx.column("bnf_code", table=alias)
        probe = sx.column("probe_id", table=alias)
        grouped = tree.select(
            probe.as_("probe"), code.as_("code"), value.as_("value"), append=False
        ).group_by(probe, code)
        results: dict[int, dict[str, float]] = {n: {} for n in range(1 + 2 * len(VALUE_COLUMNS))}
        for n, code_, value_ in self._execute(grouped):
            if value_ is not None and float(value_) != 0.0:
                results[n][code_] = float(value_)
        if results[0]:
            raise UnsupportedSql("its custom SQL sums a constant, not a value column")
        found = {c: results[1 + 2 * i] for i, c in enumerate(VALUE_COLUMNS) if results[1 + 2 * i]}
        if len(found) > 1:
            raise UnsupportedSql("its custom SQL mixes value columns")
        if not found:
            return CustomWeights("items", {})
        column, weights = next(iter(found.items()))
        doubled = results[2 + 2 * VALUE_COLUMNS.index(column)]
        if set(doubled) != set(weights) or any(
            abs(doubled[c] - 2 * w) > 1e-9 * max(1.0, abs(w)) for c, w in weights.items()
        ):
            raise UnsupportedSql("its custom SQL is not linear in one value column")
        return CustomWeights(column, weights)

    # -- coverage -----------------------------------------------------------------------------
    def unplaced(self, scope: Iterable[str], sql_text: str) -> list[str]:
        """Codes in ``scope`` the dictionary cannot place for this SQL: no VMP (directly, via an
        AMP or via the generic equivalent), or a VMP without the form/route, dose form,
        ingredient id or ingredient strength the SQL reads."""
        by_bnf = self.views.vmps_by_bnf()
        if self._vmps_of is None:
            self._vmps_of = {c: list(vs) for c, vs in by_bnf.items()}
            for amp in self.amps:
                self._vmps_of.setdefault(amp.bnf_code, []).append(self.views.vmps[amp.vmp])
        vmps_of = self._vmps_of
        text = sql_text.lower()
        needs_route = "form_route" in text or "ontformroute" in text
        needs_dform = "dform_form" in text
        needs_strength = "strnt_" in text
        needs_ing = "vpi.ing" in text or "bs_subid" in text or "i.ing" in text
        out = []
        for code in sorted(set(scope)):
            vmps = vmps_of.get(code) or by_bnf.get(generic_equivalent(code), [])
            if (
                not vmps
                or (needs_route and not any(v.form_routes for v in vmps))
                or (needs_dform and not any(v.dform for v in vmps))
                or (
                    needs_strength
                    and not any(g.num is not None for v in vmps for g in v.ingredients)
                )
                or (needs_ing and not any(g.ing for v in vmps for g in v.ingredients))
            ):
                out.append(code)
        return out

    def missing_ids(self, sql_text: str) -> list[str]:
        """Ingredient, VTM and VMP ids the SQL compares with that no row of our tables carries."""
        text = _strip_comments(sql_text)
        ids = {int(m) for m in re.findall(r"(?<![\w.'])(\d{6,18})(?![\w.'])", text)}
        if self._held is None:
            vmps = self.views.vmps.values()
            self._held = {g.ing for v in vmps for g in v.ingredients if g.ing}
            self._held |= {v.vtm for v in vmps if v.vtm} | set(self.views.vmps)
        held = self._held
        names = {i: k for k, i in INGREDIENTS.items()}
        return [f"{i} ({names[i]})" if i in names else str(i) for i in sorted(ids - held)]
