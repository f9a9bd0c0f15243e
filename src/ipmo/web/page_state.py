"""What one request adds to a page beside its subject: the notice after a change went through,
or why a change was refused. Pages with a form (a user, a referral, a review, a record) are shown
after a GET, after a redirect from a change that went through, and again after a refused change;
each helper takes one :class:`PageState` instead of the same four keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass

from ipmo.web.forms import FormErrors


@dataclass(frozen=True)
class PageState:
    """``done``: the key of the notice of what the last change did (it came back by redirect);
    ``error``: a sentence for the whole page, the change refused (a conflict); ``errors`` and
    ``form``: a refused form's field errors and what was typed, shown again (issue 14)."""

    done: str | None = None
    error: str | None = None
    errors: FormErrors | None = None
    form: dict | None = None

    @property
    def status_code(self) -> int:
        """409 beside a page-level refusal (a conflict), 422 beside field errors, else 200."""
        return 409 if self.error else 422 if self.errors else 200
