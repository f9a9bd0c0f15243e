"""Spec: the dm+d importer against OpenPrescribing's release fixtures and the expected results
in ../shared/peers/openprescribing/dmd_fixtures/README.md (from dmd/tests/test_import_dmd.py)."""

import shutil

import pytest
from sqlalchemy import func, select

from ipmo.store import session_scope
from ipmo.terminology import lookup, resolve_to_vmp_vtm
from ipmo.terminology.dmd_xml import DmdImportError, import_release, parse_release
from ipmo.terminology.models import DmdAmp, DmdAmpp, DmdCodeMap, DmdVmp, DmdVmpp, DmdVtm


@pytest.fixture
def fixtures(shared_dir):
    return shared_dir / "peers" / "openprescribing" / "dmd_fixtures"


@pytest.fixture
def mapping(fixtures):
    return fixtures / "bnf_snomed_mapping" / "mapping.xlsx"


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_spec_object_counts(engine, fixtures, mapping):
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_1", bnf_mapping=mapping)
    with session_scope(engine) as s:
        assert [_count(s, m) for m in (DmdVmp, DmdVmpp, DmdAmp, DmdAmpp)] == [7, 14, 15, 26]
        assert _count(s, DmdVtm) == 2859  # the full VTM list (README table)


def test_spec_fields(engine, fixtures, mapping):
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_1", bnf_mapping=mapping)
        vmp = s.get(DmdVmp, "22480211000001104")
        assert vmp.name == "Diclofenac 2.32% gel"
        assert len(s.scalars(select(DmdVmpp).where(DmdVmpp.vmp_id == vmp.id)).all()) == 3
        assert len(s.scalars(select(DmdAmp).where(DmdAmp.vmp_id == vmp.id)).all()) == 3
        vmpp = s.get(DmdVmpp, "22479511000001101")
        assert vmpp.name == "Diclofenac 2.32% gel 30 gram" and vmpp.qty_unit == "gram"
        assert len(s.scalars(select(DmdAmpp).where(DmdAmpp.vmpp_id == vmpp.id)).all()) == 3
        amp = s.get(DmdAmp, "29915211000001103")
        assert amp.description == "Diclofenac 2.32% gel (Colorama Pharmaceuticals Ltd)"
        assert amp.supplier == "Colorama Pharmaceuticals Ltd"
        assert amp.bnf_code is None
        assert len(s.scalars(select(DmdAmpp).where(DmdAmpp.amp_id == amp.id)).all()) == 2
        assert s.get(DmdAmpp, "29915311000001106").legal_category == "P"


def test_spec_bnf_codes(engine, fixtures, mapping):
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_1", bnf_mapping=mapping)
        assert s.get(DmdAmp, "22479611000001102").bnf_code == "1003020U0BBADAI"
        assert s.get(DmdAmpp, "22479911000001108").bnf_code == "1003020U0BBADAI"
        assert s.get(DmdVmp, "35894711000001106").bnf_code == "0203020C0AAAAAA"
        assert s.get(DmdVmp, "22480211000001104").bnf_code == "1003020U0AAAIAI"


def test_spec_vmps_with_no_bnf_code(fixtures, mapping):
    release = parse_release(fixtures / "release_1", mapping)
    assert release.stats["vmps-with-no-bnf-code"] == 1  # Generic Nutrison liquid


def test_vmp_bnf_code_inferred_from_its_vmpps(fixtures, tmp_path):
    """A VMP with no code of its own takes the one its VMPPs share (OpenPrescribing rule)."""
    release = tmp_path / "r"
    shutil.copytree(fixtures / "release_1", release)
    (release / "f_bnf1_0000000.xml").write_text(
        "<BNF_DETAILS><VMPPS><VMPP><VPPID>34516311000001106</VPPID><BNF>0203020C0AAAAAA</BNF>"
        "</VMPP></VMPPS></BNF_DETAILS>"
    )
    parsed = parse_release(release)
    vmp = next(v for v in parsed.vmps if v["id"] == "35894711000001106")
    assert vmp["bnf_code"] == "0203020C0AAAAAA"
    assert parsed.stats["vmps-with-inferred-bnf-code"] == 1


def test_spec_release_2_previous_vpid(engine, fixtures, mapping):
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_1", bnf_mapping=mapping)
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_2", bnf_mapping=mapping)
    with session_scope(engine) as s:
        assert s.get(DmdVmp, "22480211000001104") is None
        assert s.get(DmdVmp, "12345").prev_id == "22480211000001104"
        assert s.get(DmdVmpp, "22479511000001101").vmp_id == "12345"
        assert s.get(DmdAmp, "22479611000001102").vmp_id == "12345"
        assert s.get(DmdCodeMap, "22480211000001104").new_id == "12345"
        old = lookup(s, "22480211000001104")
        assert old.id == "12345" and old.replaced_id == "22480211000001104"
        assert resolve_to_vmp_vtm(s, "22479611000001102") == ("12345", "32889211000001103")


def _broken_copy(fixtures, tmp_path, name, cut):
    release = tmp_path / "broken"
    shutil.copytree(fixtures / "release_1", release)
    path = next(release.glob(f"{name}*.xml"))
    path.write_bytes(cut(path.read_bytes()))
    return release, path


def test_truncated_xml_names_file_and_line_and_writes_nothing(engine, fixtures, tmp_path):
    release, path = _broken_copy(fixtures, tmp_path, "f_amp2_", lambda b: b[: len(b) // 2])
    with pytest.raises(DmdImportError) as err, session_scope(engine) as s:
        import_release(s, release)
    msg = str(err.value)
    assert msg.startswith(f"{path.name}:") and "\n" not in msg
    assert int(msg.split(":")[1]) > 1
    with session_scope(engine) as s:
        assert _count(s, DmdVtm) == 0 and _count(s, DmdVmp) == 0


def test_malformed_xml_reports_the_line(fixtures, tmp_path):
    def corrupt(b: bytes) -> bytes:
        lines = b.split(b"\n")
        lines[9] = b"<VMP><VPID>1</VPID></BROKEN>"
        return b"\n".join(lines)

    release, path = _broken_copy(fixtures, tmp_path, "f_vmp2_", corrupt)
    with pytest.raises(DmdImportError, match=rf"^{path.name}:10: malformed XML"):
        parse_release(release)


def test_entity_declarations_are_refused(fixtures, tmp_path):
    def evil(b: bytes) -> bytes:
        return (
            b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n' + b
        )

    release, path = _broken_copy(fixtures, tmp_path, "f_vtm2_", evil)
    with pytest.raises(DmdImportError, match="DOCTYPE"):
        parse_release(release)


def test_folder_without_release_files(tmp_path):
    with pytest.raises(DmdImportError, match="f_vtm2_"):
        parse_release(tmp_path)


def test_replace_clears_previous_rows(engine, fixtures, mapping):
    with session_scope(engine) as s:
        s.add(DmdVmp(id="999999999", name="Old thing"))
    with session_scope(engine) as s:
        import_release(s, fixtures / "release_1", bnf_mapping=mapping, replace=True)
    with session_scope(engine) as s:
        assert s.get(DmdVmp, "999999999") is None and _count(s, DmdVmp) == 7
