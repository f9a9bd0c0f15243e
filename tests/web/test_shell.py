def test_health_and_openapi(client_as):
    anon = client_as(None)
    assert anon.get("/health").json()["store"] == "ok"
    assert anon.get("/openapi.json").status_code == 200
    assert anon.get("/docs").status_code == 200


def test_pages_redirect_to_sign_in_and_back(client_as):
    anon = client_as(None)
    r = anon.get("/patients", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/patients"


def test_home_page_shows_only_what_the_role_may_do(client_as):
    gp_home = client_as("gp").get("/", headers={"accept": "text/html"}).text
    assert "Find a patient" in gp_home and "Dr Alan Moore" in gp_home
    analyst_home = client_as("analyst").get("/", headers={"accept": "text/html"}).text
    assert "Find a patient" not in analyst_home


def test_refused_patient_page_is_a_helpful_page(client_as):
    r = client_as("gp").get("/patients/9990000042", headers={"accept": "text/html"})
    assert r.status_code == 403 and "legitimate relationship" in r.text and "<h1>" in r.text


def test_invalid_nhs_number_on_the_find_page(client_as):
    r = client_as("gp").get("/patients?nhs_number=123", headers={"accept": "text/html"})
    assert r.status_code == 422 and "10 digits" in r.text


def test_sign_in_refuses_open_redirects(client_as):
    from tests.web_session import sign_in

    from ipmo.security.users import DEMO_PASSWORD

    r = sign_in(client_as(None), "gp", DEMO_PASSWORD, next="//evil.example")
    assert r.headers["location"] == "/"


def test_domain_static_files_are_served_beside_the_shared_ones(client_as):
    from pathlib import Path

    import ipmo

    anon = client_as(None)
    assert anon.get("/assets/nhsuk-frontend.min.css").status_code == 200
    root = Path(ipmo.__file__).parent
    served = 0
    for static in root.glob("*/static"):
        if static.parent.name == "web":
            continue
        first = next((p for p in static.rglob("*") if p.is_file()), None)
        if first is not None:
            url = f"/static/{static.parent.name}/{first.relative_to(static).as_posix()}"
            assert anon.get(url).status_code == 200, url
            served += 1
    assert served >= 1
