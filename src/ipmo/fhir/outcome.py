"""FHIR ``OperationOutcome`` errors: the one way the FHIR API says no.

Raise :class:`FhirError` anywhere under a FHIR route; the web app returns it as an
``OperationOutcome`` with the given HTTP status (issue codes from the FHIR R4 IssueType value set).
"""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        expression: str | list[str] | None = None,
        severity: str = "error",
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = [expression] if isinstance(expression, str) else expression
        self.severity = severity

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.diagnostics, self.expression, self.severity)


def operation_outcome(
    code: str, diagnostics: str, expression: list[str] | None = None, severity: str = "error"
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}
