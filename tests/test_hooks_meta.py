"""Meta-tests: every hook is specified and documented, has a test, and pm.hook stays in one file."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from leftbehind import hookspecs
from leftbehind.plugins import NAME, make_plugin_manager

ROOT = Path(__file__).parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith(f"{NAME}_"))


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 5


def test_every_hook_and_record_is_public() -> None:
    records = [n for n in dir(hookspecs) if n.endswith("Record") and n[0].isupper()]
    assert set(HOOKS) | set(records) <= set(hookspecs.__all__)


def test_every_hook_function_is_a_spec_the_manager_knows() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    for name in HOOKS:
        assert hasattr(getattr(hookspecs, name), f"{NAME}_spec"), name
        assert getattr(pm.hook, name).has_spec(), name


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_typed_and_documented(name: str) -> None:
    function = getattr(hookspecs, name)
    signature = inspect.signature(function)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    doc = inspect.getdoc(function) or ""
    assert "Called " in doc, "say when it is called"
    assert ":returns:" in doc
    assert "@hookimpl" in doc, "show an example plugin"
    assert ".. versionadded:: 0.1" in doc


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_heading_and_its_signature_in_the_docs(name: str) -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {name}$", page, flags=re.M), f"docs/plugins.md lacks '## {name}'"
    returns = inspect.signature(getattr(hookspecs, name)).return_annotation
    assert f"def {name}() -> {returns}" in page


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name: str) -> None:
    tests = (ROOT / "tests" / "test_plugins.py").read_text(encoding="utf-8")
    assert re.search(rf"def {name}\(", tests), f"tests/test_plugins.py never implements {name}"


def test_only_plugins_py_touches_pm_hook() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "src" / "leftbehind").rglob("*.py")
        if path.name != "plugins.py" and re.search(r"\.hook\.", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
