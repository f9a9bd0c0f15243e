"""Form errors the NHS.UK way, for every page with a form (issue 14).

NHS digital service manual, "Error summary" and "Error message" components
(https://service-manual.nhs.uk/design-system/components/error-summary): a summary at the top of
the page titled "There is a problem" listing every error as a link to its field
(``href="#field-id"``), the same message beside the field (``nhsuk-form-group--error``), written
in plain English ("Enter …", "Select …"), and the page showing what the user typed.

A page builds a :class:`FormErrors`, adds ``(field id, message)`` pairs, and renders with
``errors`` and ``form`` (the values typed); the macros in ``templates/forms.html`` read both.
Domain code raises :class:`FieldError` (a ``ValueError`` naming the field) where it knows which
field is wrong; :meth:`FormErrors.from_exception` turns any error into an entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


class FieldError(ValueError):
    """Bad input in one field of a form: ``field`` is the id of the input to link to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class FormErrors:
    """The errors of one form submission, in the order of the fields on the page."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, field_id: str, message: str) -> FormErrors:
        if field_id not in self:
            self.items.append((field_id, message))
        return self

    def add_exception(self, exc: Exception, default_field: str) -> FormErrors:
        """An error raised by domain code: its own field if it names one, else ``default_field``;
        the message with a capital letter and no trailing full stop (the summary's style)."""
        where = getattr(exc, "field", None) or default_field
        return self.add(where, sentence(str(exc)))

    @classmethod
    def from_exception(cls, exc: Exception, default_field: str) -> FormErrors:
        return cls().add_exception(exc, default_field)

    def get(self, field_id: str) -> str | None:
        return next((m for f, m in self.items if f == field_id), None)

    def __contains__(self, field_id: object) -> bool:
        return any(f == field_id for f, _ in self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def summary(self) -> list[dict[str, str]]:
        """The error summary's list: each message linking to its field."""
        return [{"text": m, "href": f"#{f}"} for f, m in self.items]


def sentence(message: str) -> str:
    """ "enter the reason." → "Enter the reason" (error messages start with a capital letter
    and have no full stop, per the NHS.UK error message guidance)."""
    text = " ".join(message.split()).rstrip(".")
    return text[:1].upper() + text[1:]
