"""Spec: the starter dictionary build (../shared/terminology/README.md rules) and the shipped
artifact."""

import csv
import gzip
import shutil

import pytest
from build_terminology import (
    ARTIFACT,
    QUARANTINE,
    SOURCES,
    BuildError,
    build_dictionary,
)

from ipmo.terminology.dictionary import DATA_DIR, Dictionary, read_artifact
from ipmo.terminology.verhoeff import is_valid_sctid

# A repaired id and its damaged spelling (README "Data quality" example; the rule finds one).
DAMAGED, REPAIRED = "10054111000001108", "10054111000001107"


@pytest.fixture(scope="module")
def mini_shared(tmp_path_factory, shared_dir):
    """A small ../shared with every kind of input the build reads."""
    root = tmp_path_factory.mktemp("mini") / "shared"
    lists = root / "terminology" / "public_codelists" / "org_repo"
    lists.mkdir(parents=True)
    (lists / "clean.csv").write_text(
        "dmd_type,dmd_id,dmd_name,bnf_code\n"
        "VMP,318902004,Ramipril 5mg capsules,0205051R0AAABAB\n"
        "AMP,3893411000001109,Tritace 5mg capsules,0205051R0BBABAB\n"
        "AMP,16603011000001103,Ramipril 5mg capsules,0205051R0AAABAB\n"
        f"VMP,{REPAIRED},Ramipril 10mg capsules,0205051R0AAACAC\n"
    )
    (lists / "damaged.csv").write_text(
        "code,term,dmd_id\n"
        f"{DAMAGED},,{DAMAGED}\n"
        "12816911000001100,Lost,12816911000001100\n"
        "37989911000001100,Janumet,37989911000001100\n"
    )
    (lists.parent / "INDEX.csv").write_text(
        "folder,file,kind,group,code_system,code_column,columns,rows,repo,commit,path,"
        "upstream_id,licence\n"
        "org_repo,clean.csv,medicine,x,dmd,dmd_id,,4,org/repo,abc,p,u,MIT\n"
        "org_repo,damaged.csv,medicine,x,dmd,dmd_id,,4,org/repo,abc,p,u,MIT\n"
    )
    pincer = root / "clinical" / "pincer" / "codelists"
    pincer.mkdir(parents=True)
    (pincer / "pincer-acei.csv").write_text(
        "id,term\n408051007,Ramipril 5mg tablets\n318902004,Ramipril 5mg capsules\n"
        "10831711000001105,VMP previous to 41770211000001103\n"
    )
    (pincer / "pincer-hf.csv").write_text("code,term\n84114007,Heart failure\n")
    epd = root / "peers" / "openprescribing" / "fixtures" / "epd_format"
    epd.mkdir(parents=True)
    shutil.copy(shared_dir / "peers/openprescribing/fixtures/epd_format/EPD_201601.csv", epd)
    fixtures = root / "peers" / "openprescribing" / "dmd_fixtures"
    shutil.copytree(shared_dir / "peers/openprescribing/dmd_fixtures/release_1",
                    fixtures / "release_1")  # fmt: skip
    shutil.copytree(shared_dir / "peers/openprescribing/dmd_fixtures/bnf_snomed_mapping",
                    fixtures / "bnf_snomed_mapping")  # fmt: skip
    return root


