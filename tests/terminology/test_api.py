"""``GET /api/terminology/search`` (DOMAINS.md: any signed-in user, terminology.view)."""

from ipmo.store import session_scope
from ipmo.terminology.models import DmdAmp, DmdVmp, DmdVtm


def _seed(engine):
    with session_scope(engine) as s:
        s.add_all([
            DmdVtm(id="108564000", name="Ramipril"),
            DmdVmp(id="318902004", vtm_id="108564000", name="Ramipril 5mg capsules",
                   bnf_code="0205051R0AAABAB", form="capsules", route="Oral"),
            DmdAmp(id="3893411000001109", vmp_id="318902004", name="Tritace 5mg capsules",
                   supplier="Sanofi", bnf_code="0205051R0BBABAB"),
        ])  # fmt: skip


def test_signed_in_user_searches(sample_ics, client_as):
    _seed(sample_ics)
    r = client_as("pcn.pharmacist").get("/api/terminology/search", params={"q": "5mg caps"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["id"] for x in body["results"]] == ["318902004", "3893411000001109"]
    assert body["results"][1]["vmp_id"] == "318902004"
    assert body["results"][1]["vtm_id"] == "108564000"
    assert body["results"][0]["therapeutic_class"] == "ACE inhibitors"


def test_anonymous_is_refused(sample_ics, client_as):
    r = client_as(None).get("/api/terminology/search", params={"q": "ramipril"})
    assert r.status_code == 401


def test_query_is_validated(sample_ics, client_as):
    client = client_as("pcn.pharmacist")
    assert client.get("/api/terminology/search", params={"q": "r"}).status_code == 422
    assert client.get("/api/terminology/search").status_code == 422
