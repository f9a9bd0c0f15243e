"""BNF code filters (``numerator_bnf_codes_filter``) resolved against the presentations in the data.

Semantics follow OpenPrescribing's measure import (bennettoxford/openprescribing,
``openprescribing/frontend/management/commands/import_measures.py``, building the ``bnf_code IN``
list from a filter): each line is ``TERM # comment``; a term starting ``~`` excludes; a term with
``%`` is a SQL LIKE pattern; a 15-character term is an exact presentation; any other term is a
prefix (``LIKE 'term%'``). A code is selected when it matches an include and no exclude.

Resolving against the distinct presentations (tens of thousands) rather than the prescribing rows
(millions) is what lets every engine run one join instead of one scan per measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeFilter:
    includes: tuple[str, ...]
    excludes: tuple[str, ...]


def parse_filter(lines: Iterable[str]) -> CodeFilter:
    includes: list[str] = []
    excludes: list[str] = []
    for line in lines:
        term = line.split("#", 1)[0].strip()
        if not term:
            continue
        if term.startswith("~"):
            excludes.append(term[1:].strip())
        else:
            includes.append(term)
    return CodeFilter(tuple(includes), tuple(excludes))


class _Matcher:
    """Fast matching of many terms: plain prefixes via ``str.startswith``, the rest by regex."""

    def __init__(self, terms: Iterable[str]):
        prefixes: list[str] = []
        exact: set[str] = set()
        patterns: list[str] = []
        for term in terms:
            if "%" in term or "_" in term:
                patterns.append(_like_regex(term))
            elif len(term) == 15:
                exact.add(term)
            else:
                prefixes.append(term)
        self.prefixes = tuple(prefixes)
        self.exact = exact
        self.regex = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def __call__(self, code: str) -> bool:
        if code in self.exact or (self.prefixes and code.startswith(self.prefixes)):
            return True
        return bool(self.regex and self.regex.fullmatch(code))


def _like_regex(pattern: str) -> str:
    """SQL LIKE → regex (``%`` any run, ``_`` one character)."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return "".join(out)


def matcher(code_filter: CodeFilter):
    """A predicate ``code -> bool`` for one filter."""
    include = _Matcher(code_filter.includes)
    exclude = _Matcher(code_filter.excludes)
    return lambda code: include(code) and not exclude(code)


def resolve(code_filter: CodeFilter, codes: Iterable[str]) -> set[str]:
    """The codes among ``codes`` selected by the filter."""
    predicate = matcher(code_filter)
    return {code for code in codes if predicate(code)}