@pytest.fixture(scope="module")
def built(mini_shared, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    report = build_dictionary(mini_shared, out)
    return report, out, {r["id"]: r for r in read_artifact(out / ARTIFACT) if r["kind"] != "BNF"}


def test_spec_float_damaged_id_is_repaired_and_marked(built):
    report, out, rows = built
    assert DAMAGED not in rows
    assert rows[REPAIRED]["status"] == "clean"  # confirmed by the clean list too
    assert report.repaired == 1 and report.repaired_confirmed == 1


def test_spec_unrepairable_and_suspect_ids_are_quarantined(built):
    report, out, rows = built
    assert "12816911000001100" not in rows  # fails, no candidate
    assert "37989911000001100" not in rows  # passes by chance, only in a damaged file
    with gzip.open(out / QUARANTINE, "rt") as fh:
        reasons = {r["id"]: r["reason"] for r in csv.DictReader(fh)}
    assert reasons == {"12816911000001100": "no-candidate", "37989911000001100": "suspect"}
    assert report.quarantined == 2


def test_spec_previous_vmp_terms_become_mappings(built):
    _, out, rows = built
    assert rows["10831711000001105"]["kind"] == "MAP"
    assert rows["10831711000001105"]["new_id"] == "41770211000001103"


def test_spec_provenance_per_row(built, mini_shared):
    _, out, rows = built
    with (out / SOURCES).open() as fh:
        sources = {r["n"]: r["path"] for r in csv.DictReader(fh)}
    for row in read_artifact(out / ARTIFACT):
        assert row["sources"], row
        for n in row["sources"].split(";"):
            assert (mini_shared / sources[n]).exists()
    assert sources[rows["408051007"]["sources"]] == "clinical/pincer/codelists/pincer-acei.csv"
    assert "pincer-hf.csv" not in "".join(sources.values())  # a SNOMED condition list


def test_spec_amps_map_to_vmps(built):
    _, _, rows = built
    generic = rows["16603011000001103"]
    assert (generic["vmp_id"], generic["mapped_by"]) == ("318902004", "name")
    brand = rows["3893411000001109"]
    assert (brand["vmp_id"], brand["mapped_by"]) == ("318902004", "bnf")
    assert brand["vtm_id"] == "108564000"  # Ramipril, from the full VTM list


def test_spec_counts_and_bnf_presentations_from_epd(built):
    report, out, _ = built
    assert report.counts["VTM"] == 2859 and report.counts["AMP"] == 2 + 15
    bnf = {r["id"]: r["name"] for r in read_artifact(out / ARTIFACT) if r["kind"] == "BNF"}
    assert bnf["0202010B0AAABAB"] == "Bendroflumethiazide_Tab 2.5mg"


def test_spec_build_is_reproducible(mini_shared, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build_dictionary(mini_shared, a)
    build_dictionary(mini_shared, b)
    for name in (ARTIFACT, SOURCES, QUARANTINE):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_unknown_codelist_columns_name_the_file(mini_shared, tmp_path):
    shared = tmp_path / "shared"
    shutil.copytree(mini_shared, shared)
    bad = shared / "terminology" / "public_codelists" / "org_repo" / "clean.csv"
    bad.write_text("drug,label\n1,x\n")
    with pytest.raises(BuildError, match=r"clean\.csv:1: unknown columns"):
        build_dictionary(shared, tmp_path / "out")


def test_shipped_artifact_is_commit_sized_and_complete():
    size = (DATA_DIR / ARTIFACT).stat().st_size
    assert size < 5_000_000
    d = Dictionary.load()
    assert len(d.rows) > 30_000 and len(d.bnf) > 5_000
    assert all(is_valid_sctid(i) for i in d.rows)
    assert all(r["sources"] for r in d.rows.values())


def test_shipped_dictionary_lookups():
    d = Dictionary.load()
    atorva = d.lookup("39695411000001103")  # re-coded atorvastatin 10 mg (shared README)
    assert atorva.level == "VMP" and atorva.name == "Atorvastatin 10mg tablets"
    assert atorva.bnf_code == "0212000B0AAAAAA" and atorva.route == "Oral"
    old = d.lookup("318338001")  # VPIDPREV of adenosine 6mg/2ml vials (dm+d fixture)
    assert old.id == "35894711000001106" and old.replaced_id == "318338001"
    voltarol = d.lookup("22479611000001102")
    assert voltarol.level == "AMP" and voltarol.vmp_id == "22480211000001104"
    assert d.resolve_to_vmp_vtm("22479611000001102") == ("22480211000001104", "32889211000001103")
    assert d.lookup("12345678") is None


def test_shipped_dictionary_search_and_name_match():
    d = Dictionary.load()
    found = d.search("ramipril 5mg", limit=5)
    assert found and all("ramipril" in c.name.lower() and "5mg" in c.name for c in found)
    assert [c.level for c in found] == sorted(
        (c.level for c in found), key=["VTM", "VMP", "AMP"].index
    )
    assert {m.name for m in d.match_by_name("RAMIPRIL 5MG CAPS")} == {"Ramipril 5mg capsules"}
