"""Data-quality rules: each built-in on hand-made cases, a plugin's rule, the county handle on
every backend with the gate's scope, and ``leftbehind check``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import leftbehind
from leftbehind.access import Actor
from leftbehind.cli import main
from leftbehind.domain.duties import Record
from leftbehind.domain.eligibility import Category, Span, Timeline
from leftbehind.domain.ids import check_digit
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.domain.people import Assignment, Role, Staff
from leftbehind.domain.quality import (
    BURST_LIMIT,
    DEFAULT_RULES,
    Flag,
    QualityFacts,
    QualityRule,
    Severity,
    backdated,
    bursts,
    duplicate_pairs,
    id_birth_mismatch,
    id_sex_mismatch,
    likely_duplicates,
    not_assigned,
    not_served,
    run_rules,
)
from leftbehind.errors import FactWarning
from leftbehind.hookspecs import QualityRuleRecord
from leftbehind.plugins import Plugins, hookimpl

SYSTEM = Actor.system("tests")
DAY = date(2025, 10, 9)
AS_OF = date(2026, 1, 9)
SCHOOLS = {"S1": School("S1", "一小", "T1"), "S2": School("S2", "二小", "T1")}


def rid(birth: str, seq: str) -> str:
    body = f"130432{birth}{seq}"
    return body + check_digit(body)


def kid(
    key: str,
    school: str = "S1",
    name: str = "王芳",
    born: date = date(2015, 3, 12),
    sex: Sex = Sex.FEMALE,
    resident_id: str = "",
) -> Child:
    away = Parent(absences=(Absence(date(2025, 1, 1)),))
    return Child(
        key,
        name,
        sex,
        born,
        resident_id=resident_id,
        enrolments=(Enrolment(school, date(2025, 9, 1), 4),),
        father=away,
        mother=Parent(),
    )


def facts(**kw: object) -> QualityFacts:
    return QualityFacts(AS_OF, SCHOOLS, **kw)  # type: ignore[arg-type]


def served(key: str) -> Timeline:
    return Timeline(key, "p", "1", (Span(date(2025, 1, 1), None, Category.LEFT_BEHIND_ONE),))


def rec(
    key: str, child: str = "C1", staff: str = "T1", on: date = DAY, kind: str = "TALK"
) -> Record:
    return Record(key, kind, child, staff, on)


def codes(rule: QualityRule, f: QualityFacts) -> list[tuple[str, str]]:
    return [(x.rule, x.key) for x in run_rules([rule], f).findings]


# ---------------------------------------------------------------------- the rules, by hand


def test_a_burst_is_more_than_the_limit_by_one_person_on_one_day() -> None:
    many = [rec(f"r{i}", f"C{i}") for i in range(BURST_LIMIT + 1)]
    found = run_rules([bursts()], facts(records=many, staff={"T1": Staff("T1", "x", "S1")}))
    [f] = found.findings
    assert (f.rule, f.subject, f.key, f.school_id, f.day, f.count) == (
        "record_burst",
        "staff",
        "T1",
        "S1",
        DAY,
        BURST_LIMIT + 1,
    )
    assert f.severity is Severity.WARNING
    assert codes(bursts(), facts(records=many[:-1])) == []
    other_day = [*many[:-1], rec("late", on=DAY + timedelta(days=1))]
    assert codes(bursts(), facts(records=other_day)) == []
    lectures = [rec(f"r{i}", f"C{i}", kind="PARENT_LECTURE") for i in range(40)]
    assert codes(bursts(), facts(records=lectures)) == []
    assert codes(bursts(limit=3), facts(records=many[:4])) == [("record_burst", "T1")]


@given(
    st.lists(st.tuples(st.sampled_from(["T1", "T2"]), st.integers(0, 3)), max_size=40),
    st.lists(st.tuples(st.sampled_from(["T1", "T2"]), st.integers(0, 3)), max_size=10),
)
def test_adding_records_never_removes_a_burst(
    first: list[tuple[str, int]], more: list[tuple[str, int]]
) -> None:
    def records(pairs: list[tuple[str, int]], prefix: str) -> list[Record]:
        return [
            rec(f"{prefix}{i}", "C1", s, DAY + timedelta(days=d)) for i, (s, d) in enumerate(pairs)
        ]

    rule = bursts(limit=4)
    before = {
        (f.key, f.day) for f in run_rules([rule], facts(records=records(first, "a"))).findings
    }
    after_records = records(first, "a") + records(more, "b")
    after = {(f.key, f.day) for f in run_rules([rule], facts(records=after_records)).findings}
    assert before <= after


def test_a_record_entered_long_after_its_day_is_back_dated() -> None:
    late, soon, unknown = rec("late"), rec("soon"), rec("unknown")
    entered = {"late": DAY + timedelta(days=31), "soon": DAY + timedelta(days=30)}
    f = facts(records=[late, soon, unknown], entered=entered, children={"C1": kid("C1")})
    [found] = run_rules([backdated()], f).findings
    assert (found.key, found.subject, found.school_id, found.count) == ("late", "record", "S1", 31)
    assert codes(backdated(days=60), f) == []
    # entered after the day of the check: not known yet, so not judged
    assert codes(backdated(), facts(records=[late], entered={"late": AS_OF + timedelta(1)})) == []


def test_a_record_for_a_child_not_served_that_day() -> None:
    timelines = {"C1": served("C1")}
    records = [rec("ok"), rec("before", on=date(2024, 12, 1)), rec("none", "C2")]
    assert codes(not_served(), facts(records=records, timelines=timelines)) == [
        ("record_not_served", "before"),
        ("record_not_served", "none"),
    ]


def test_a_record_by_someone_not_assigned_that_day() -> None:
    holds = Assignment("A1", "T1", "C1", Role.CLASS_TEACHER, date(2025, 9, 1), date(2025, 12, 1))
    records = [rec("ok"), rec("after", on=date(2025, 12, 1)), rec("other", staff="T2")]
    found = run_rules([not_assigned()], facts(records=records, assignments=[holds])).findings
    assert [(f.key, f.related) for f in found] == [("after", ("C1", "T1")), ("other", ("C1", "T2"))]


def test_likely_duplicates_by_name_and_birth_in_a_township_or_near_ids() -> None:
    children = {
        "C1": kid("C1", resident_id=rid("20150312", "002")),
        "C2": kid("C2", "S2", name="王 芳"),  # same township, spaces aside
        "C3": kid("C3", name="李明", born=date(2014, 1, 1), resident_id=rid("20150312", "012")),
        "C4": kid("C4", name="李明", born=date(2014, 1, 2)),  # another birth date
        "C5": kid("C5", name="张三", resident_id=rid("20150312", "112")),  # two digits from C1
        # one digit from C1, its name too (born another day: the birth date was mistyped)
        "C6": kid("C6", born=date(2015, 3, 13), resident_id=rid("20150312", "003")),
    }
    # C3 and C1, C5 and C3: IDs one digit apart but other names (born one day, twins perhaps)
    assert duplicate_pairs(facts(children=children)) == {
        ("C1", "C2"): "name_birth",
        ("C1", "C6"): "resident_id",
    }
    found = run_rules([likely_duplicates()], facts(children=children)).findings
    assert next((f.key, f.related, f.reason) for f in found) == ("C1", ("C2",), "name_birth")
    other_town = dict(SCHOOLS, S2=School("S2", "二小", "T2"))
    assert (
        duplicate_pairs(
            QualityFacts(AS_OF, other_town, {"C1": children["C1"], "C2": children["C2"]})
        )
        == {}
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["王芳", "李明"]),
            st.integers(0, 2),
            st.sampled_from(["", "001", "011", "002", "102"]),
        ),
        max_size=8,
    )
)
def test_the_duplicate_rule_is_symmetric(rows: list[tuple[str, int, str]]) -> None:
    made = [
        kid(f"C{i}", name=n, born=date(2015, 1, 1 + b), resident_id=rid("20150101", s) if s else "")
        for i, (n, b, s) in enumerate(rows)
    ]
    forward = facts(children={c.id: c for c in made})
    backward = facts(children={c.id: c for c in reversed(made)})
    assert duplicate_pairs(forward) == duplicate_pairs(backward)
    for a, b in duplicate_pairs(forward):
        assert a < b
        pair = {a: forward.children[a], b: forward.children[b]}
        assert (a, b) in duplicate_pairs(facts(children=pair))


def test_birth_date_or_sex_disagreeing_with_the_resident_id() -> None:
    children = {
        "ok": kid("ok", resident_id=rid("20150312", "002")),
        "born": kid("born", resident_id=rid("20150313", "002")),
        "sex": kid("sex", resident_id=rid("20150312", "001")),
        "none": kid("none"),
    }
    f = facts(children=children)
    [birth] = run_rules([id_birth_mismatch()], f).findings
    assert (birth.key, birth.severity, birth.school_id) == ("born", Severity.ERROR, "S1")
    assert codes(id_sex_mismatch(), f) == [("id_sex_mismatch", "sex")]
    report = run_rules(DEFAULT_RULES, f)
    assert not report.ok
    assert report.counts()["S1"]["error"] == 1


def test_a_rule_needs_a_label_in_every_language() -> None:
    with pytest.raises(ValueError, match="zh_TW, en"):
        QualityRule("x", Severity.INFO, {"zh_CN": "x"}, lambda f: ())


# ---------------------------------------------------------------------- plugins

SUNDAY = QualityRule(
    "sunday_visit",
    Severity.INFO,
    {"zh_CN": "周日家访", "zh_TW": "週日家訪", "en": "home visit on a Sunday"},
    lambda facts: (Flag("record", r.id, day=r.on) for r in facts.records if r.on.weekday() == 6),
)


# ---------------------------------------------------------------------- the county handle


def load(url: str) -> None:
    """Two schools of one township; C1, C2 at S1 (teacher T1), C3, C4 at S2 (teacher T2);
    C4 is likely C3; C2's ID's sex digit is not C2's sex; T1's R3 is for C3, not theirs; R4
    was entered three months after its day."""

    def at(day: date) -> leftbehind.County:
        return leftbehind.open(
            url,
            actor=SYSTEM,
            today=lambda: day,
            now=lambda: datetime(day.year, day.month, day.day, 4, tzinfo=UTC),
        )

    with at(DAY) as county:
        county.put_schools(SCHOOLS.values())
        with pytest.warns(FactWarning):
            county.put_children(
                [
                    kid("C1"),
                    kid("C2", name="李明", resident_id=rid("20150312", "001")),
                    kid("C3", "S2", name="张三"),
                    kid("C4", "S2", name="张 三"),
                ]
            )
        county.put_staff([Staff("T1", "甲", "S1"), Staff("T2", "乙", "S2")])
        county.put_assignments(
            [
                Assignment(f"A{c}", t, c, Role.CLASS_TEACHER, date(2025, 9, 1))
                for c, t in (("C1", "T1"), ("C2", "T1"), ("C3", "T2"), ("C4", "T2"))
            ]
        )
        county.add_records([rec("R1"), rec("R2", "C2"), rec("R3", "C3")])
    with at(date(2026, 1, 8)) as county:
        county.add_records([rec("R4", on=date(2025, 10, 1))])


def keys(report: object) -> set[tuple[str, str]]:
    return {(f.rule, f.key) for f in report.findings}  # type: ignore[attr-defined]


def test_the_handle_checks_on_every_backend_scoped_by_the_gate(store_url: str) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: AS_OF) as county:
        report = county.quality()
        assert report.as_of == AS_OF
        assert report.ok
        assert keys(report) == {
            ("record_backdated", "R4"),
            ("record_not_assigned", "R3"),
            ("likely_duplicate", "C3"),
            ("id_sex_mismatch", "C2"),
        }
        assert set(report.by_school()) == {"S1", "S2"}
        assert keys(county.quality(school="S1")) == {
            ("record_backdated", "R4"),
            ("id_sex_mismatch", "C2"),
        }
        # as of the day after R1..R3: R4 was not entered yet
        assert ("record_backdated", "R4") not in keys(county.quality(as_of=DAY))
        with pytest.raises(leftbehind.NotFoundError):
            county.quality(school="S9")
    head = Actor.school_head("H2", "S2")
    with leftbehind.open(store_url, actor=head, today=lambda: AS_OF) as county:
        assert keys(county.quality()) == {("record_not_assigned", "R3"), ("likely_duplicate", "C3")}
        assert county.quality(school="S1").findings == ()
    with leftbehind.open(store_url, actor=Actor.staff("T1"), today=lambda: AS_OF) as county:
        assert keys(county.quality()) == {("record_backdated", "R4"), ("id_sex_mismatch", "C2")}
    volunteer = Actor.volunteer("V1")
    with (
        leftbehind.open(store_url, actor=volunteer, today=lambda: AS_OF) as county,
        pytest.raises(leftbehind.AccessDeniedError),
    ):
        county.quality()


def test_a_schools_printed_form_counts_its_findings(store_url: str, tmp_path: Path) -> None:
    """The 动态状况表 carries the school's data-quality findings by severity under its
    signature line (one school, or every school's form)."""
    from openpyxl import load_workbook

    load(store_url)
    head = Actor.school_head("H2", "S2")
    with leftbehind.open(store_url, actor=head, today=lambda: AS_OF) as county:
        path = county.export_ledger("school", key="S2", format="xlsx", path=tmp_path / "s2.xlsx")
        text = county.export_ledger("school", key="S2")
    cells = [str(c.value) for c in load_workbook(path).worksheets[0]["A"] if c.value]
    line = f"截至{AS_OF.isoformat()}数据质量检查：错误0条，警告2条，提示0条"
    assert any(v.startswith(line) for v in cells), cells[-3:]
    assert line in text
    assert f"截至{AS_OF.isoformat()}跟进事项：待办0项，逾期0项，已报校长0项，已结0项" in text
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: AS_OF) as county:
        every = county.export_ledger("schools")
    assert every.count("数据质量检查") == 2
    assert "错误0条，警告2条" in every
    assert "错误0条，警告0条" not in every  # S1 has two findings too


