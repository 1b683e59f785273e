"""The plugin system: built-ins, entry points (good, broken, misspelt), disabling, names."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.test_quality import SUNDAY

import leftbehind.builtins
from leftbehind import _markers, hookspecs
from leftbehind.backends import sql_plugin
from leftbehind.backends.memory import MemoryStore
from leftbehind.calendars import CalendarFallbackWarning, china_calendar
from leftbehind.domain.calendar import SchoolCalendar, Semester, default_calendar
from leftbehind.domain.dates import Interval
from leftbehind.domain.duties import (
    DEFAULT_KINDS,
    DutyBook,
    DutyKind,
    Frequency,
    Record,
    Status,
    WindowKind,
    check_record,
)
from leftbehind.domain.eligibility import Category, NationalPolicy, PlanPolicy, Span, Timeline
from leftbehind.domain.people import Assignment, Role
from leftbehind.domain.quality import DEFAULT_RULES
from leftbehind.errors import (
    DuplicateNameError,
    PluginError,
    PluginLoadError,
    PluginWarning,
    UnknownBackendError,
    UnknownNameError,
)
from leftbehind.hookspecs import (
    BackendRecord,
    CalendarRecord,
    DutyKindRecord,
    NotifierRecord,
    PolicyRecord,
    QualityRuleRecord,
)
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


def _page_block(page: str, first_line: str) -> str:
    """The code block of a docs page that starts with ``first_line``, tested as it stands."""
    text = (DOCS / page).read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"docs/{page} lost its block {first_line!r}")


def _page_backend() -> str:
    return _page_block("backends.md", "# county_store.py")


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
        if name.startswith(("county_", "broken_", "misspelt_")):
            del sys.modules[name]


def _county_store(site: Path) -> None:
    (site / "county_store.py").write_text(_page_backend(), encoding="utf-8")
    _distribution(site, "county-store", {"county": "county_store"})


# ---------------------------------------------------------------------------------------------
# The manager.


def test_the_specs_and_the_plugins_share_one_name_and_one_pair_of_markers() -> None:
    """The markers live in ``leftbehind._markers`` (so the hookspecs need not import this
    facade); ``leftbehind.plugins.hookimpl`` is the same marker, re-exported for plugins."""
    assert hookimpl is _markers.hookimpl
    assert NAME == _markers.NAME == _markers.hookspec.project_name == hookimpl.project_name
    for name in hookspecs.__all__:
        if name.startswith(f"{NAME}_"):
            assert hasattr(getattr(hookspecs, name), f"{NAME}_spec"), name
    for hook in (leftbehind.builtins.leftbehind_duty_kinds, sql_plugin.leftbehind_storage_backends):
        assert hasattr(hook, f"{NAME}_impl"), hook


def test_each_call_builds_a_fresh_manager() -> None:
    first = make_plugin_manager(load_entrypoints=False)
    second = make_plugin_manager(load_entrypoints=False)
    assert first is not second
    assert first.project_name == NAME


def test_built_ins_are_registered_by_module_path_and_last() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    assert DEFAULT_PLUGINS == (
        "leftbehind.backends.memory",
        "leftbehind.backends.tinydb",
        "leftbehind.backends.sql_plugin",
        "leftbehind.backends.notify",
        "leftbehind.builtins",
    )
    assert {name for name, _ in pm.list_name_plugin()} == set(DEFAULT_PLUGINS)
    assert pm.get_plugin("leftbehind.builtins") is leftbehind.builtins
    hooks = [name for name in hookspecs.__all__ if name.startswith(f"{NAME}_")]
    implemented: set[str] = set()
    for hook in hooks:
        impls = getattr(pm.hook, hook).get_hookimpls()
        assert all(impl.trylast for impl in impls), hook
        implemented.update(impl.plugin_name for impl in impls)
    assert implemented == set(DEFAULT_PLUGINS)  # every built-in plugin implements a hook


def test_creating_the_manager_imports_no_driver_and_no_holiday_package() -> None:
    """psycopg is an optional extra; the holiday packages load when a calendar is built; the SQL
    backend (and SQLAlchemy) when a SQL store is first opened, not when its plugin registers."""
    script = textwrap.dedent(
        """
        import sys
        from leftbehind.plugins import Plugins
        plugins = Plugins.load(load_entrypoints=False)
        plugins.backends(), plugins.notifiers(), plugins.duty_kinds(), plugins.calendars()
        plugins.backend_for("sqlite:///county.db")
        lazy = {"psycopg", "chinese_calendar", "holidays", "sqlalchemy", "leftbehind.backends.sql"}
        print(sorted(lazy & set(sys.modules)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_third_party_records_come_before_built_ins() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_eligibility_policies(self) -> list[PolicyRecord]:
            return [
                PolicyRecord(
                    "plan-strict", "1", lambda: PlanPolicy(name="plan-strict", version="1")
                )
            ]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="county")
    assert list(plugins.policies()) == ["plan-strict", "guangping-plan", "national-2016"]
    assert plugins.policy("plan-strict") == PlanPolicy(name="plan-strict", version="1")


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
    assert set(plugins.backends()) == {
        "memory",
        "tinydb",
        "",
        "sqlite",
        "postgresql",
        "postgres",
        "postgresql+psycopg",
    }
    assert plugins.backend_for("sqlite:///county.db").name == "sql"
    assert plugins.backend_for("postgresql://bureau@db/province").name == "sql"
    assert plugins.backend_for("MEMORY://x").name == "memory"
    assert plugins.backend_for("/srv/county.json").name == "tinydb"
    assert plugins.backend_for("county.json").name == "tinydb"
    assert plugins.backend_for("tinydb:///srv/county.json").name == "tinydb"
    with pytest.raises(UnknownBackendError) as info:
        plugins.backend_for("ftp://host/county.json")
    assert str(info.value) == (
        "no storage backend serves ftp://; choices: a plain path, memory://, postgres://, "
        "postgresql+psycopg://, postgresql://, sqlite://, tinydb://"
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

    plugins = Plugins.load(load_entrypoints=False, disabled=["leftbehind.backends.notify"])
    with pytest.raises(UnknownNameError, match="choices: none registered"):
        plugins.notifier("recorder")
    plugins.manager.register(Plugin(), name="recorder-plugin")
    notifier = plugins.notifier("recorder", {"to": "校长"})
    assert isinstance(notifier, Notifier)
    assert isinstance(notifier, _Recorder)
    assert notifier.config == {"to": "校长"}
    notice = Notice("k1", "班主任", "走访提醒", "本周应走访", "duty_due")
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
        "2",
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


def test_the_built_in_notifiers_are_registered() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    assert set(plugins.notifiers()) == {"log", "webhook", "wecom", "email"}


# ---------------------------------------------------------------------------------------------
# Duty kinds.

PSYCH_CHECK = DutyKind(
    "PSYCH_CHECK",
    "心理健康检查",
    "mental-health check",
    {Role.CLASS_TEACHER},
    Frequency.MONTH,
    WindowKind.TERM_MONTHS,
)


class _CountyKinds:
    """A county's own duty: a monthly mental-health check by the class teacher."""

    @hookimpl
    def leftbehind_duty_kinds(self) -> list[DutyKindRecord]:
        return [DutyKindRecord(PSYCH_CHECK, "县教育局要求")]


def _county_plugins() -> Plugins:
    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(_CountyKinds(), name="county")
    return plugins


def test_the_built_in_duty_kinds_are_the_plans_eight_in_order() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    assert plugins.duty_kinds() == DEFAULT_KINDS
    assert plugins.duty_kind("HOME_VISIT") is DEFAULT_KINDS[4]
    records = plugins.duty_kind_records()
    assert list(records) == [k.code for k in DEFAULT_KINDS]
    assert records["TALK"].name == "TALK"
    assert all(r.description for r in records.values())


def test_a_countys_duty_kind_comes_after_the_plans() -> None:
    plugins = _county_plugins()
    assert plugins.duty_kinds() == (*DEFAULT_KINDS, PSYCH_CHECK)
    assert plugins.duty_kind("PSYCH_CHECK") == PSYCH_CHECK
    assert plugins.duty_kind_records()["PSYCH_CHECK"].description == "县教育局要求"
    with pytest.raises(UnknownNameError) as info:
        plugins.duty_kind("PSY_CHECK")
    assert str(info.value).startswith("no duty kind named 'PSY_CHECK'; choices: FAMILY_CONTACT,")
    assert "PSYCH_CHECK" in info.value.choices
    assert isinstance(info.value, KeyError)


def test_a_countys_duty_shows_in_status_without_changes_to_the_library() -> None:
    plugins = _county_plugins()
    calendar = plugins.calendar("default", [2025])
    timeline = Timeline(
        "c1", "test", "1", [Span(date(2025, 1, 1), None, Category.LEFT_BEHIND_BOTH)]
    )
    teacher = Assignment("a1", "t1", "c1", Role.CLASS_TEACHER, date(2025, 2, 1))
    check = Record("r1", "PSYCH_CHECK", "c1", "t1", date(2025, 9, 10))
    assert check_record(check, today=date(2025, 11, 15), kinds=plugins.duty_kinds()) == []
    book = DutyBook(calendar, plugins.duty_kinds(), {"c1": timeline}, [teacher], [check])
    autumn = Interval(date(2025, 9, 1), date(2026, 1, 1))
    as_of = date(2025, 11, 15)
    checks = list(book.occurrences(autumn, as_of, kinds=["PSYCH_CHECK"]))
    assert [(o.window.start, o.owner_id, o.status, o.record_id) for o in checks] == [
        (date(2025, 9, 1), "t1", Status.DONE, "r1"),
        (date(2025, 10, 1), "t1", Status.OVERDUE, None),
        (date(2025, 11, 1), "t1", Status.DUE, None),
        (date(2025, 12, 1), "t1", Status.UPCOMING, None),
    ]
    counts = book.compliance(autumn, as_of).by_kind["PSYCH_CHECK"]
    assert (counts.due, counts.done, counts.overdue, counts.open) == (3, 1, 1, 1)  # 应完成 3
    assert list(book.unmatched_records(autumn, as_of)) == []


def test_the_pages_duty_kind_plugin_by_entry_point(site: Path) -> None:
    (site / "county_duties.py").write_text(
        _page_block("plugins.md", "# county_duties.py"), encoding="utf-8"
    )
    _distribution(site, "county-duties", {"county-duties": "county_duties"})
    plugins = Plugins.load(strict=True)
    assert plugins.duty_kinds() == (*DEFAULT_KINDS, PSYCH_CHECK)


def test_a_duty_kind_code_registered_twice_names_both_plugins() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_duty_kinds(self) -> list[DutyKindRecord]:
            visit = attrs.evolve(DEFAULT_KINDS[4], label_zh="家访")
            return [DutyKindRecord(visit)]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="county")
    with pytest.raises(DuplicateNameError) as info:
        plugins.duty_kinds()
    assert (info.value.what, info.value.name) == ("duty kind", "HOME_VISIT")
    assert info.value.plugins == ("county", "leftbehind.builtins")
    with pytest.raises(DuplicateNameError):
        plugins.duty_kind("TALK")


def test_a_default_kind_is_replaced_by_disabling_the_built_ins(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / "county_rules.py").write_text(
        _page_block("plugins.md", "# county_rules.py"), encoding="utf-8"
    )
    _distribution(site, "county-rules", {"county-rules": "county_rules"})
    monkeypatch.setenv(DISABLED_PLUGINS_ENV, "leftbehind.builtins")
    plugins = Plugins.load(strict=True)
    assert not plugins.manager.has_plugin("leftbehind.builtins")
    kinds = plugins.duty_kinds()
    assert [k.code for k in kinds] == [k.code for k in DEFAULT_KINDS]  # in the plan's place
    assert kinds[4].owner_roles == {Role.PROXY_PARENT, Role.STAFF_PAIR}
    assert [k for k in kinds if k.code != "HOME_VISIT"] == list(
        DEFAULT_KINDS[:4] + DEFAULT_KINDS[5:]
    )
    assert plugins.policy("guangping-plan") == PlanPolicy()  # the rest is kept
    assert set(plugins.calendars()) == {"china", "default"}


@given(
    codes=st.sets(st.from_regex(r"[A-Z][A-Z_]{0,11}", fullmatch=True), max_size=6).map(sorted),
    split=st.integers(min_value=0, max_value=6),
    reverse=st.booleans(),
)
def test_duty_kinds_come_in_one_order_whatever_the_plugins_order(
    codes: list[str], split: int, reverse: bool
) -> None:
    new = [c for c in codes if c not in {k.code for k in DEFAULT_KINDS}]
    kinds = [attrs.evolve(PSYCH_CHECK, code=c) for c in reversed(new)]  # registered unsorted

    class Plugin:
        def __init__(self, mine: list[DutyKind]) -> None:
            self.mine = mine

        @hookimpl
        def leftbehind_duty_kinds(self) -> list[DutyKindRecord]:
            return [DutyKindRecord(k) for k in self.mine]

    plugins = Plugins.load(load_entrypoints=False)
    parts = [kinds[:split], kinds[split:]]
    for n, part in enumerate(reversed(parts) if reverse else parts):
        plugins.manager.register(Plugin(part), name=f"county-{n}")
    assert [k.code for k in plugins.duty_kinds()] == [k.code for k in DEFAULT_KINDS] + new


def test_a_duty_kind_record_holds_a_duty_kind() -> None:
    class Plugin:
        @hookimpl
        def leftbehind_duty_kinds(self) -> list[DutyKindRecord]:
            return [DutyKindRecord("PSYCH_CHECK")]  # type: ignore[arg-type]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Plugin(), name="careless")
    with pytest.warns(PluginWarning, match="plugin 'careless' failed in leftbehind_duty_kinds"):
        assert plugins.duty_kinds() == DEFAULT_KINDS


# ---------------------------------------------------------------------------------------------
# Calendars.


def test_the_built_in_calendars_by_name() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    assert list(plugins.calendars()) == ["china", "default"]
    assert plugins.calendar("default", [2025]) == default_calendar([2025])
    china = plugins.calendar("china", [2025])
    assert china == china_calendar([2025])
    assert date(2025, 10, 1) in china.holidays
    assert date(2025, 9, 28) in china.workdays  # a Sunday of 调休
    assert china.is_school_day(date(2025, 9, 28))
    assert not china.is_school_day(date(2025, 10, 2))


def test_a_year_chinesecalendar_does_not_know_warns() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    with pytest.warns(CalendarFallbackWarning) as caught:
        calendar = plugins.calendar("china", [2040])
    warning = caught[0].message
    assert isinstance(warning, CalendarFallbackWarning)
    assert warning.years == (2040, 2041)
    assert date(2040, 10, 1) in calendar.holidays  # the holidays package still knows it


def test_an_unknown_calendar_lists_the_choices() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    with pytest.raises(UnknownNameError) as info:
        plugins.calendar("lunar", [2025])
    assert str(info.value) == "no calendar named 'lunar'; choices: china, default"
    assert info.value.choices == ("china", "default")


def test_the_pages_county_calendar_by_entry_point(site: Path) -> None:
    (site / "county_calendar.py").write_text(
        _page_block("plugins.md", "# county_calendar.py"), encoding="utf-8"
    )
    _distribution(site, "county-calendar", {"county-calendar": "county_calendar"})
    plugins = Plugins.load(strict=True)
    assert list(plugins.calendars()) == ["guangping", "china", "default"]
    calendar = plugins.calendar("guangping", (y for y in [2025]))  # any iterable of years
    assert [s.start for s in calendar.semesters] == [date(2025, 2, 24), date(2025, 9, 1)]
    assert not calendar.is_school_day(date(2025, 9, 10))  # the county's day off
    assert calendar.is_school_day(date(2025, 9, 28))  # China's make-up day


class _CountyCalendars:
    def __init__(self, name: str, result: object = None) -> None:
        self.name, self.result = name, result

    def build(self, years: Iterable[int]) -> SchoolCalendar:
        if self.result is not None:
            return self.result  # type: ignore[return-value]
        years = list(years)
        return SchoolCalendar([Semester(date(y, 3, 1), date(y, 7, 1)) for y in years])

    @hookimpl
    def leftbehind_calendars(self) -> list[CalendarRecord]:
        return [CalendarRecord(self.name, self.build, "县校历")]


def test_a_calendar_name_registered_twice_names_both_plugins() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(_CountyCalendars("china"), name="county")
    with pytest.raises(DuplicateNameError) as info:
        plugins.calendar("default", [2025])
    assert (info.value.what, info.value.name) == ("calendar", "china")
    assert info.value.plugins == ("county", "leftbehind.builtins")


def test_a_calendar_factory_gets_the_years_and_must_build_a_calendar() -> None:
    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(_CountyCalendars("spring-only"), name="county")
    plugins.manager.register(_CountyCalendars("odd", result=object()), name="odd")
    calendar = plugins.calendar("spring-only", iter([2025, 2026]))
    assert [s.start for s in calendar.semesters] == [date(2025, 3, 1), date(2026, 3, 1)]
    with pytest.raises(PluginError, match="'odd' returned something that is not a SchoolCalendar"):
        plugins.calendar("odd", [2025])


# Data-quality rules.


class _CountyRules:
    """A county's own data-quality rule: home visits on a Sunday."""

    @hookimpl
    def leftbehind_quality_rules(self) -> list[QualityRuleRecord]:
        return [QualityRuleRecord(SUNDAY, "县教育局要求")]


def test_the_built_in_quality_rules_come_first_and_a_plugins_after() -> None:
    assert Plugins.load(load_entrypoints=False).quality_rules() == DEFAULT_RULES
    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(_CountyRules(), name="county")
    assert plugins.quality_rules() == (*DEFAULT_RULES, SUNDAY)
    assert plugins.quality_rule_records()["sunday_visit"].description == "县教育局要求"


def test_a_quality_rule_code_belongs_to_one_plugin() -> None:
    class Copycat:
        @hookimpl
        def leftbehind_quality_rules(self) -> list[QualityRuleRecord]:
            return [QualityRuleRecord(DEFAULT_RULES[0])]

    plugins = Plugins.load(load_entrypoints=False)
    plugins.manager.register(Copycat(), name="copycat")
    with pytest.raises(DuplicateNameError):
        plugins.quality_rules()
