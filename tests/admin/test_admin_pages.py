"""Administration (issue 14): user management in the development identity provider for the
admin role and the audit log viewer, each act audited; other roles are refused."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.web_session import sign_in

from ipmo.security.models import AuditEvent, User
from ipmo.store import session_scope
from ipmo.web.csrf import FIELD


def _actions(engine, prefix: str = "admin.") -> list[tuple[str, dict | None]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.seq)
        ).all()
    return [(a, d) for a, d in rows]


def _summary_links(html: str) -> list[str]:
    body = html.split('class="nhsuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">', body)


def _password(html: str) -> str:
    return re.search(r"One-time password: (\S+)\. Give it", html).group(1)


def test_admin_adds_a_user_who_can_then_sign_in(client_as, sample_ics):
    admin = client_as("admin")
    assert admin.get("/admin").status_code == 200
    r = admin.post("/admin/users/new", data={"username": "", "display_name": "", "role_code": ""})
    assert r.status_code == 422
    assert _summary_links(r.text) == ["username"]
    r = admin.post(
        "/admin/users/new",
        data={"username": "gp", "display_name": "Dup", "role_code": "gp", "org_code": "A10001"},
    )
    assert _summary_links(r.text) == ["username"] and "already exists" in r.text
    assert 'value="Dup"' in r.text  # kept
    r = admin.post(
        "/admin/users/new",
        data={
            "username": "j.bloggs",
            "display_name": "Jo Bloggs (PCN pharmacist)",
            "role_code": "pcn-pharmacist",
            "org_code": "A10001",
        },
    )
    assert r.status_code == 200 and "User added" in r.text
    password = _password(r.text)
    newcomer = client_as(None)
    assert sign_in(newcomer, "j.bloggs", password).status_code == 303
    assert (
        "admin.user.create",
        {"user": "j.bloggs", "role": "pcn-pharmacist", "org": "A10001"},
    ) in [(a, d) for a, d in _actions(sample_ics)]


def test_disable_reset_and_revoke_sign_the_user_out_everywhere(client_as, sample_ics):
    admin = client_as("admin")
    gp = client_as("gp")
    assert gp.get("/referrals").status_code == 200
    r = admin.post("/admin/users/gp/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert gp.get("/referrals", follow_redirects=False).status_code in (303, 401)
    r = admin.post("/admin/users/gp/password", data={"confirm": "yes"})
    password = _password(r.text)
    assert sign_in(client_as(None), "gp").status_code == 401  # the old password no longer works
    assert sign_in(client_as(None), "gp", password).status_code == 303
    admin.post("/admin/users/gp/active", data={"active": "no", "confirm": "yes"})
    assert sign_in(client_as(None), "gp", password).status_code == 401
    r = admin.get("/admin/users/gp")
    assert "Disabled" in r.text
    admin.post("/admin/users/gp/active", data={"active": "yes"})
    r = admin.post(
        "/admin/users/gp/role", data={"role_code": "pcn-pharmacist", "org_code": "A10001"}
    )
    with session_scope(sample_ics) as s:
        assert s.scalar(select(User.role_code).where(User.username == "gp")) == "pcn-pharmacist"
    done = [a for a, _ in _actions(sample_ics, "admin.user.")]
    assert done == [
        "admin.user.revoke",
        "admin.user.reset-password",
        "admin.user.disable",
        "admin.user.enable",
        "admin.user.role",
    ]


def test_disable_and_reset_password_ask_for_confirmation_first(client_as, sample_ics):
    admin = client_as("admin")
    with session_scope(sample_ics) as s:
        gp = s.scalars(select(User).where(User.username == "gp")).one()
        name, hash_before = gp.display_name, gp.password_hash
    page = admin.get("/admin/users/gp").text
    assert 'href="/admin/users/gp/disable"' in page
    assert 'href="/admin/users/gp/password"' in page
    r = admin.get("/admin/users/gp/disable")
    assert r.status_code == 200
    assert f"Are you sure you want to disable {name}?" in r.text
    assert f'name="{FIELD}"' in r.text  # the POST carries the CSRF token
    assert 'action="/admin/users/gp/active"' in r.text
    assert 'href="/admin/users/gp" id="cancel"' in r.text
    r = admin.get("/admin/users/gp/password")
    assert f"Are you sure you want to reset the password for {name}?" in r.text
    assert admin.get("/admin/users/gp/delete").status_code == 404
    # a POST without the confirmation only asks again: nothing changes, nothing is audited
    r = admin.post("/admin/users/gp/active", data={"active": "no"})
    assert r.status_code == 200 and "Are you sure you want to disable" in r.text
    r = admin.post("/admin/users/gp/password")
    assert "Are you sure you want to reset the password" in r.text
    assert "One-time password" not in r.text
    with session_scope(sample_ics) as s:
        gp = s.scalars(select(User).where(User.username == "gp")).one()
        assert gp.active and gp.password_hash == hash_before
    assert _actions(sample_ics, "admin.user.") == []
    # confirmed: done and audited as before
    r = admin.post("/admin/users/gp/active", data={"active": "no", "confirm": "yes"})
    assert "User disabled" in r.text and "Disabled" in r.text
    r = admin.post("/admin/users/gp/password", data={"confirm": "yes"})
    assert "One-time password" in r.text
    done = [a for a, _ in _actions(sample_ics, "admin.user.")]
    assert done == ["admin.user.disable", "admin.user.reset-password"]


def test_an_admin_cannot_disable_themselves_or_change_their_own_role(client_as):
    admin = client_as("admin")
    r = admin.post("/admin/users/admin/active", data={"active": "no", "confirm": "yes"})
    assert r.status_code == 422 and "You cannot disable your own account" in r.text
    r = admin.post("/admin/users/admin/role", data={"role_code": "gp", "org_code": "A10001"})
    assert r.status_code == 422 and _summary_links(r.text) == ["role_code"]


def test_audit_log_viewer_filters_and_verifies_the_chain(client_as, sample_ics):
    pharmacist = client_as("pcn.pharmacist")
    assert pharmacist.get("/records/patients/9990000018").status_code == 200
    admin = client_as("admin")
    r = admin.get("/admin/audit", params={"nhs_number": "999 000 0018"})
    assert r.status_code == 200
    assert "999 000 0018" in r.text and "pcn.pharmacist" in r.text
    r = admin.get("/admin/audit", params={"username": "nobody"})
    assert "No audit entries match" in r.text
    r = admin.get("/admin/audit", params={"nhs_number": "123"})
    assert r.status_code == 422 and _summary_links(r.text) == ["nhs_number"]
    r = admin.get(
        "/admin/audit", params={"since[day]": "31", "since[month]": "2", "since[year]": "2026"}
    )
    assert r.status_code == 422 and _summary_links(r.text) == ["since-day"]
    r = admin.get(
        "/admin/audit",
        params={
            "action": "admin.audit.view",
            "since[day]": "1",
            "since[month]": "1",
            "since[year]": "2000",
        },
    )
    assert "admin.audit.view" in r.text
    r = admin.post("/admin/audit/verify")
    assert "The audit log is intact" in r.text
    assert [a for a, _ in _actions(sample_ics, "admin.audit.verify")] == ["admin.audit.verify"]


def test_other_roles_are_refused_administration(client_as):
    gp = client_as("gp")
    for path in ("/admin", "/admin/users", "/admin/audit", "/admin/users/new"):
        assert gp.get(path).status_code == 403, path
    assert gp.post("/admin/users/admin/password").status_code == 403
