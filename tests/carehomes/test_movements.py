"""Residents' admissions, discharges and deaths (the home's records and the registration data),
and each resident's medicines changed since their last hospital discharge or structured
medication review with their open reviews and referrals (issue 17, item 1). Care-home staff
never see another home's residents. The app's clock is fixed: no test reads today."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from tests.carehomes.homes import ELM, add_elm_house

from ipmo.carehomes.actions import movements_view, record_registration_changes
from ipmo.carehomes.models import Movement
from ipmo.carehomes.movements import FIRST_LOOK, medication_changes, registration_changes
from ipmo.patients import Admission, Observation, Patient
from ipmo.records.adapters import from_csv
from ipmo.records.service import ingest
from ipmo.review.models import Intervention, MedicationReview
from ipmo.security.models import AuditEvent, User
from ipmo.security.principal import Principal
from ipmo.store import session_scope

DAY = date(2026, 11, 16)  # the app's today in every test here
ADA = "9990000018"  # Oak Lodge (VM001), the care-home user's home
BERT = "9990000026"  # not a care-home resident (yet)


class Line:
    """A current-list line as ``records.current_medications`` gives it: name, dose, match key."""

    def __init__(self, name: str, dose: str | None, key: str) -> None:
        self.name, self.dose_text, self.key = name, dose, key


# --- the registration data as a feed of movements (pure) -----------------------------------


def test_registration_newly_registered_resident_is_admitted_on_the_day_seen():
    assert registration_changes({1: None}, {}, DAY) == [(1, "admitted", DAY)]
    assert registration_changes({1: None}, {1: ("admitted", "registration")}, DAY) == []


def test_registration_resident_registered_elsewhere_is_discharged_on_the_day_seen():
    assert registration_changes({}, {1: ("admitted", "home")}, DAY) == [(1, "discharged", DAY)]
    assert registration_changes({}, {1: ("discharged", "home")}, DAY) == []


def test_registration_death_is_recorded_on_the_registered_date_of_death():
    died = date(2026, 11, 2)
    assert registration_changes({1: died}, {1: ("admitted", "home")}, DAY) == [(1, "died", died)]
    assert registration_changes({1: died}, {1: ("died", "home")}, DAY) == []


def test_home_recorded_discharge_stands_while_the_registration_lags():
    """The home says the resident left; the registration still shows them: not a re-admission.
    Registration that showed them gone and then back again is one."""
    assert registration_changes({1: None}, {1: ("discharged", "home")}, DAY) == []
    back = registration_changes({1: None}, {1: ("discharged", "registration")}, DAY)
    assert back == [(1, "admitted", DAY)]


def test_medication_changes_started_stopped_and_dose_changed():
    amlodipine, naproxen, sertraline = "vtm:amlodipine", "vtm:naproxen", "vtm:sertraline"
    then = [
        Line("Amlodipine 5mg tablets", "1 daily", amlodipine),
        Line("Naproxen", "1 bd", naproxen),
    ]
    now = [
        Line("Amlodipine 5mg tablets", "2 daily", amlodipine),
        Line("Sertraline 50mg tablets", "1 daily", sertraline),
    ]
    found = [(c.kind, c.name, c.before, c.after) for c in medication_changes(then, now)]
    assert found == [
        ("started", "Sertraline 50mg tablets", None, "1 daily"),
        ("stopped", "Naproxen", "1 bd", None),
        ("dose changed", "Amlodipine 5mg tablets", "1 daily", "2 daily"),
    ]


def test_medication_changes_none_when_the_record_matches_the_lines_by_its_key():
    """Differently named lines the reconciliation keyed as one medicine are not changes."""
    then = [Line("Amlodipine 5mg tablets", "1 daily", "vmp:1"), Line("Senna", None, "name:senna")]
    now = [Line("Amlodipine 5 mg tabs", "1 daily", "vmp:1"), Line("senna ", None, "name:senna")]
    assert medication_changes(then, now) == []


# --- the pages and the registration feed in the store ---------------------------------------


def _clock(client):
    client.app.state.clock = lambda: datetime(2026, 11, 16, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    return client


@pytest.fixture
def carer(sample_ics, client_as):
    with session_scope(sample_ics) as s:
        add_elm_house(s)
    return _clock(client_as("carehome"))


def _token(client) -> str:
    page = client.get("/carehomes/movements").text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def _moved(kind: str, when: date, resident: str = ADA, detail: str = "") -> dict[str, str]:
    return {"resident": resident, "kind": kind, "detail": detail, "moved_on[day]": str(when.day),
            "moved_on[month]": str(when.month), "moved_on[year]": str(when.year)}  # fmt: skip


def _movements(engine) -> list[tuple[str, str, date, str]]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Movement).order_by(Movement.id))
        return [(m.care_home_code, m.kind, m.moved_on, m.source) for m in rows]


def _audit(engine, action: str) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEvent.outcome).where(AuditEvent.action == action)))


def test_carer_records_a_discharge_and_sees_it_listed(carer, sample_ics):
    token = _token(carer)
    empty = carer.post("/carehomes/movements", data={"csrf_token": token, "resident": ADA})
    assert empty.status_code == 422 and 'href="#kind"' in empty.text
    future = carer.post(
        "/carehomes/movements",
        data={"csrf_token": token, **_moved("discharged", date(2026, 11, 17))},
    )
    assert future.status_code == 422 and 'href="#moved_on-day"' in future.text
    assert _movements(sample_ics) == []
    fields = _moved("discharged", date(2026, 11, 10), detail="to Example Teaching Hospitals")
    ok = carer.post("/carehomes/movements", data={"csrf_token": token, **fields})
    assert ok.status_code == 200 and "Recorded" in ok.text
    table = ok.text.split('id="movements"')[1]
    assert "Ada Smith" in table and "10 November 2026" in table and "Discharged" in table
    assert _movements(sample_ics) == [("VM001", "discharged", date(2026, 11, 10), "home")]
    again = carer.post("/carehomes/movements", data={"csrf_token": token, **fields})
    assert again.status_code == 200 and len(_movements(sample_ics)) == 1  # the same record
    # the resident's access and the record written, each time: all permitted
    assert set(_audit(sample_ics, "carehomes.movements.write")) == {"permitted"}


def test_another_homes_resident_cannot_be_recorded_and_is_audited(carer, sample_ics):
    token = _token(carer)
    sent = carer.post(
        "/carehomes/movements", data={"csrf_token": token, **_moved("died", DAY, resident=ELM)}
    )
    assert sent.status_code == 403 and _movements(sample_ics) == []
    assert _audit(sample_ics, "carehomes.movements.write") == ["refused"]


def test_registration_feed_first_look_then_admission_discharge_and_death(carer, sample_ics):
    with session_scope(sample_ics) as s:
        assert record_registration_changes(s, date(2026, 11, 1))["admitted"] == 2  # Ada, Elsie
    assert {m[3] for m in _movements(sample_ics)} == {FIRST_LOOK}  # not admissions
    with session_scope(sample_ics) as s:  # Bert comes to Oak Lodge; Ada moves to Elm House
        s.execute(update(Patient).where(Patient.nhs_number == BERT).values(care_home_code="VM001"))
        s.execute(update(Patient).where(Patient.nhs_number == ADA).values(care_home_code="VM002"))
        s.execute(
            update(Patient).where(Patient.nhs_number == ELM).values(date_of_death=date(2026, 11, 9))
        )
        counts = record_registration_changes(s, date(2026, 11, 12))
    assert counts == {"admitted": 2, "discharged": 1, "died": 1}
    with session_scope(sample_ics) as s:  # the same data again: nothing new
        assert sum(record_registration_changes(s, date(2026, 11, 13)).values()) == 0
    assert "permitted" in _audit(sample_ics, "carehomes.movements.registration")
    page = carer.get("/carehomes/movements").text
    table = page.split('id="movements"')[1]
    assert "Bert Jones" in table and "Seen in the registration data" in table
    # Ada is now Elm House's resident: Oak Lodge sees that a resident left, never who
    assert "A former resident" in table and "Ada" not in table
    assert "Elsie" not in table  # another home's death
    moch = _clock_free_view(sample_ics, "pcn.pharmacist")
    assert {(m.name, m.kind) for m in moch} >= {
        ("Ada Smith", "discharged"),
        ("Elsie Elmwood", "died"),
    }


def _clock_free_view(engine, username: str):
    with session_scope(engine) as s:
        principal = Principal.from_user(s.scalar(select(User).where(User.username == username)))
        return movements_view(s, principal, DAY)


def test_hospital_stays_of_residents_are_listed(carer, sample_ics):
    with session_scope(sample_ics) as s:
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        s.add(Admission(patient_id=ada, trust_code="RXX", admitted_on=date(2026, 10, 20),
                        discharged_on=date(2026, 10, 25), reason="fall"))  # fmt: skip
    table = carer.get("/carehomes/movements").text.split('id="movements"')[1]
    assert "Hospital discharge" in table and "25 October 2026" in table
    assert "Example Teaching Hospitals NHS Trust" in table
    assert "Hospital admission" in table and "20 October 2026" in table


GP_LIST = """nhs_number,source_kind,source_org_code,name,status,dose_text,authored_on,category,end_date,dmd_code
9990000018,gp,A10001,Amlodipine 5mg tablets,active,1 tablet once a day,2026-01-02,repeat,,900151
9990000018,gp,A10001,Naproxen 500mg tablets,active,1 tablet twice a day,2026-01-02,repeat,2026-11-10,900131
9990000018,gp,A10001,Sertraline 50mg tablets,active,1 tablet once a day,2026-11-02,repeat,,777
"""  # noqa: E501 - one CSV row per line


@pytest.fixture
def ada_record(carer, sample_ics):
    """Ada: in hospital 20–25 October 2026; on the GP list since: sertraline started on 2
    November, naproxen ending on 10 November."""
    with session_scope(sample_ics) as s:
        ingest(s, from_csv(GP_LIST))
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        s.add(Admission(patient_id=ada, trust_code="RXX", admitted_on=date(2026, 10, 20),
                        discharged_on=date(2026, 10, 25), reason="fall"))  # fmt: skip
    return sample_ics


def _changes(page: str) -> str:
    return page.split('id="changes-heading"')[1].split("Open reviews and referrals")[0]


def test_changes_since_the_last_hospital_discharge(carer, ada_record):
    page = carer.get(f"/carehomes/residents/{ADA}")
    changes = _changes(page.text)
    assert "Changed since the hospital discharge on 25 October 2026" in changes
    assert "Sertraline 50mg tablets" in changes and "Started" in changes
    assert "Naproxen 500mg tablets" in changes and "Stopped" in changes
    assert "Amlodipine" not in changes  # unchanged
    assert "permitted" in _audit(ada_record, "carehomes.changes.read")


def test_changes_since_a_later_structured_medication_review(carer, ada_record):
    with session_scope(ada_record) as s:
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        s.add(Observation(patient_id=ada, snomed_code="1239511000000100", kind="smr",
                          effective_date=date(2026, 11, 5)))  # fmt: skip
    changes = _changes(carer.get(f"/carehomes/residents/{ADA}").text)
    assert "Changed since the structured medication review on 5 November 2026" in changes
    assert "Naproxen 500mg tablets" in changes and "Sertraline" not in changes


def test_no_discharge_or_review_to_compare_from(carer, sample_ics):
    changes = _changes(carer.get(f"/carehomes/residents/{ADA}").text)
    assert "No hospital discharge or structured medication review on record" in changes


def test_resident_page_lists_open_review_actions_and_referrals(
    ada_record, client_as, open_pharmacies
):
    gp = _clock(client_as("gp"))
    sent = gp.post("/api/referrals", json={"service": "pharmacy-first", "nhs_number": ADA})
    assert sent.status_code == 201, sent.text
    with session_scope(ada_record) as s:
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        review = MedicationReview(patient_id=ada, reviewer="pcn.pharmacist",
                                  review_date=date(2026, 11, 5))  # fmt: skip
        review.interventions = [
            Intervention(kind="stop", medicine="Naproxen 500mg tablets", detail="GI risk"),
            Intervention(kind="stop", medicine="Senna", status="applied"),
        ]
        s.add(review)
    page = gp.get(f"/carehomes/residents/{ADA}").text
    items = page.split('id="open-items"')[1].split("</ul>")[0]
    assert "Naproxen 500mg tablets GI risk" in items and "Senna" not in items
    assert f"Referral {sent.json()['reference']}" in items
    # the care home is party to neither: it sees that there are none it can see
    carer = _clock(client_as("carehome"))
    assert "None you can see" in carer.get(f"/carehomes/residents/{ADA}").text


def test_care_home_staff_never_see_another_homes_resident_page(carer):
    assert carer.get(f"/carehomes/residents/{ELM}").status_code == 403
