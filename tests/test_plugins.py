"""The plugin system: built-ins, entry points (good, broken, misspelt), disabling, names."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import leftbehind.builtins
from leftbehind.backends.memory import MemoryStore
from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.errors import (
    DuplicateNameError,
    PluginError,
    PluginLoadError,
    PluginWarning,
    UnknownBackendError,
    UnknownNameError,
)
from leftbehind.hookspecs import BackendRecord, NotifierRecord, PolicyRecord
from leftbehind.notifiers import Notice, Notifier
from leftbehind.plugins import (
    DEFAULT_PLUGINS,
    DISABLED_PLUGINS_ENV,
    NAME,
    Plugins,
    hookimpl,
    make_plugin_manager,
)
from leftbehind.store import Store
from leftbehind.testing.contract import StoreContract

DOCS = Path(__file__).parent.parent / "docs"


def _page_backend() -> str:
    """The backend printed in docs/backends.md, so the page's example is tested as it stands."""
    text = (DOCS / "backends.md").read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        if block.startswith("# county_store.py"):
            return str(block)
    raise AssertionError("docs/backends.md lost its backend")


def _distribution(root: Path, dist: str, entry_points: Mapping[str, str]) -> None:
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{NAME}]\n{lines}")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path holding plugin distributions, as if pip had installed them."""
    root = tmp_path / "site"
    root.mkdir()
    before = set(sys.modules)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv(DISABLED_PLUGINS_ENV, raising=False)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith(("county_store", "broken_", "misspelt_")):
            del sys.modules[name]


def _county_store(site: Path) -> None:
    (site / "county_store.py").write_text(_page_backend(), encoding="utf-8")
    _distribution(site, "county-store", {"county": "county_store"})


# ---------------------------------------------------------------------------------------------
# The manager.


def test_each_call_builds_a_fresh_manager() -> None:
    first = make_plugin_manager(load_entrypoints=False)
    second = make_plugin_manager(load_entrypoints=False)
    assert first is not second
    assert first.project_name == NAME


def test_built_ins_are_registered_by_module_path_and_last() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    assert {name for name, _ in pm.list_name_plugin()} == set(DEFAULT_PLUGINS)
    assert pm.get_plugin("leftbehind.builtins") is leftbehind.builtins
    for caller in (pm.hook.leftbehind_storage_backends, pm.hook.leftbehind_eligibility_policies):
        assert all(impl.trylast for impl in caller.get_hookimpls())


def test_third_party_records_come_before_built_ins() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_eligibility_policies(self) -> list[PolicyRecord]:
            return [PolicyRecord("plan-strict", "1", lambda: PlanPolicy(name="plan-strict"))]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="county")
    assert list(plugins.policies()) == ["plan-strict", "guangping-plan", "national-2016"]
    assert plugins.policy("plan-strict") == PlanPolicy(name="plan-strict")


