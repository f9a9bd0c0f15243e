"""The batch ingest's fast paths give what the careful ones give.

The CSV export is read column-wise by Arrow when the file is plain, row by row otherwise
(``administrations._arrow_rows`` / ``_rows_one_by_one``); PostgreSQL receives the rows as COPY
text formatted by ipmo (``ingest._copy``), SQLite through ``executemany``."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tests.carehomes.homes import ELM, add_elm_house

from ipmo.carehomes.actions import emar_feed, ingest_rows
from ipmo.carehomes.administrations import _arrow_rows, _NotPlain, _rows_one_by_one, csv_rows
from ipmo.carehomes.models import AdministrationRow
from ipmo.fhir.versions import FhirInputError
from ipmo.organisations import Organisation, OrgKind
from ipmo.store import init_store, session_scope

NHS = "9000000009"
FULL = (
    "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,scheduled_at,reason,"
    "dose_value,dose_unit,route,prn,covert\n"
)
SHORT = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at\n"
T = "2026-03-01T08:00:00Z"

# files the column reader must read itself, each as the row reader does
PLAIN = {
    "every column": FULL
    + f"a1,{NHS},111,Paracetamol 500mg tablets,given,{T},{T},,1,tablet,Oral,Y,N\n"
    + f"a2,{NHS},222,Sertraline,Refused,2026-03-01T09:05:00+01:00,{T},spat out,,,,n,yes\n",
    "required columns only, CRLF": SHORT.replace("\n", "\r\n") + f"a1,{NHS},111,P,withheld,{T}\r\n",
    "spaces around values (str.strip's, not only ASCII)": SHORT
    + f" a1 ,\xa0{NHS}\t,111 , P\u2003,GIVEN , {T}\x1f\n",
    "quoted values with commas, quotes and a line break": FULL
    + f'a1,{NHS},111,"Co-codamol 30mg/500mg, ""effervescent""",omitted,{T},,"out of\nstock",'
    + ",,,,\n",
    "a byte-order mark, columns in another order, a blank last line": "\ufeff"
    + "outcome,at,nhs_number,medicine_code,medicine_name,administration_id,covert\n"
    + f"given,{T},{NHS},111,P,a1,Y\n\n",
    "header only": FULL,
    "a blank line between rows": SHORT + f"a1,{NHS},111,P,given,{T}\n\na2,{NHS},111,P,given,{T}\n",
}
# files it hands to the row reader: the outcome is the row reader's (rows or its refusal)
NOT_PLAIN = {
    "a short row": SHORT + f"a1,{NHS},111,P,given\n",
    "an unknown column": SHORT.strip() + ",ward\n" + f"a1,{NHS},111,P,given,{T},7\n",
    "a header name with spaces": SHORT.replace("outcome", " outcome ")
    + f"a1,{NHS},111,P,given,{T}\n",
    "a bad NHS number": SHORT + f"a1,9000000001,111,P,given,{T}\n",
    "no time zone": SHORT + f"a1,{NHS},111,P,given,2026-03-01T08:00:00\n",
    "an empty identifier": SHORT + f" ,{NHS},111,P,given,{T}\n",
    "a bad flag": FULL + f"a1,{NHS},111,P,given,{T},,,,,,maybe,N\n",
    "a negative dose": FULL + f"a1,{NHS},111,P,given,{T},,,-1,,,N,N\n",
    "a duplicated column": SHORT.strip() + ",at\n" + f"a1,{NHS},111,P,given,{T},{T}\n",
    "empty": "",
}


def _row_reader(data: str | bytes) -> list | str:
    try:
        return _rows_one_by_one(data, "home.csv")
    except FhirInputError as exc:
        return str(exc)


@pytest.mark.parametrize("name", PLAIN)
def test_column_reader_reads_a_plain_file_as_the_row_reader_does(name):
    data = PLAIN[name]
    expected = _row_reader(data)
    assert isinstance(expected, list)
    assert _arrow_rows(data) == expected
    assert _arrow_rows(data.encode()) == expected
    assert csv_rows(data, "home.csv") == expected


@pytest.mark.parametrize("name", NOT_PLAIN)
def test_anything_else_is_left_to_the_row_reader(name):
    data = NOT_PLAIN[name]
    with pytest.raises(_NotPlain):
        _arrow_rows(data)
    try:
        got: list | str = csv_rows(data, "home.csv")
    except FhirInputError as exc:
        got = str(exc)
    assert got == _row_reader(data)


def test_a_blank_line_between_rows_is_skipped_and_a_bad_row_named():
    assert len(csv_rows(PLAIN["a blank line between rows"])) == 2
    with pytest.raises(FhirInputError, match="home.csv row 2: 5 fields, the header has 6"):
        csv_rows(NOT_PLAIN["a short row"], "home.csv")  # once an IndexError (a server error)
    with pytest.raises(FhirInputError, match="home.csv row 2: nhs_number is not valid"):
        csv_rows(NOT_PLAIN["a bad NHS number"], "home.csv")


def test_values_with_copy_escapes_are_stored_as_sent(any_engine):
    """COPY's text format escapes backslash, tab, line breaks; \\N is its NULL; a dose of 1.0,
    a PRN flag (True) and the import id 1 are not mixed up."""
    init_store(any_engine)
    with session_scope(any_engine) as s:
        s.add(Organisation(ods_code="A10001", name="Practice", kind=OrgKind.PRACTICE))
        add_elm_house(s)
    odd = 'a\\1,{nhs},111,"Name\\N\tx",given,{t},,"line\r\nbreak \\N",1,\\N,Oral,Y,N\n'
    plain = "a2,{nhs},111,Name,refused,{t},,,1.5,mL,,N,Y\n"
    data = FULL + odd.format(nhs=ELM, t=T) + plain.format(nhs=ELM, t="2026-03-01T13:00:00Z")
    now = datetime(2026, 3, 2, tzinfo=UTC)
    with session_scope(any_engine) as s:
        result = ingest_rows(s, emar_feed("VM002"), "VM002", csv_rows(data), "csv", now)
    assert result.added == 2
    t = AdministrationRow
    with session_scope(any_engine) as s:
        stored = s.execute(
            select(
                t.identifier,
                t.medicine_name,
                t.reason,
                t.dose_value,
                t.dose_unit,
                t.route,
                t.prn,
                t.covert,
                t.not_on_record,
                t.at,
                t.scheduled_at,
                t.dose_round,
            ).order_by(t.at)
        ).all()
    eight, one = datetime(2026, 3, 1, 8), datetime(2026, 3, 1, 13)
    assert [tuple(r) for r in stored] == [
        ("a\\1", "Name\\N\tx", "line\r\nbreak \\N", 1.0, "\\N", "Oral", True, False, True)
        + (eight, None, eight),
        ("a2", "Name", None, 1.5, "mL", None, False, True, True, one, None, one),
    ]
