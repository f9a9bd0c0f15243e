"""ICS-defined measures in YAML: validated with errors naming file and field, compiled to the
OpenPrescribing definition shape, run by the same engine, selectable from the CLI."""

from __future__ import annotations

import csv
import io
import textwrap
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from ipmo.analytics.compute.service import compute
from ipmo.analytics.ingest import datastore
from ipmo.analytics.ingest.epd import ingest_epd
from ipmo.analytics.measures.ics_measures import (
    IcsMeasureError,
    load_ics_measure,
    load_ics_measures,
    shipped_dir,
)
from ipmo.analytics.planning.ipmo_measures import shipped_measure_ids
from ipmo.cli import app

EPD = "peers/openprescribing/fixtures/epd_format/epd_201709_e2e_4practices.csv"
GOOD = textwrap.dedent("""\
    name: Trimethoprim share
    description: Trimethoprim items as a share of trimethoprim and nitrofurantoin items.
    source: NICE NG109 (lower UTI), nitrofurantoin first line.
    numerator:
      type: items
      bnf: ["0501080W0"]
    denominator:
      type: items
      bnf: ["0501080W0", "0501130R0"]
      exclude: ["0501130R0AAAJAJ"]
    is_percentage: true
    low_is_good: true
    tags: [antimicrobial]
""")


def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_examples_compile_to_openprescribing_side_types():
    measures = load_ics_measures(reserved=shipped_measure_ids())
    assert len(measures) >= 2
    broad = measures["ics_broad_spectrum_antibiotics"]
    assert broad.is_percentage and broad.low_is_good is True
    assert broad.numerator.type == broad.denominator.type == "bnf_items"
    assert broad.numerator.codes_filter == ("0501013K0", "0501021", "0501120")
    per_1000 = measures["ics_gabapentinoids_per_1000"]
    assert per_1000.denominator.type == "list_size" and not per_1000.is_percentage
    assert measures["ics_gabapentinoids_cost_per_1000"].numerator.type == "bnf_cost"
    assert all("ics" in m.tags and m.raw["source"] for m in measures.values())


def test_id_defaults_to_the_file_name_and_excludes_become_tilde_terms(tmp_path):
    definition = load_ics_measure(_write(tmp_path, "trimethoprim-share.yaml", GOOD))
    assert definition.id == "trimethoprim_share"
    assert definition.title == "Trimethoprim share"  # title defaults to name
    assert definition.denominator.codes_filter == ("0501080W0", "0501130R0", "~0501130R0AAAJAJ")
    assert definition.tags == ("antimicrobial", "ics")


def test_ics_measure_runs_through_the_engine_with_raw_epd_counts(shared_dir, tmp_path):
    folder = tmp_path / "ics"
    folder.mkdir()
    _write(folder, "trimethoprim_share.yaml", GOOD)
    root = tmp_path / "data"
    ingest_epd([shared_dir / EPD], root)
    definitions = list(load_ics_measures([folder]).values())
    run = compute(datastore.connect_duckdb(root), definitions, levels=("practice",))
    num: dict[str, int] = defaultdict(int)
    den: dict[str, int] = defaultdict(int)
    with (shared_dir / EPD).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code, items = row["BNF_CODE"], int(row["ITEMS"])
            if code.startswith("0501080W0"):
                num[row["PRACTICE_CODE"]] += items
            if code.startswith(("0501080W0", "0501130R0")) and code != "0501130R0AAAJAJ":
                den[row["PRACTICE_CODE"]] += items
    rows = [r for r in run.results.values.to_pylist() if r["measure"] == "trimethoprim_share"]
    assert len(rows) == 4
    for r in rows:
        assert (r["numerator"], r["denominator"]) == (num[r["org_code"]], den[r["org_code"]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("numerator:", "numerater:"), r"numerater is not a known field"),
        (GOOD.replace("source: NICE NG109 (lower UTI), nitrofurantoin first line.", ""),
         r"missing source"),
        (GOOD.replace('["0501080W0"]', '["0501080W0", "05.1.8"]'),
         r"numerator\.bnf\[1\]: '05\.1\.8' is not a BNF code prefix"),
        (GOOD.replace("type: items\n  bnf: [\"0501080W0\"]", "type: pills\n  bnf: [\"0501080W0\"]"),
         r"numerator\.type 'pills' is not one of items, quantity, cost"),
        (GOOD.replace("  exclude", "  exlude"), r"denominator\.exlude is not a known field"),
        (GOOD.replace("is_percentage: true", "is_percentage: yes please"),
         r"is_percentage must be true or false"),
        (GOOD.replace("low_is_good: true", "low_is_good: true\nlow_is_good: false"),
         r"key 'low_is_good' is given twice"),
        (GOOD + "id: Bad Id\n", r"id 'Bad Id' must be"),
    ],
)  # fmt: skip
def test_bad_field_is_refused_naming_file_and_field(tmp_path, text, message):
    path = _write(tmp_path, "measure.yaml", text)
    with pytest.raises(IcsMeasureError, match=rf"measure\.yaml.*{message}"):
        load_ics_measure(path)


