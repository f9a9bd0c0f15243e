"""The value every terminology lookup returns, from the store or the in-memory dictionary."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("VTM", "VMP", "AMP", "VMPP", "AMPP")


@dataclass(frozen=True, slots=True)
class Concept:
    """One dm+d concept as other domains need it.

    ``vmp_id``/``vtm_id`` are the concept's generic product and substance (for a VMP ``vmp_id``
    is its own id; for a VTM ``vtm_id`` is). ``replaced_id`` is set when the code asked for was a
    previous id that now resolves to ``id``.
    """

    id: str
    level: str  # VTM | VMP | AMP | VMPP | AMPP | unknown
    name: str
    vmp_id: str | None = None
    vtm_id: str | None = None
    bnf_code: str | None = None
    form: str | None = None
    route: str | None = None
    supplier: str | None = None
    invalid: bool = False
    replaced_id: str | None = None

    def with_replaced(self, old_id: str) -> Concept:
        from dataclasses import replace

        return replace(self, replaced_id=old_id)
