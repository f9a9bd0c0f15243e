"""Error → HTTP status lives in one table, ``ipmo.web.errors.ERRORS`` (issue 12).

Every exception a domain's use cases can raise (found by reading ``<domain>/actions.py`` and the
domain modules it imports) either has an entry there, has a handler of its own in the web app, or
is caught inside the domain where the table below says; and each entry answers FHIR callers with
an OperationOutcome, the JSON API with ``{"detail": …}`` and a browser with the NHS.UK error page.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
from types import ModuleType

import pytest

from ipmo.fhir.outcome import FhirError
from ipmo.hooks import domain_modules
from ipmo.web.errors import ERRORS

# raised where a use case runs, and answered there, by a handler of their own in web/app.py
OWN_HANDLER = {FhirError}
# caught inside the domain and answered there: (domain, class) → the module that catches it
CAUGHT_WHERE = {
    ("admin", "AdminError"): "ipmo.admin.pages",  # the user forms' error summary (422)
    ("lookup", "SearchError"): "ipmo.lookup.pages",  # the find form's error summary (422)
    ("prescriptions", "RedirectError"): "ipmo.prescriptions.pages",  # the redirect form's summary
    # the plans API answers 404 (no such plan or objective) / 422; the pages, their form summary
    ("plans", "PlanNotFound"): "ipmo.plans.api",
    ("plans", "PlanError"): "ipmo.plans.api",
    ("plans", "UnknownMetric"): "ipmo.plans.service",  # → PlanError (422)
    ("referrals", "RoutingError"): "ipmo.referrals.new_referrals",  # → ReferralError (422)
    ("referrals", "OutcomeError"): "ipmo.referrals.state_changes",  # → ReferralError (422)
    ("referrals", "TransitionNotAllowed"): "ipmo.referrals.state_changes",  # → ReferralConflict
    ("carehomes", "FhirInputError"): "ipmo.carehomes.cli",
    # the column reader's "not a plain file": the row reader reads it again and names the row
    ("carehomes", "_NotPlain"): "ipmo.carehomes.administrations",
    # the records adapters answer these with their own headers (ETag) and fields (version); to
    # move into the table once it can carry them
    ("records", "FhirInputError"): "ipmo.records.api",
    ("records", "SourceTooLarge"): "ipmo.records.api",
    ("records", "RecordError"): "ipmo.records.api",
    ("records", "PatientNotFound"): "ipmo.records.api",
    ("records", "VersionConflict"): "ipmo.records.api",
    ("records", "PreconditionRequired"): "ipmo.records.api",
    ("records", "ProposalNotFound"): "ipmo.records.api",
    ("records", "ProposalResolved"): "ipmo.records.api",
    ("records", "SourceNotFound"): "ipmo.records.fhir",
    ("records", "ExportNotFound"): "ipmo.records.fhir",  # a bulk export job or file: 404
    ("records", "ExportRunning"): "ipmo.records.fhir",  # one export at a time: 429
    ("records", "_Cancelled"): "ipmo.records.bulk",  # a cancelled export's worker stops
    ("records", "AmendmentError"): "ipmo.records.service",
}
# not a user's error: a broken data file found at start-up is a server fault (500)
SERVER_FAULTS = {"PathwayError"}


def _entry(cls: type) -> tuple[int, str] | None:
    return next((ERRORS[c] for c in cls.__mro__ if c in ERRORS), None)


def _raised(module: ModuleType) -> set[type[BaseException]]:
    """The classes named in ``raise X(…)`` / ``raise mod.X(…)`` in a module's source."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        path = []
        while isinstance(target, ast.Attribute):
            path.insert(0, target.attr)
            target = target.value
        if not isinstance(target, ast.Name):
            continue
        obj: object = module
        for name in [target.id, *path]:
            obj = getattr(obj, name, None)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            found.add(obj)
    return found


def _caught(module: ModuleType) -> set[str]:
    """The class names in a module's ``except`` clauses."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            names |= {
                k.attr if isinstance(k, ast.Attribute) else getattr(k, "id", "") for k in kinds
            }
    return names


def _domain_modules_reached(actions: ModuleType) -> list[ModuleType]:
    """``actions`` and every module of its own package it imports, transitively."""
    package = actions.__name__.rsplit(".", 1)[0]
    seen: dict[str, ModuleType] = {}
    todo = [actions]
    while todo:
        module = todo.pop()
        if module.__name__ in seen:
            continue
        seen[module.__name__] = module
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith(package + "."):
                    with contextlib.suppress(ImportError):  # `from pkg.module import function`
                        todo.append(importlib.import_module(name))
    return list(seen.values())


def test_every_error_a_use_case_raises_has_a_status_or_a_handler():
    checked = 0
    for actions in domain_modules("actions"):
        for module in _domain_modules_reached(actions):
            for cls in _raised(module):
                checked += 1
                if _entry(cls) or cls in OWN_HANDLER or cls.__name__ in SERVER_FAULTS:
                    continue
                domain = actions.__name__.split(".")[1]
                where = CAUGHT_WHERE.get((domain, cls.__name__))
                assert where, (
                    f"{cls.__module__}.{cls.__name__} (raised in {module.__name__}) has no entry "
                    "in ipmo.web.errors.ERRORS"
                )
                caught = _caught(importlib.import_module(where))
                own = {c.__name__ for c in cls.__mro__ if c.__module__ != "builtins"}
                assert caught & own, f"{where} does not catch {cls.__name__}"
    assert checked >= 30  # the scan read every domain's use cases


def test_no_domain_offers_its_own_error_statuses_any_more():
    from ipmo import hooks

    assert hooks.offered("HTTP_ERRORS") == []  # the one table is ipmo.web.errors


def test_every_entry_is_a_published_error_of_its_package():
    for cls in ERRORS:
        package = importlib.import_module(".".join(cls.__module__.split(".")[:2]))
        published = getattr(package, cls.__name__, None) is cls
        spine = cls.__module__.split(".")[1] in ("security", "limits")
        assert published or spine, f"{cls.__name__} is not published by {package.__name__}"
    assert len(ERRORS) >= 14


@pytest.fixture
def raising(client_as):
    """A signed-in client of an app with one route per table entry that raises it."""
    client = client_as("pcn.pharmacist")
    classes = list(ERRORS)
    for i, cls in enumerate(classes):

        def boom(cls: type[Exception] = cls) -> None:
            raise cls(f"the {cls.__name__} sentence")

        for prefix in ("/fhir/R4/_raise", "/api/_raise", "/_raise"):
            client.app.add_api_route(f"{prefix}/{i}", boom, methods=["GET"])
    return client, classes


def test_each_entry_answers_fhir_json_and_pages_alike(raising):
    client, classes = raising
    for i, cls in enumerate(classes):
        status, title = ERRORS[cls]
        sentence = f"the {cls.__name__} sentence"
        fhir = client.get(f"/fhir/R4/_raise/{i}")
        assert fhir.status_code == status and fhir.headers["content-type"].startswith(
            "application/fhir+json"
        )
        (issue,) = fhir.json()["issue"]
        assert fhir.json()["resourceType"] == "OperationOutcome"
        assert issue["diagnostics"] == sentence
        api = client.get(f"/api/_raise/{i}", headers={"accept": "application/json"})
        assert (api.status_code, api.json()) == (status, {"detail": sentence})
        page = client.get(f"/_raise/{i}", headers={"accept": "text/html"})
        assert page.status_code == status and "text/html" in page.headers["content-type"]
        assert title in page.text and f"<p>T{sentence[1:]}.</p>" in page.text  # as a sentence
    assert len(classes) == len(ERRORS)