def test_invalid_yaml_is_refused_with_the_line(tmp_path):
    path = _write(tmp_path, "broken.yaml", GOOD.replace("tags: [antimicrobial]", "tags: [x"))
    with pytest.raises(IcsMeasureError, match=r"broken\.yaml, line \d+: invalid YAML"):
        load_ics_measure(path)


def test_percentage_over_list_size_is_refused(tmp_path):
    text = GOOD.replace(
        'denominator:\n  type: items\n  bnf: ["0501080W0", "0501130R0"]\n'
        '  exclude: ["0501130R0AAAJAJ"]\n',
        "denominator:\n  type: list_size\n",
    )
    assert "type: list_size" in text
    path = _write(tmp_path, "share.yaml", text)
    with pytest.raises(
        IcsMeasureError, match=r"share\.yaml: is_percentage is true but .*list_size"
    ):
        load_ics_measure(path)


def test_an_id_taken_by_openprescribing_or_another_file_is_refused(tmp_path):
    _write(tmp_path, "trimethoprim.yaml", GOOD)
    with pytest.raises(IcsMeasureError, match=r"'trimethoprim' is already used by an OpenPrescr"):
        load_ics_measures([tmp_path], reserved=shipped_measure_ids())
    (tmp_path / "trimethoprim.yaml").unlink()
    _write(tmp_path, "a.yaml", GOOD + "id: same_id\n")
    _write(tmp_path, "b.yml", GOOD + "id: same_id\n")
    with pytest.raises(IcsMeasureError, match=r"b\.yml: id 'same_id' is already used by .*a\.yaml"):
        load_ics_measures([tmp_path])


def test_why_it_matters_text_is_escaped_for_the_html_page(tmp_path):
    text = GOOD + "why_it_matters: <script>alert(1)</script> & more\n"
    definition = load_ics_measure(_write(tmp_path, "escaped.yaml", text))
    assert definition.raw["why_it_matters"] == ["&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"]


def test_cli_measures_adds_the_ics_folder(shared_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("IPMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPMO_SECRET_KEY", "test")
    folder = tmp_path / "ics"
    folder.mkdir()
    _write(folder, "trimethoprim_share.yaml", GOOD)
    runner = CliRunner()
    result = runner.invoke(app, ["analytics", "ingest-epd", "--quiet", str(shared_dir / EPD)])
    assert result.exit_code == 0, result.output
    args = ["analytics", "measures", "--quiet", "--org-type", "practice"]
    result = runner.invoke(
        app, [*args, "--measure", "trimethoprim_share", "--ics-measures", str(folder)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["measure"] for r in rows} == {"trimethoprim_share"} and len(rows) == 4
    # without the folder the id is unknown
    result = runner.invoke(app, [*args, "--measure", "trimethoprim_share"])
    assert result.exit_code == 2 and "unknown measure trimethoprim_share" in result.output
    # a bad file in the folder stops the run before anything is printed
    _write(folder, "zz_bad.yaml", GOOD.replace("numerator:", "numerater:"))
    result = runner.invoke(
        app, [*args, "--measure", "trimethoprim_share", "--ics-measures", str(folder)]
    )
    assert result.exit_code == 2
    assert "zz_bad.yaml: numerater is not a known field" in result.output
    assert "measure,org_type" not in result.stdout  # nothing half-written


def test_shipped_folder_holds_only_valid_examples():
    files = sorted(p.name for p in shipped_dir().glob("*.y*ml"))
    assert files and all(load_ics_measure(shipped_dir() / f).raw["source"] for f in files)


def test_an_ics_folder_in_the_analytics_data_dir_is_added_to_ipmo_measures(tmp_path):
    from ipmo.analytics.planning.ipmo_measures import ics_folders, ipmo_definitions

    assert ics_folders(tmp_path) == [shipped_dir()]  # no folder of its own yet
    own = tmp_path / "ics_measures"
    own.mkdir()
    _write(own, "trimethoprim_share.yaml", GOOD)
    assert ics_folders(tmp_path) == [shipped_dir(), own]
    ids = {d.id for d in ipmo_definitions({}, ics_folders(tmp_path))}
    assert {"trimethoprim_share", "ics_broad_spectrum_antibiotics"} <= ids
