"""Creating one post from the web UI: exactly the import's rules (every import refusal is a form
refusal too, with the form's words, and nothing is written), an existing assignment number is
refused rather than replaced, edit roles only, audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ipmo.security.models import AuditEvent
from ipmo.store import session_scope
from ipmo.workforce.edits import EditError, create_post
from ipmo.workforce.importer import WorkforceImportError, import_assignments
from ipmo.workforce.models import Post, PostAllocation, StaffMember

from .helpers import LEADER, Site, csv_text, leader_and_report, row, seed


def _populate(engine) -> None:
    with session_scope(engine) as s:
        import_assignments(s, csv_text(*leader_and_report()))


@pytest.fixture
def registry(engine):
    """The sample ICS with a leader (L1) and a report (S1) already imported."""
    seed(engine)
    _populate(engine)
    return engine


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The same registry served once for this module's page tests (each adds its own post)."""
    s = Site(tmp_path_factory.mktemp("workforce-create"), _populate)
    yield s
    s.close()


def _counts(engine) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t))
            for t in (Post, StaffMember, PostAllocation)
        )


NEW = {"assignment_number": "N1", "employee_number": "E9", "full_name": "Sam New"}

# (row changes, words the import uses, words the form uses)
BAD = [
    ({"organisation_code": "ZZZ"}, "unknown organisation", "Unknown organisation"),
    ({"staff_role": "chemist"}, "unknown staff_role", "Unknown staff role"),
    ({"afc_band": "10"}, "unknown Agenda for Change band", "Unknown Agenda for Change band"),
    ({"wte": "0"}, "wte 0 must be more than 0", "Whole-time equivalent 0 must be more than 0"),
    ({"wte": "1.5"}, "at most 1.0", "at most 1.0"),
    ({"wte": "full"}, "is not a number", "is not a number"),
    ({"position_title": ""}, "position_title is empty", "Position title is empty"),
    ({"assignment_start": ""}, "assignment_start is empty", "Start date is empty"),
    ({"assignment_start": "1st May"}, "is not a date", "is not a date"),
    ({"assignment_end": "2020-01-01"}, "is before assignment_start", "before start date"),
    ({"full_name": ""}, "full_name is empty", "Full name is empty"),
    (
        {"staff_role": "pharmacy_technician", "independent_prescriber": "Y"},
        "only a pharmacist can be an independent prescriber",
        "Only a pharmacist can be an independent prescriber",
    ),
    (
        {"employee_number": "", "full_name": "", "independent_prescriber": "Y"},
        "vacant post cannot be independent_prescriber",
        "vacant post cannot be independent prescriber",
    ),
    ({"sector_split": "hospital:0.5"}, "adds up to 0.5", "Sector split adds up to 0.5"),
    ({"sector_split": "moon:1.0"}, "unknown sector", "Unknown sector"),
    ({"training_programme": "mba"}, "unknown training_programme", "Unknown training programme"),
    ({"reports_to": "NOBODY"}, "reports_to 'NOBODY' is not a known", "Reports to 'NOBODY'"),
    (
        {"employee_number": "E1", "full_name": LEADER},
        "overlaps contract L1",
        "overlaps contract L1",
    ),
]


@pytest.mark.parametrize(("changes", "import_words", "form_words"), BAD)
def test_every_import_refusal_is_a_form_refusal(registry, changes, import_words, form_words):
    values = row(**NEW) | changes
    before = _counts(registry)
    import_refused = pytest.raises(WorkforceImportError, match=re.escape(import_words))
    with import_refused, session_scope(registry) as s:
        import_assignments(s, csv_text(values))
    with (
        pytest.raises(EditError, match=re.escape(form_words)) as refused,
        session_scope(registry) as s,
    ):
        create_post(s, values)
    assert not str(refused.value).startswith("line ")  # the form has no lines
    assert _counts(registry) == before


