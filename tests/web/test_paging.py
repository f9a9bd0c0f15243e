"""Long lists page with an honest count (issue 14: lists were silently cut at 200)."""

import re
from datetime import date

from ipmo.patients import Patient
from ipmo.review.models import WorklistEntry
from ipmo.store import session_scope
from ipmo.web.paging import page_from

HTML = {"accept": "text/html"}


def _worklist(engine, n: int) -> None:
    """``n`` patients of Riverside Medical Centre on the worklist, scores n … 1; every third has
    PINCER-A."""
    with session_scope(engine) as s:
        for i in range(n):
            p = Patient(
                nhs_number=f"{9100000000 + i:010d}",
                given_name=f"P{i:03d}",
                family_name="Paging",
                birth_date=date(1950, 1, 1),
                sex="female",
                practice_code="A10001",
            )
            s.add(p)
            s.flush()
            rules = ["SMR-POLYPHARMACY-10"] + (["PINCER-A"] if i % 3 == 0 else [])
            s.add(
                WorklistEntry(
                    patient_id=p.id,
                    practice_code="A10001",
                    pcn_code="U10001",
                    score=n - i,
                    reasons=["10 or more medicines"],
                    rule_ids=rules,
                    as_of=date(2026, 12, 1),
                )
            )


def _names(html: str) -> list[str]:
    return re.findall(r">(P\d{3}) Paging</a>", html)


def test_worklist_pages_with_an_honest_count(sample_ics, client_as):
    _worklist(sample_ics, 120)
    c = client_as("pcn.pharmacist")
    first = c.get("/review/worklist", headers=HTML).text
    assert "Showing 1 to 50 of 120 patients" in first
    assert _names(first) == [f"P{i:03d}" for i in range(50)]  # highest score first
    assert 'href="/review/worklist?page=2"' in first
    last = c.get("/review/worklist?page=3", headers=HTML).text
    assert "Showing 101 to 120 of 120 patients" in last
    assert _names(last) == [f"P{i:03d}" for i in range(100, 120)]
    assert 'class="nhsuk-pagination' in last


def test_worklist_count_follows_the_filters(sample_ics, client_as):
    _worklist(sample_ics, 120)
    html = client_as("pcn.pharmacist").get("/review/worklist?rule=PINCER-A", headers=HTML).text
    assert "40 patients" in html and "Showing" not in html  # one page: no "1 to 40 of"
    assert len(_names(html)) == 40 and "nhsuk-pagination" not in html
    page2 = client_as("pcn.pharmacist").get("/review/worklist?rule=PINCER-A&page=9", headers=HTML)
    assert page2.status_code == 200 and _names(page2.text) == []


def test_page_numbers_that_are_not_numbers_are_page_one():
    assert page_from("x").number == 1 and page_from("-3").number == 1
    assert page_from("2").offset == 50


def test_worklist_filters_offer_names_not_codes(sample_ics, client_as):
    _worklist(sample_ics, 3)
    html = client_as("pcn.pharmacist").get("/review/worklist", headers=HTML).text
    assert '<option value="A10001">Riverside Medical Centre</option>' in html
    assert "Practice ODS code" not in html
    picked = client_as("pcn.pharmacist").get("/review/worklist?practice=A10001", headers=HTML)
    assert '<option value="A10001" selected>Riverside Medical Centre</option>' in picked.text
    assert "3 patients" in picked.text
