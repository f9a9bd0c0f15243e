"""Code lists whose words carry the names people read.

A code list (a :class:`~enum.StrEnum`) and the table of its labels were two lists kept in step by
hand, each value written twice. A :class:`Labelled` member holds both, ``GP = "gp", "GP practice /
PCN"``: it is still the plain string ``"gp"`` (stored, compared and sent as before), and
:func:`labels` gives the value → label table that pages and reports look words up in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Labelled(StrEnum):
    """A :class:`~enum.StrEnum` whose members are declared ``value, label``."""

    label: str

    # ``label`` defaults only for type checkers, which read this as the signature of
    # ``Sector("gp")``: that call looks a member up by value (the enum machinery does, not this
    # method), while a member declared without a label is refused here.
    def __new__(cls, value: str, label: str = "") -> Self:
        if not label:
            raise TypeError(f"{cls.__name__} {value!r}: a labelled member needs its label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def labels(vocabulary: type[Labelled]) -> dict[str, str]:
    """Each member of ``vocabulary`` → its label, in declaration order (looked up by the member
    or by its plain string value alike)."""
    return {member: member.label for member in vocabulary}