@pytest.mark.parametrize("how", ["env", "argument"])
def test_disabled_plugins_are_not_registered(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "env":
        monkeypatch.setenv(DISABLED_PLUGINS_ENV, " leftbehind.backends.memory ,nothing")
        plugins = Plugins.load(load_entrypoints=False)
    else:
        plugins = Plugins.load(load_entrypoints=False, disabled=["leftbehind.backends.memory"])
    assert plugins.manager.get_plugin("leftbehind.backends.memory") is None
    with pytest.raises(UnknownBackendError) as info:
        plugins.open_store("memory://")
    assert "tinydb://" in str(info.value)
    assert isinstance(info.value, KeyError)


# ---------------------------------------------------------------------------------------------
# Entry points.


def test_a_plugin_by_entry_point_opens_its_store(site: Path) -> None:
    _county_store(site)
    plugins = Plugins.load(strict=True)
    assert plugins.manager.has_plugin("county")
    assert plugins.backend_for("county://archive").name == "county"
    with plugins.open_store("county://archive") as store, store.unit_of_work() as uow:
        uow.put("child", "C001", {"name": "李小明"})
        uow.commit()
        assert store.get("child", "C001") == {"name": "李小明"}


class TestBackendByEntryPoint(StoreContract):
    """The page's backend, installed by entry point, passes the whole contract."""

    @pytest.fixture(autouse=True)
    def _installed(self, site: Path) -> None:
        _county_store(site)

    def make_store(self, path: Path) -> Store:
        return Plugins.load(strict=True).open_store("county://archive")


def test_a_broken_plugin_is_named_with_its_distribution_and_skipped(site: Path) -> None:
    _county_store(site)
    (site / "broken_plugin.py").write_text("import no_such_module_here\n")
    _distribution(site, "broken-plugin", {"broken": "broken_plugin"})
    with pytest.warns(PluginWarning, match=r"'broken' from distribution broken-plugin 1\.0"):
        plugins = Plugins.load()
    assert not plugins.manager.has_plugin("broken")
    assert "county" in plugins.backends()  # the others still load


def test_a_broken_plugin_raises_in_strict_mode(site: Path) -> None:
    _distribution(site, "broken-target", {"broken": "broken_missing:nothing"})
    with pytest.raises(PluginLoadError) as info:
        make_plugin_manager(strict=True)
    assert info.value.plugin == "broken"
    assert info.value.distribution == "broken-target 1.0"
    assert isinstance(info.value, ImportError)


def test_a_misspelt_hook_is_refused(site: Path) -> None:
    (site / "misspelt_plugin.py").write_text(
        textwrap.dedent(
            """
            from leftbehind.plugins import hookimpl

            @hookimpl
            def leftbehind_storage_backend():
                return []
            """
        )
    )
    _distribution(site, "misspelt", {"misspelt": "misspelt_plugin"})
    with pytest.warns(PluginWarning, match="unknown hook 'leftbehind_storage_backend'"):
        pm = make_plugin_manager()
    assert not pm.has_plugin("misspelt")
    pm.check_pending()
    with pytest.raises(PluginLoadError, match="misspelt"):
        make_plugin_manager(strict=True)


def test_a_disabled_entry_point_is_not_even_imported(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / "broken_on_import.py").write_text("raise RuntimeError('imported')\n")
    _distribution(site, "broken-on-import", {"noisy": "broken_on_import"})
    monkeypatch.setenv(DISABLED_PLUGINS_ENV, "noisy")
    pm = make_plugin_manager(strict=True)
    assert not pm.has_plugin("noisy")


# ---------------------------------------------------------------------------------------------
# Records by name.


def test_storage_backends_by_scheme() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    assert set(plugins.backends()) == {"memory", "tinydb", ""}
    assert plugins.backend_for("MEMORY://x").name == "memory"
    assert plugins.backend_for("/srv/county.json").name == "tinydb"
    assert plugins.backend_for("county.json").name == "tinydb"
    assert plugins.backend_for("tinydb:///srv/county.json").name == "tinydb"
    with pytest.raises(UnknownBackendError) as info:
        plugins.backend_for("ftp://host/county.json")
    assert str(info.value) == (
        "no storage backend serves ftp://; choices: a plain path, memory://, tinydb://"
    )


def test_open_store_gives_a_store() -> None:
    with Plugins.load(load_entrypoints=False).open_store("memory://") as store:
        assert isinstance(store, MemoryStore)


def test_duplicate_scheme_names_both_plugins() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_storage_backends(self) -> list[BackendRecord]:
            return [BackendRecord("other-memory", "memory", lambda url: MemoryStore())]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="copycat")
    with pytest.raises(DuplicateNameError) as info:
        plugins.open_store("memory://")
    assert info.value.plugins == ("copycat", "leftbehind.backends.memory")
    assert "LEFTBEHIND_DISABLED_PLUGINS" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_a_backend_returning_a_non_store_is_an_error() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_storage_backends(self) -> list[BackendRecord]:
            return [BackendRecord("odd", "odd", lambda url: object())]  # type: ignore[arg-type,return-value]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="odd")
    with pytest.raises(PluginError, match="'odd' returned something that is not a Store"):
        plugins.open_store("odd://x")


class _Recorder:
    def __init__(self, config: Mapping[str, str]) -> None:
        self.config = dict(config)
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


def test_notifiers_by_name() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_notifiers(self) -> list[NotifierRecord]:
            return [NotifierRecord("recorder", _Recorder, "keeps what it is sent")]

    plugins = Plugins.load(load_entrypoints=False)
    with pytest.raises(UnknownNameError, match="choices: none registered"):
        plugins.notifier("recorder")
    plugins.manager.register(Plugin(), name="recorder-plugin")
    notifier = plugins.notifier("recorder", {"to": "校長"})
    assert isinstance(notifier, Notifier)
    assert isinstance(notifier, _Recorder)
    assert notifier.config == {"to": "校長"}
    notice = Notice("k1", "班主任", "走訪提醒", "本週應走訪", "duty_due")
    notifier.send(notice)
    assert notifier.sent == [notice]
    with pytest.raises(UnknownNameError) as info:
        plugins.notifier("sms")
    assert info.value.choices == ("recorder",)
    assert str(info.value) == "no notifier named 'sms'; choices: recorder"


def test_eligibility_policies_by_name() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    assert plugins.policy("guangping-plan") == PlanPolicy()
    assert plugins.policy("national-2016") == NationalPolicy()
    records = plugins.policies()
    assert (records["guangping-plan"].name, records["guangping-plan"].version) == (
        "guangping-plan",
        "1",
    )
    with pytest.raises(UnknownNameError, match="choices: guangping-plan, national-2016"):
        plugins.policy("plan")


def test_a_policy_record_must_build_its_own_policy() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_eligibility_policies(self) -> list[PolicyRecord]:
            return [PolicyRecord("liar", "2", PlanPolicy)]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="liar")
    with pytest.raises(PluginError, match="built a policy named 'guangping-plan'"):
        plugins.policy("liar")


@pytest.mark.parametrize("answer", ["raises", "not a list", "wrong records"])
def test_a_failing_registration_hook_is_named_and_skipped(answer: str) -> None:
    class Plugin:
        @hookimpl
        def leftbehind_eligibility_policies(self) -> object:
            if answer == "raises":
                raise RuntimeError("database down")
            if answer == "not a list":
                return None
            return [BackendRecord("x", "x", lambda url: MemoryStore())]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="flaky")
    with pytest.warns(PluginWarning, match="plugin 'flaky' failed in leftbehind_eligibility"):
        assert set(plugins.policies()) == {"guangping-plan", "national-2016"}
    strict = Plugins(plugins.manager, strict=True)
    with pytest.raises(PluginError) as info:
        strict.policies()
    assert info.value.plugin == "flaky"
