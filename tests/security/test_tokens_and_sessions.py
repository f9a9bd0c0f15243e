import time

from ipmo.security.tokens import issue_token
from ipmo.security.users import DEMO_PASSWORD
from ipmo.store import session_scope

ADA = "9990000018"


def test_bearer_token_from_the_token_endpoint_reads_the_api(client_as):
    anon = client_as(None)
    r = anon.post("/api/auth/token", data={"username": "gp", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    token = r.json()["access_token"]
    assert (
        anon.get(f"/api/patients/{ADA}", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_no_bad_or_expired_token_is_accepted(client_as, app_settings, monkeypatch):
    anon = client_as(None)
    assert anon.get(f"/api/patients/{ADA}").status_code == 401
    r = anon.get(f"/api/patients/{ADA}", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["detail"] == "token invalid"
    forged = issue_token("another-secret", 1, 0)
    assert anon.get("/api/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    token = issue_token(app_settings.secret_key, 4, 0)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + app_settings.token_ttl_seconds + 60)
    r = anon.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.json()["detail"] == "token expired"


def test_revoking_a_user_invalidates_their_tokens_and_sessions(client_as, sample_ics, app_settings):
    from ipmo.security.models import User

    gp = client_as("gp")
    with session_scope(sample_ics) as s:
        user = s.query(User).filter_by(username="gp").one()
        token = issue_token(app_settings.secret_key, user.id, user.token_generation)
        user.token_generation += 1
    assert gp.get("/api/me").status_code == 401
    assert gp.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_password_is_refused(client_as):
    r = client_as(None).post("/api/auth/token", data={"username": "gp", "password": "nope"})
    assert r.status_code == 401


def test_cross_site_form_posts_are_refused(client_as):
    r = client_as(None).post(
        "/sign-in",
        data={"username": "gp", "password": DEMO_PASSWORD},
        headers={"Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
