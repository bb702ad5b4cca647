"""The shape rules of docs/architecture.md that the import contract does not cover.

Modules stay under 600 lines and functions under 80 (a longer one becomes a
package of modules, or named steps); imports sit at module level, except where
Django requires them inside a function: ``AppConfig.ready``, where models have
loaded. The layers themselves are checked by ``lint-imports`` (``make lint``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "mes",
    "releases",
    "inventory",
    "workorders",
    "planning",
    "quality",
    "floor",
    "integrations",
    "monitoring",
    "simulation",
    "drills",
)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# Where Django itself needs an import inside a function.
FUNCTION_IMPORTS_ALLOWED_IN = {"ready"}
MAX_FUNCTION_IMPORTS = 10


def _app_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _function_imports(tree: ast.AST) -> list[tuple[str, int]]:
    found = []
    for function in _functions(tree):
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append((function.name, node.lineno))
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_app_code_is_found():
    assert len(_app_modules()) > 100


@pytest.mark.parametrize("app", APPS)
def test_no_module_is_longer_than_the_limit(app):
    too_long = {
        _name(path): lines
        for path in _app_modules()
        if path.parts[len(ROOT.parts)] == app
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


@pytest.mark.parametrize("app", APPS)
def test_no_function_is_longer_than_the_limit(app):
    too_long = {}
    for path in _app_modules():
        if path.parts[len(ROOT.parts)] != app:
            continue
        for function in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            lines = function.end_lineno - function.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                too_long[f"{_name(path)}:{function.lineno} {function.name}"] = lines
    assert too_long == {}


def test_imports_inside_functions_only_where_django_requires_them():
    inside = {
        f"{_name(path)}:{line} in {function}"
        for path in _app_modules()
        for function, line in _function_imports(ast.parse(path.read_text(encoding="utf-8")))
    }
    elsewhere = {
        place for place in inside if place.rsplit(" in ", 1)[1] not in FUNCTION_IMPORTS_ALLOWED_IN
    }
    assert elsewhere == set()
    assert len(inside) <= MAX_FUNCTION_IMPORTS
