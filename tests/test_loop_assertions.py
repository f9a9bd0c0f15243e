"""A test whose every assertion sits inside ``for`` loops passes when the loop never runs.

Such tests must also assert that the loop ran (``assert rows`` before ``for row in rows``), unless
every asserting loop walks a non-empty literal written in the test (``for x in ("a", "b")``),
which runs by construction. Found by reading the tests' syntax trees.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
_LITERALS = (ast.List, ast.Tuple, ast.Set, ast.Dict)


def _asserts(node: ast.AST) -> list[ast.AST]:
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Assert)
        or (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr.startswith("assert")
        )
    ]


def _non_empty_literal(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Dict):
        return bool(node.keys)
    return isinstance(node, ast.List | ast.Tuple | ast.Set) and bool(node.elts)


def _literal_names(scope: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(scope):
        if isinstance(n, ast.Assign) and _non_empty_literal(n.value):
            names |= {t.id for t in n.targets if isinstance(t, ast.Name)}
    return names


def _runs_by_construction(iterable: ast.AST, names: set[str]) -> bool:
    if _non_empty_literal(iterable):
        return True
    if isinstance(iterable, ast.Name):
        return iterable.id in names
    if isinstance(iterable, ast.Call):
        func = iterable.func
        if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values"):
            return _runs_by_construction(func.value, names)
        if isinstance(func, ast.Name) and func.id in ("enumerate", "zip", "sorted"):
            return bool(iterable.args) and all(
                _runs_by_construction(a, names) for a in iterable.args
            )
    return False


def loop_only_tests(root: Path = TESTS) -> list[str]:
    found = []
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_names = {
            t.id
            for n in tree.body
            if isinstance(n, ast.Assign) and _non_empty_literal(n.value)
            for t in n.targets
            if isinstance(t, ast.Name)
        }
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not fn.name.startswith("test"):
                continue
            asserts = _asserts(fn)
            loops = [n for n in ast.walk(fn) if isinstance(n, ast.For | ast.AsyncFor)]
            in_loops = {id(a) for loop in loops for a in _asserts(loop)}
            if not asserts or not all(id(a) in in_loops for a in asserts):
                continue
            names = module_names | _literal_names(fn)
            if not all(_runs_by_construction(loop.iter, names) for loop in loops if _asserts(loop)):
                found.append(f"{path.relative_to(root)}:{fn.lineno} {fn.name}")
    return found


def test_tests_that_assert_only_in_loops_assert_the_loop_ran():
    assert loop_only_tests() == []


def test_the_finder_sees_a_loop_only_test(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "def test_a(rows):\n    for r in rows:\n        assert r\n"
        "def test_b(rows):\n    assert rows\n    for r in rows:\n        assert r\n"
        "def test_c():\n    for r in (1, 2):\n        assert r\n"
    )
    assert loop_only_tests(tmp_path) == ["test_x.py:1 test_a"]
