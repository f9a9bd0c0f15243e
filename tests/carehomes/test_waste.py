"""Care-home medicines waste (issue 17): returns and destruction recorded by the home, supplied
(EPS dispense notifications) vs administered (eMAR) vs wasted per medicine per month, its cost at
dm+d Drug Tariff prices ("no price" otherwise), and the stop-ordering rules (ipmo's thresholds;
NICE SC1 1.16, PrescQIPP care-home ordering guidance)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.carehomes.homes import ELM, add_elm_house

from ipmo.carehomes.actions import (
    NotYourHome,
    WasteConflict,
    WasteInputError,
    emar_feed,
    ingest_rows,
    record_waste,
    waste_view,
)
from ipmo.carehomes.administrations import csv_rows
from ipmo.carehomes.models import MedicineWaste
from ipmo.carehomes.waste import (
    EmarHistory,
    MedicineMonth,
    Resident,
    month_totals,
    stop_ordering,
)
from ipmo.patients import MedicationIssue, Patient
from ipmo.prescriptions.models import Prescription, PrescriptionEvent, PrescriptionItem
from ipmo.security import ROLES, PatientAccessDenied, Principal
from ipmo.security.models import AuditEvent
from ipmo.store import session_scope
from ipmo.terminology.models import DmdVmp, DmdVmpp

DAY = date(2026, 6, 15)  # the figures' day in the action-level tests: months 2026-04, 2026-05
NOON = datetime(2026, 6, 15, 12, tzinfo=UTC)  # the app's clock in the API and page tests
ADA = "9990000018"  # Oak Lodge (VM001)
SERTRALINE = "39109611000001103"  # a VMP code (dm+d), priced below
HEADER = "administration_id,nhs_number,medicine_code,medicine_name,outcome,at,prn\n"
OAK = Principal(1, "oak.staff", "Oak staff", ROLES["care-home-staff"], "VM001")
ELM_STAFF = Principal(2, "elm.staff", "Elm staff", ROLES["care-home-staff"], "VM002")


def _waste(**overrides):
    fields = {
        "medicine_code": SERTRALINE,
        "medicine_name": "Sertraline 50mg tablets",
        "quantity": 14.0,
        "unit": "tablet",
        "disposal": "returned",
        "disposed_on": date(2026, 5, 20),
        "reason": "Stopped by the GP",
        "key": "OAK-2026-05-001",
        "today": DAY,
    }
    return fields | overrides


@pytest.fixture
def homes(sample_ics):
    with session_scope(sample_ics) as s:
        add_elm_house(s)
        ada = s.scalar(select(Patient.id).where(Patient.nhs_number == ADA))
        s.add(
            MedicationIssue(
                patient_id=ada,
                dmd_code=SERTRALINE,
                name="Sertraline 50mg tablets",
                issue_date=date(2026, 3, 1),
                issue_type="repeat",
            )
        )
    return sample_ics


def _supply(s, n: int, nhs: str, code: str, name: str, quantity: str, at: datetime) -> None:
    """An EPS prescription dispensed in full at ``at`` (the store as dispense notifications
    leave it: item status 0001, a 'dispensed' timeline step)."""
    p = Prescription(prescription_id=f"P{n:05d}", nhs_number=nhs, status_code="0006")
    p.dispenser_org = "FA001"
    s.add(p)
    s.flush()
    s.add(
        PrescriptionItem(
            prescription_pk=p.id,
            line_item_id=f"L{n}",
            name=name,
            code=code,
            quantity=quantity,
            status_code="0001",
        )
    )
    s.add(PrescriptionEvent(prescription_pk=p.id, at=at, kind="dispensed", status_to="0006"))


def _given(engine, rows: list[str], home: str = "VM001") -> None:
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    with session_scope(engine) as s:
        ingest_rows(s, emar_feed(home), home, csv_rows(HEADER + "\n".join(rows)), "csv", now)


# --- recording returns and destruction ------------------------------------------------------


def test_waste_record_is_idempotent_on_the_homes_reference(homes):
    with session_scope(homes) as s:
        row, created = record_waste(s, OAK, ADA, **_waste())
        assert created and not row.not_on_record
        again, created_again = record_waste(s, OAK, ADA, **_waste())
        assert (again.id, created_again) == (row.id, False)
        with pytest.raises(WasteConflict, match="^key:"):
            record_waste(s, OAK, ADA, **_waste(quantity=15.0))
        assert s.scalar(select(func.count()).select_from(MedicineWaste)) == 1
    with session_scope(homes) as s:  # audit entries are written when the unit of work ends
        audited = s.scalars(
            select(AuditEvent.outcome).where(AuditEvent.action == "carehomes.waste.write")
        ).all()
        assert "permitted" in audited


def test_waste_of_a_medicine_not_on_the_gp_record_is_kept_and_flagged(homes):
    with session_scope(homes) as s:
        row, _ = record_waste(s, OAK, ADA, **_waste(medicine_code="777", key="k2"))
        assert row.not_on_record and row.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"disposed_on": DAY + timedelta(days=1)}, "disposed_on"),
        ({"quantity": 0.0}, "quantity"),
        ({"quantity": -3.0}, "quantity"),
        ({"disposal": "lost"}, "disposal"),
        ({"medicine_code": ""}, "medicine_code"),
        ({"medicine_code": "abc"}, "medicine_code"),
        ({"unit": " "}, "unit"),
        ({"reason": ""}, "reason"),
        ({"key": ""}, "key"),
    ],
)
def test_bad_waste_input_is_refused_naming_the_field_and_nothing_written(homes, change, field):
    with session_scope(homes) as s:
        with pytest.raises(WasteInputError, match=f"^{field}:"):
            record_waste(s, OAK, ADA, **_waste(**change))
        assert s.scalar(select(func.count()).select_from(MedicineWaste)) == 0


def test_unknown_resident_and_another_homes_resident_are_refused_and_audited(homes):
    for nhs in (ELM, "9990000026", "9000000009"):  # other home; not a resident; unknown
        with pytest.raises(PatientAccessDenied), session_scope(homes) as s:
            record_waste(s, OAK, nhs, **_waste())
    with session_scope(homes) as s:
        assert s.scalar(select(func.count()).select_from(MedicineWaste)) == 0
        refused = s.scalars(
            select(AuditEvent.patient_nhs_number).where(
                AuditEvent.action == "carehomes.waste.write", AuditEvent.outcome == "refused"
            )
        ).all()
        assert set(refused) == {ELM, "9990000026", "9000000009"}


def test_only_a_homes_own_staff_record_waste(homes):
    pcn = Principal(3, "pcn", "PCN pharmacist", ROLES["pcn-pharmacist"], "P0001")
    with pytest.raises(NotYourHome), session_scope(homes) as s:
        record_waste(s, pcn, ADA, **_waste())


# --- figures: supplied vs administered vs wasted, cost ----------------------------------------


def test_supplied_vs_administered_vs_returned_per_medicine_per_month_with_drug_tariff_cost(homes):
    with session_scope(homes) as s:
        s.add(DmdVmp(id=SERTRALINE, name="Sertraline 50mg tablets"))
        # Drug Tariff 28-tablet pack at 112p: 4p a tablet
        s.add(DmdVmpp(id="1001", vmp_id=SERTRALINE, name="Sertraline 50mg tablets 28 tablet",
                      qty_value=28, qty_unit="tablet", price_pence=112))  # fmt: skip
        _supply(s, 1, ADA, SERTRALINE, "Sertraline 50mg tablets", "28 tablet",
                datetime(2026, 5, 2, 10, tzinfo=UTC))  # fmt: skip
        record_waste(s, OAK, ADA, **_waste(quantity=14.0))
        record_waste(s, OAK, ADA, **_waste(quantity=2.0, disposal="destroyed", key="k2"))
    _given(homes, [f"g{d},{ADA},{SERTRALINE},Sertraline 50mg tablets,given,"
                   f"2026-05-{d:02d}T08:00:00Z,N" for d in range(3, 15)])  # fmt: skip
    with session_scope(homes) as s:
        view = waste_view(s, OAK, DAY)
        [may] = [m for m in view.medicines if m.month == "2026-05"]
        assert (may.supplied, may.administered, may.returned, may.destroyed) == (28, 12, 14, 2)
        assert may.cost_pence == pytest.approx(64)  # 16 tablets × 4p
        assert view.totals["home"]["VM001"].cost_pounds == 0.64
        assert view.totals["ics"]["ICS"].cost_pounds == 0.64
        assert view.totals["pcn"]  # rolled up by the practice's PCN too
        assert month_totals(s, "2026-05")[1]["VM001"].cost_pounds == 0.64


def test_waste_without_a_dm_d_price_is_no_price_not_a_guess(homes):
    with session_scope(homes) as s:
        record_waste(s, OAK, ADA, **_waste(medicine_code="777", key="k9"))
        view = waste_view(s, OAK, DAY)
        [may] = [m for m in view.medicines if m.month == "2026-05"]
        assert may.cost_pence is None
        total = view.totals["home"]["VM001"]
        assert (total.cost_pounds, total.unpriced_items) == (0.0, 1)


def test_care_home_staff_see_only_their_own_homes_waste(homes):
    with session_scope(homes) as s:
        record_waste(s, OAK, ADA, **_waste())
        elm = waste_view(s, ELM_STAFF, DAY)
        assert elm.records == [] and elm.medicines == []
        assert [r.nhs_number for r in waste_view(s, OAK, DAY).residents] == [ADA]


# --- stop-ordering rules (ipmo's thresholds; NICE SC1 1.16, PrescQIPP ordering guidance) ------

R = Resident(1, ADA, "VM001")
COVERED = EmarHistory(first={1: date(2026, 3, 20)})  # the eMAR covers April and May


def _prn(given: date | None = None, first: date = date(2026, 3, 20)) -> EmarHistory:
    last = {(1, "123"): given} if given else {}
    return EmarHistory(prn={1: {"123"}}, last_given=last, first={1: first})


def _cell(month: str, supplied: float, given: float, supplied_on: date | None = None):
    m = MedicineMonth("VM001", "123", "Lactulose 3.35g/5ml oral solution", month)
    m.supplied, m.administered = supplied, given
    if supplied_on:
        m.supplies, m.supplied_on = [f"{supplied_on}: {supplied:g} mL (P1)"], [supplied_on]
    return m


def test_nice_sc1_supplied_mostly_unused_two_months_running_is_a_stop_candidate():
    cells = {(1, "123", "2026-04"): _cell("2026-04", 500, 100),
             (1, "123", "2026-05"): _cell("2026-05", 500, 249)}  # fmt: skip
    [c] = stop_ordering(cells, [R], COVERED, DAY)
    assert c.rule == "supplied-mostly-unused" and c.nhs_number == ADA
    assert c.evidence == ["2026-04: supplied 500, given 100", "2026-05: supplied 500, given 249"]
    assert "NICE SC1" in c.source


def test_nice_sc1_supplied_mostly_unused_not_when_half_given_one_month_or_emar_not_covering():
    half = {(1, "123", "2026-04"): _cell("2026-04", 500, 100),
            (1, "123", "2026-05"): _cell("2026-05", 500, 250)}  # fmt: skip
    assert stop_ordering(half, [R], COVERED, DAY) == []
    one = {(1, "123", "2026-05"): _cell("2026-05", 500, 0)}
    assert stop_ordering(one, [R], COVERED, DAY) == []
    # the eMAR began on 2 April: April was not all recorded, so it is not judged
    low = {(1, "123", "2026-04"): _cell("2026-04", 500, 100),
           (1, "123", "2026-05"): _cell("2026-05", 500, 100)}  # fmt: skip
    assert stop_ordering(low, [R], EmarHistory(first={1: date(2026, 4, 2)}), DAY) == []
    assert stop_ordering(low, [R], EmarHistory(first={1: date(2026, 4, 1)}), DAY) != []
    # the current month is not a complete month: April and May are the two that count
    late = {(1, "123", "2026-05"): _cell("2026-05", 500, 0),
            (1, "123", "2026-06"): _cell("2026-06", 500, 0)}  # fmt: skip
    assert stop_ordering(late, [R], COVERED, DAY) == []


def test_nice_sc1_prn_not_given_in_28_days_but_resupplied_is_a_stop_candidate():
    cells = {(1, "123", "2026-06"): _cell("2026-06", 300, 0, date(2026, 6, 1))}
    [c] = stop_ordering(cells, [R], _prn(date(2026, 5, 10)), DAY)
    assert c.rule == "prn-not-given-resupplied" and "last given 10 May 2026" in c.summary
    assert c.evidence == ["2026-06-01: 300 mL (P1)"]


def test_nice_sc1_prn_resupplied_not_a_candidate_when_given_recently_or_not_prn():
    cells = {(1, "123", "2026-06"): _cell("2026-06", 300, 0, date(2026, 6, 1))}
    assert stop_ordering(cells, [R], _prn(DAY - timedelta(days=27)), DAY) == []
    assert stop_ordering(cells, [R], COVERED, DAY) == []  # a regular medicine: the other rule
    old = {(1, "123", "2026-05"): _cell("2026-05", 300, 0, DAY - timedelta(days=29))}
    assert stop_ordering(old, [R], _prn(), DAY) == []  # not supplied in the 28 days
    # never given at all in the record, and supplied again: a candidate
    [never] = stop_ordering(cells, [R], _prn(), DAY)
    assert "not given in the record" in never.summary


def test_prn_history_and_supplies_feed_the_prn_rule_end_to_end(homes):
    with session_scope(homes) as s:
        _supply(s, 2, ADA, "555", "Lactulose 3.35g/5ml oral solution", "300 ml",
                datetime(2026, 6, 2, 9, tzinfo=UTC))  # fmt: skip
    _given(homes, [f"p1,{ADA},555,Lactulose 3.35g/5ml oral solution,given,"
                   "2026-04-20T20:00:00Z,Y"])  # fmt: skip
    with session_scope(homes) as s:
        [c] = waste_view(s, OAK, DAY).stop
        assert (c.rule, c.medicine) == ("prn-not-given-resupplied", "555")
        assert "300 ml (P00002)" in c.evidence[0]


# --- API and pages ---------------------------------------------------------------------------


def test_waste_api_records_and_reports(homes, client_as):
    home = client_as("carehome")
    home.app.state.clock = lambda: NOON  # "the future" is after DAY, every day the test runs
    body = {
        "nhs_number": ADA,
        "medicine_code": SERTRALINE,
        "medicine_name": "Sertraline 50mg tablets",
        "quantity": 7,
        "unit": "tablet",
        "disposal": "destroyed",
        "disposed_on": (DAY - timedelta(days=1)).isoformat(),
        "reason": "Dropped on the floor",
        "key": "api-1",
    }
    first = home.post("/api/carehomes/waste", json=body)
    assert first.status_code == 201 and first.json()["created"] is True
    again = home.post("/api/carehomes/waste", json=body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert home.post("/api/carehomes/waste", json=body | {"quantity": 8}).status_code == 409
    future = body | {"key": "api-2", "disposed_on": (DAY + timedelta(days=1)).isoformat()}
    bad = home.post("/api/carehomes/waste", json=future)
    assert bad.status_code == 422 and "disposed_on" in bad.text
    assert home.post("/api/carehomes/waste", json=body | {"nhs_number": ELM}).status_code == 403
    figures = home.get("/api/carehomes/waste").json()
    assert [r["key"] for r in figures["records"]] == ["api-1"]
    # the MOCH / PCN pharmacist sees the caseload's waste but records none
    pcn = client_as("pcn.pharmacist")
    assert [r["key"] for r in pcn.get("/api/carehomes/waste").json()["records"]] == ["api-1"]
    assert pcn.post("/api/carehomes/waste", json=body | {"key": "x"}).status_code == 403


def test_waste_form_errors_keep_what_was_typed_and_saving_shows_a_panel(homes, client_as):
    home = client_as("carehome")
    home.app.state.clock = lambda: NOON
    page = home.get("/carehomes/waste")
    assert page.status_code == 200 and "Record medicines returned or destroyed" in page.text
    key = page.text.split('name="key" value="')[1].split('"')[0]
    form = {
        "key": key,
        "resident": ADA,
        "medicine_code": SERTRALINE,
        "medicine_name": "Sertraline 50mg tablets",
        "quantity": "lots",
        "unit": "tablet",
        "disposal": "returned",
        "disposed_on[day]": str(DAY.day),
        "disposed_on[month]": str(DAY.month),
        "disposed_on[year]": str(DAY.year),
        "reason": "Stopped by the GP",
    }
    bad = home.post("/carehomes/waste", data=form)
    assert bad.status_code == 422 and 'href="#quantity"' in bad.text
    assert 'value="lots"' in bad.text and 'value="Stopped by the GP"' in bad.text
    with session_scope(homes) as s:
        assert s.scalar(select(func.count()).select_from(MedicineWaste)) == 0
    ok = home.post("/carehomes/waste", data=form | {"quantity": "14"})
    assert ok.status_code == 200 and "Medicines returned or destroyed recorded" in ok.text
    home.post("/carehomes/waste", data=form | {"quantity": "14"})  # sent twice: one record
    with session_scope(homes) as s:
        assert s.scalar(select(func.count()).select_from(MedicineWaste)) == 1
    moch = client_as("pcn.pharmacist").get("/carehomes/waste")
    assert moch.status_code == 200 and "Sertraline 50mg tablets" in moch.text
    assert 'id="waste-ics"' in moch.text and "no price (1 medicine)" in moch.text
    assert "Record medicines returned or destroyed" not in moch.text
    ics = client_as("analyst").get("/carehomes/homes")
    assert ics.status_code == 200 and "Cost of waste" in ics.text


def test_plan_metric_waste_cost_is_the_months_priced_waste(homes):
    from ipmo.carehomes.plan_metrics import CarehomeMetrics

    with session_scope(homes) as s:
        s.add(DmdVmp(id=SERTRALINE, name="Sertraline 50mg tablets"))
        s.add(DmdVmpp(id="1001", vmp_id=SERTRALINE, name="Sertraline 50mg tablets 28 tablet",
                      qty_value=28, qty_unit="tablet", price_pence=112))  # fmt: skip
        record_waste(s, OAK, ADA, **_waste(quantity=28.0))  # May: 28 × 4p
    with session_scope(homes) as s:
        series = CarehomeMetrics().series(s, "waste_cost", None, DAY, 2)
        assert series == [(date(2026, 4, 30), 0.0), (date(2026, 5, 31), 1.12)]
        assert CarehomeMetrics().series(s, "waste_cost", "VM001", DAY, 1) == [
            (date(2026, 5, 31), 1.12)
        ]


def test_eps_quantity_text_is_read_as_number_and_unit():
    from ipmo.prescriptions.supplies import quantity_of

    assert quantity_of("28 tablet") == (28.0, "tablet")
    assert quantity_of("300 ml") == (300.0, "ml")
    assert quantity_of("2.5") == (2.5, None)
    assert quantity_of("one box") == (None, None) and quantity_of(None) == (None, None)


def test_waste_figures_and_prn_rule_on_every_store(any_engine):
    """SQLite and PostgreSQL: the EPS supply (aware times), eMAR doses and a return give the same
    figures and the PRN stop-ordering candidate."""
    from tests.conftest import seed_sample

    seed_sample(any_engine)
    with session_scope(any_engine) as s:
        _supply(s, 3, ADA, "555", "Lactulose 3.35g/5ml oral solution", "300 ml",
                datetime(2026, 6, 2, 9, tzinfo=UTC))  # fmt: skip
    _given(any_engine, [f"p1,{ADA},555,Lactulose 3.35g/5ml oral solution,given,"
                        "2026-04-20T20:00:00Z,Y"])  # fmt: skip
    with session_scope(any_engine) as s:
        record_waste(s, OAK, ADA, **_waste(medicine_code="555", unit="ml", quantity=100.0,
                                           disposed_on=date(2026, 6, 10)))  # fmt: skip
    with session_scope(any_engine) as s:
        view = waste_view(s, OAK, DAY)
        [june] = [m for m in view.medicines if m.month == "2026-06"]
        assert (june.supplied, june.administered, june.returned) == (300, 0, 100)
        assert [c.rule for c in view.stop] == ["prn-not-given-resupplied"]