def test_a_good_post_is_written_as_the_import_writes_it(registry, tmp_path):
    values = row(**NEW, sector_split="gp:0.6;community@FA001:0.4", reports_to="L1")
    with session_scope(registry) as s:
        post = create_post(s, values)
        created = (post.org_code, post.title, post.role, post.band, post.wte, post.reports_to)
        split = sorted((a.sector, a.org_code, a.wte) for a in post.allocations)
        person = (post.staff.staff_number, post.staff.name)
    assert created == ("A10001", "Clinical pharmacist", "pharmacist", "7", 1.0, "L1")
    assert split == [("community", "FA001", 0.4), ("gp", "A10001", 0.6)]
    assert person == ("E9", "Sam New")
    # the same row through the import gives the same post
    from ipmo.store import create_store_engine, init_store

    other = create_store_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    init_store(other)
    seed(other)
    with session_scope(other) as s:
        import_assignments(s, csv_text(*leader_and_report(), values))
    with session_scope(other) as s:
        post = s.scalars(select(Post).filter_by(assignment_number="N1")).one()
        assert (
            post.org_code, post.title, post.role, post.band, post.wte, post.reports_to
        ) == created  # fmt: skip
        assert sorted((a.sector, a.org_code, a.wte) for a in post.allocations) == split
    other.dispose()


def test_a_vacancy_has_no_person(registry):
    with session_scope(registry) as s:
        post = create_post(s, row(assignment_number="V9", employee_number="", full_name=""))
        assert post.staff is None and post.allocations[0].sector == "gp"


def test_an_existing_assignment_number_is_refused_not_replaced(registry):
    with session_scope(registry) as s:
        title = s.scalars(select(Post.title).filter_by(assignment_number="S1")).one()
    vacancy = row(assignment_number="S1", employee_number="", full_name="")
    with pytest.raises(EditError, match="already exists") as refused, session_scope(registry) as s:
        create_post(s, vacancy)
    assert refused.value.field == "assignment_number"
    with session_scope(registry) as s:
        assert s.scalars(select(Post.title).filter_by(assignment_number="S1")).one() == title


def test_new_posts_are_stored_on_both_engines(any_engine):
    seed(any_engine)
    with session_scope(any_engine) as s:
        create_post(s, row(**NEW))
    with session_scope(any_engine) as s:
        post = s.scalars(select(Post).filter_by(assignment_number="N1")).one()
        assert post.staff.name == "Sam New" and post.allocations[0].wte == 1.0


# --- the page -------------------------------------------------------------------------------


def _form(number: str, **changes: str) -> dict[str, str]:
    return row(**NEW) | {"assignment_number": number} | changes


def test_lead_adds_a_post_on_the_page_and_it_is_audited(site):
    lead = site("workforce.lead")
    assert 'href="/workforce/new-post"' in lead.get("/workforce/people").text
    page = lead.get("/workforce/new-post")
    assert page.status_code == 200 and 'name="assignment_number"' in page.text
    form = _form("P1", employee_number="E7", leadership="Y")
    done = lead.post("/workforce/new-post", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("created=P1")
    listed = lead.get(done.headers["location"]).text
    assert "Post P1 added." in listed and "Sam New" in listed
    with session_scope(site.engine) as s:
        assert s.scalars(select(Post.leadership).filter_by(assignment_number="P1")).one()
        events = s.scalars(select(AuditEvent).filter_by(action="workforce.post.create")).all()
        assert [e.username for e in events if e.detail == {"post": "P1"}] == ["workforce.lead"]


def test_a_bad_form_is_explained_next_to_the_field_and_writes_nothing(site):
    lead = site("workforce.lead")
    before = _counts(site.engine)
    form = _form("P2", employee_number="E8", wte="1.5", position_title="Lead pharmacist")
    r = lead.post("/workforce/new-post", data=form)
    assert r.status_code == 422
    assert 'href="#wte"' in r.text and 'id="wte-error"' in r.text
    assert "Whole-time equivalent 1.5 must be more than 0 and at most 1.0" in r.text
    assert 'value="Lead pharmacist"' in r.text  # what was typed is kept
    assert _counts(site.engine) == before
    with session_scope(site.engine) as s:
        assert s.scalars(select(Post).filter_by(assignment_number="P2")).all() == []


@pytest.mark.parametrize(("user", "status"), [("admin", 200), ("analyst", 403), ("gp", 403)])
def test_only_edit_roles_may_add_posts(site, user, status):
    client = site(user)
    assert client.get("/workforce/new-post").status_code == status
    form = _form(f"R-{user}", employee_number="", full_name="")  # a vacancy each
    posted = client.post("/workforce/new-post", data=form, follow_redirects=False)
    assert posted.status_code == (303 if status == 200 else 403)
    with session_scope(site.engine) as s:
        stored = s.scalars(select(Post).filter_by(assignment_number=f"R-{user}")).all()
    assert len(stored) == (1 if status == 200 else 0)