def test_the_check_command_lists_findings_per_school_and_exits_by_severity(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("LEFTBEHIND_LANG", "LEFTBEHIND_ACTOR", "LEFTBEHIND_STORE"):
        monkeypatch.delenv(env, raising=False)
    store = f"{tmp_path}/county.json"
    load(store)
    done = CliRunner().invoke(main, ["check", "--store", store, "--as-of", "2026-01-09", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["ok"] is True
    assert data["as_of"] == "2026-01-09"
    assert data["schools"]["S1"]["counts"] == {"error": 0, "warning": 2, "info": 0}
    found = {(f["rule"], f["key"], f["severity"]) for f in data["schools"]["S2"]["findings"]}
    assert found == {
        ("record_not_assigned", "R3", "warning"),
        ("likely_duplicate", "C3", "warning"),
    }
    assert "李明" not in done.stdout
    assert "张三" not in done.stdout
    text_run = CliRunner().invoke(
        main, ["check", "--store", store, "--as-of", "2026-01-09", "--lang", "en", "--school", "S2"]
    )
    assert text_run.exit_code == 0, text_run.output
    assert "school S2: 0 errors, 2 warnings, 0 infos" in text_run.stdout
    assert "likely the same child twice (likely_duplicate)  child C3" in text_run.stdout


def test_the_check_command_exits_1_on_an_error_finding(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("LEFTBEHIND_LANG", "LEFTBEHIND_ACTOR", "LEFTBEHIND_STORE"):
        monkeypatch.delenv(env, raising=False)
    store = f"{tmp_path}/county.json"
    load(store)
    strict = QualityRule(
        "every_record",
        Severity.ERROR,
        SUNDAY.labels,
        lambda facts: (Flag("record", r.id) for r in facts.records),
    )

    class Strict:
        @hookimpl
        def leftbehind_quality_rules(self) -> list[QualityRuleRecord]:
            return [QualityRuleRecord(strict)]

    real_load = Plugins.load

    def load_with_strict(*args: object, **kwargs: object) -> Plugins:
        plugins = real_load(*args, **kwargs)  # type: ignore[arg-type]
        plugins.manager.register(Strict(), name="strict")
        return plugins

    monkeypatch.setattr(Plugins, "load", load_with_strict)
    done = CliRunner().invoke(main, ["check", "--store", store, "--as-of", "2026-01-09", "--json"])
    assert done.exit_code == 1
    assert json.loads(done.stdout)["ok"] is False
