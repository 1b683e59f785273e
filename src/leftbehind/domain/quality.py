"""Data quality (数据质量): named rules over a county's facts as of a day, each with a severity.

A rule (:class:`QualityRule`) has a stable ``code``, a :class:`Severity`, a label in each
language and a pure ``check`` from :class:`QualityFacts` to :class:`Flag` s; :func:`run_rules`
runs rules and gives a :class:`QualityReport` of :class:`Finding` s. A finding names the rule
and keys (a record's, a child's, a staff member's) — never a name, an ID number, a phone or a
birth date — so it may be shown to whoever sees the keys.

The built-in rules (:data:`DEFAULT_RULES`, registered by ``leftbehind.builtins``):

==========================  ========  =====================================================
code                        severity  finds
==========================  ========  =====================================================
``record_burst``            warning   more than :data:`BURST_LIMIT` records by one staff
                                      member on one day (group sessions aside)
``record_backdated``        warning   a record entered more than :data:`BACKDATE_DAYS` days
                                      after the day it claims
``record_not_served``       warning   a record for a child not served on its day
``record_not_assigned``     warning   a record by a staff member who held no assignment to
                                      the child on its day
``likely_duplicate``        warning   two children with the same name and birth date in one
                                      township, or resident IDs one digit apart and the same name
``id_birth_mismatch``       error     the birth date in the resident ID is not the recorded one
``id_sex_mismatch``         warning   the sex digit of the resident ID is not the recorded sex
==========================  ========  =====================================================

>>> from leftbehind.domain.duties import Record
>>> facts = QualityFacts(date(2025, 10, 31), records=[
...     Record(f"r{i}", "TALK", f"c{i}", "t1", date(2025, 10, 9)) for i in range(21)])
>>> [(f.rule, f.key, f.day, f.count) for f in run_rules([bursts()], facts).findings]
[('record_burst', 't1', datetime.date(2025, 10, 9), 21)]
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date

from attrs import evolve, field, frozen

from leftbehind.domain import ids
from leftbehind.domain.duties import Record
from leftbehind.domain.eligibility import Timeline
from leftbehind.domain.i18n import LANGUAGES, language
from leftbehind.domain.model import Child, School, known_on
from leftbehind.domain.people import Assignments, Staff
from leftbehind.domain.validate import resident_id_issues

__all__ = [
    "BACKDATE_DAYS",
    "BURST_LIMIT",
    "DEFAULT_RULES",
    "GROUP_KINDS",
    "Finding",
    "Flag",
    "QualityFacts",
    "QualityReport",
    "QualityRule",
    "Severity",
    "backdated",
    "bursts",
    "id_birth_mismatch",
    "id_sex_mismatch",
    "likely_duplicates",
    "not_assigned",
    "not_served",
    "run_rules",
    "school_of",
]

#: A staff member's records on one day above which ``record_burst`` warns (thirty talks by
#: one teacher on one day are not plausible; twenty are the most a busy day holds).
BURST_LIMIT = 20
#: The days between a record's day and its entry above which ``record_backdated`` warns.
BACKDATE_DAYS = 30
#: Duty kinds done for a whole class at once, left out of the burst count: the safety lesson
#: and the parent-school lecture are recorded child by child on the day of the session.
GROUP_KINDS: frozenset[str] = frozenset({"SAFETY_EDUCATION", "PARENT_LECTURE"})


class Severity(enum.Enum):
    """How much a finding matters: an ``error`` must be corrected (the command line exits 1),
    a ``warning`` looked into, an ``info`` is for the record."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for infos: the order of a follow-up list."""
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _records(value: Iterable[Record]) -> tuple[Record, ...]:
    return tuple(value)


def _keys(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _findings(value: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(value)


def _assignments(value: Assignments | Iterable[object]) -> Assignments:
    return value if isinstance(value, Assignments) else Assignments(value)  # type: ignore[arg-type]


@frozen
class QualityFacts:
    """What the rules look at: the county's facts (or the part in an actor's reach) on
    ``as_of``.

    ``entered`` gives, for each record key whose entry is known, the day it was entered (the
    store keeps it in the audit log; a record whose entry is unknown is not judged back-dated).
    """

    as_of: date
    schools: Mapping[str, School] = field(factory=dict)
    children: Mapping[str, Child] = field(factory=dict)
    staff: Mapping[str, Staff] = field(factory=dict)
    assignments: Assignments = field(factory=lambda: Assignments(()), converter=_assignments)
    records: tuple[Record, ...] = field(default=(), converter=_records)
    timelines: Mapping[str, Timeline] = field(factory=dict)
    entered: Mapping[str, date] = field(factory=dict)

    def known(self) -> QualityFacts:
        """The facts as they stood on :attr:`as_of`: records of later days or entered later
        left out, children's facts and timelines as known then."""
        day = self.as_of
        return evolve(
            self,
            children={k: known_on(c, day) for k, c in self.children.items()},
            records=[
                r
                for r in self.records
                if r.on <= day and (r.id not in self.entered or self.entered[r.id] <= day)
            ],
            timelines={k: t.known_on(day) for k, t in self.timelines.items()},
        )


def school_of(facts: QualityFacts, child_id: str, day: date | None = None) -> str:
    """The school of ``child_id`` on ``day`` (default :attr:`QualityFacts.as_of`), else the
    school of their latest enrolment begun by then, else ``""``."""
    child = facts.children.get(child_id)
    if child is None:
        return ""
    on = day or facts.as_of
    enrolment = child.enrolment_on(on)
    if enrolment is not None:
        return enrolment.school_id
    begun = [e for e in child.enrolments if e.start <= on]
    return max(begun, key=lambda e: e.start).school_id if begun else ""


@frozen
class Flag:
    """What a rule found, before the runner names the rule: the ``subject`` (``record``,
    ``child`` or ``staff``) and its ``key``, the school it falls to, other keys it concerns, and
    a day, a count and a reason code where the rule has them. Never a personal value."""

    subject: str
    key: str
    school_id: str = ""
    related: tuple[str, ...] = field(default=(), converter=_keys)
    day: date | None = None
    count: int | None = None
    reason: str = ""


@frozen
class Finding:
    """A rule's finding: the rule's code and severity, and the :class:`Flag`'s fields."""

    rule: str
    severity: Severity
    subject: str
    key: str
    school_id: str = ""
    related: tuple[str, ...] = field(default=(), converter=_keys)
    day: date | None = None
    count: int | None = None
    reason: str = ""

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.school_id, self.severity.rank, self.rule, self.key, ",".join(self.related))


Check = Callable[[QualityFacts], Iterable[Flag]]


def _labels(value: Mapping[str, str]) -> dict[str, str]:
    labels = dict(value)
    missing = [lang for lang in LANGUAGES if not labels.get(lang)]
    if missing:
        msg = f"a quality rule needs a label in every language; missing: {', '.join(missing)}"
        raise ValueError(msg)
    return labels


@frozen
class QualityRule:
    """A named data-quality rule: a stable ``code`` (how findings and plugins name it), a
    :class:`Severity`, a label per language (``zh_CN``, ``zh_TW``, ``en``, all required), and
    ``check``, a pure function of :class:`QualityFacts` (today is ``facts.as_of``)."""

    code: str
    severity: Severity
    labels: Mapping[str, str] = field(converter=_labels)
    check: Check = field(eq=False)

    def label(self, lang: str | None = None) -> str:
        """The label in ``lang`` (default: the language of the moment)."""
        return self.labels[lang or language()]

    def run(self, facts: QualityFacts) -> list[Finding]:
        return [
            Finding(
                self.code,
                self.severity,
                f.subject,
                f.key,
                f.school_id,
                f.related,
                f.day,
                f.count,
                f.reason,
            )
            for f in self.check(facts)
        ]


@frozen
class QualityReport:
    """The findings of a run as of a day, in follow-up order: by school, severity, rule, key.
    ``rules`` are the codes of the rules that ran."""

    as_of: date
    rules: tuple[str, ...] = field(converter=_keys)
    findings: tuple[Finding, ...] = field(converter=_findings)

    @property
    def ok(self) -> bool:
        """No finding of severity ``error``."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per school, the number of findings of each severity (every severity listed)."""
        out: dict[str, dict[str, int]] = {}
        for f in self.findings:
            row = out.setdefault(f.school_id, {s.value: 0 for s in Severity})
            row[f.severity.value] += 1
        return out

    def by_school(self) -> dict[str, tuple[Finding, ...]]:
        """The follow-up list of each school (``""``: findings of no school)."""
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            out.setdefault(f.school_id, []).append(f)
        return {k: tuple(v) for k, v in out.items()}


def run_rules(rules: Iterable[QualityRule], facts: QualityFacts) -> QualityReport:
    """Run ``rules`` over ``facts`` as known on their day (:meth:`QualityFacts.known`)."""
    rules = tuple(rules)
    known = facts.known()
    found = {f for rule in rules for f in rule.run(known)}
    return QualityReport(facts.as_of, [r.code for r in rules], sorted(found, key=Finding.sort_key))


# ---------------------------------------------------------------------- the built-in rules


def _staff_school(facts: QualityFacts, staff_id: str) -> str:
    person = facts.staff.get(staff_id)
    return person.school_id if person is not None else ""


def find_bursts(
    facts: QualityFacts, limit: int = BURST_LIMIT, group_kinds: frozenset[str] = GROUP_KINDS
) -> Iterator[Flag]:
    """One flag per staff member and day with more than ``limit`` records (``group_kinds``
    aside): the staff key, the day, the count, the records' keys."""
    days: dict[tuple[str, date], list[str]] = {}
    for r in facts.records:
        if r.kind not in group_kinds:
            days.setdefault((r.staff_id, r.on), []).append(r.id)
    for (staff_id, on), keys in sorted(days.items()):
        if len(keys) > limit:
            yield Flag(
                "staff", staff_id, _staff_school(facts, staff_id), sorted(keys), on, len(keys)
            )


def find_backdated(facts: QualityFacts, days: int = BACKDATE_DAYS) -> Iterator[Flag]:
    """One flag per record entered more than ``days`` days after its day: the day entered and
    the days between."""
    for r in facts.records:
        entered = facts.entered.get(r.id)
        if entered is not None and (entered - r.on).days > days:
            school = school_of(facts, r.child_id, r.on)
            yield Flag("record", r.id, school, (), entered, (entered - r.on).days)


def find_not_served(facts: QualityFacts) -> Iterator[Flag]:
    """One flag per record for a child not served on the record's day (no timeline: not
    served)."""
    for r in facts.records:
        timeline = facts.timelines.get(r.child_id)
        if timeline is None or not timeline.categories_on(r.on):
            yield Flag("record", r.id, school_of(facts, r.child_id, r.on), (r.child_id,), r.on)


def find_not_assigned(facts: QualityFacts) -> Iterator[Flag]:
    """One flag per record whose staff member held no assignment to the child on its day."""
    for r in facts.records:
        held = any(
            a.holds_on(r.on)
            for a in facts.assignments.of_child(r.child_id)
            if a.staff_id == r.staff_id
        )
        if not held:
            school = school_of(facts, r.child_id, r.on)
            yield Flag("record", r.id, school, (r.child_id, r.staff_id), r.on)


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def duplicate_pairs(facts: QualityFacts) -> dict[tuple[str, str], str]:
    """Pairs of children (keys in order) that are likely one child, with the reason:
    ``name_birth`` (same name and birth date, schools in one township) or ``resident_id``
    (the same name, and the first 17 characters of their resident IDs differ in one place: one
    mistyped digit, whose check character then differs too). IDs one digit apart alone are
    common among children of one county born on one day (twins among them), so the name must
    agree too."""
    pairs: dict[tuple[str, str], str] = {}
    groups: dict[tuple[str, str, date], list[str]] = {}
    for key, child in facts.children.items():
        school = facts.schools.get(school_of(facts, key))
        name = _name_key(child.name)
        if school is None or not name:
            continue
        groups.setdefault((school.township, name, child.birth_date), []).append(key)
    for keys in groups.values():
        for i, a in enumerate(sorted(keys)):
            for b in sorted(keys)[i + 1 :]:
                pairs[(a, b)] = "name_birth"
    near: dict[str, list[str]] = {}
    for key, child in facts.children.items():
        rid = ids.normalize_digits(child.resident_id).upper()
        if len(rid) != 18:
            continue
        body = rid[:17]
        for i in range(17):
            near.setdefault(body[:i] + "*" + body[i + 1 :], []).append(key)
    names = {key: _name_key(child.name) for key, child in facts.children.items()}
    for keys in near.values():
        for i, a in enumerate(sorted(set(keys))):
            for b in sorted(set(keys))[i + 1 :]:
                if names[a] and names[a] == names[b]:
                    pairs.setdefault((a, b), "resident_id")
    return pairs


def find_duplicates(facts: QualityFacts) -> Iterator[Flag]:
    """One flag per likely pair (:func:`duplicate_pairs`), on the first key, naming the other."""
    for (a, b), reason in sorted(duplicate_pairs(facts).items()):
        yield Flag("child", a, school_of(facts, a), (b,), reason=reason)


def _id_issue(facts: QualityFacts, code: str) -> Iterator[Flag]:
    for key in sorted(facts.children):
        child = facts.children[key]
        rid = ids.normalize_digits(child.resident_id).upper()
        issues = resident_id_issues(
            rid, birth_date=child.birth_date, sex=child.sex, today=None, path="resident_id"
        )
        if any(i.code == code for i in issues):
            yield Flag("child", key, school_of(facts, key))


def find_id_birth_mismatch(facts: QualityFacts) -> Iterator[Flag]:
    """One flag per child whose resident ID writes another birth date than the recorded one."""
    return _id_issue(facts, "id_birth_mismatch")


def find_id_sex_mismatch(facts: QualityFacts) -> Iterator[Flag]:
    """One flag per child whose resident ID's sex digit is not the recorded sex."""
    return _id_issue(facts, "id_sex_mismatch")


def _in_three(labels: tuple[str, str, str]) -> dict[str, str]:
    zh_cn, zh_tw, en = labels
    return {"zh_CN": zh_cn, "zh_TW": zh_tw, "en": en}


def bursts(limit: int = BURST_LIMIT, group_kinds: frozenset[str] = GROUP_KINDS) -> QualityRule:
    """``record_burst``: more than ``limit`` records by one staff member on one day."""
    return QualityRule(
        "record_burst",
        Severity.WARNING,
        _in_three(
            (
                "同一人同一天记录过多",
                "同一人同一天記錄過多",
                "too many records by one person on one day",
            )
        ),
        lambda facts: find_bursts(facts, limit, group_kinds),
    )


def backdated(days: int = BACKDATE_DAYS) -> QualityRule:
    """``record_backdated``: a record entered more than ``days`` days after its day."""
    return QualityRule(
        "record_backdated",
        Severity.WARNING,
        _in_three(("记录补录过晚", "記錄補錄過晚", "record entered long after its day")),
        lambda facts: find_backdated(facts, days),
    )


def not_served() -> QualityRule:
    """``record_not_served``: a record for a child not served on its day."""
    return QualityRule(
        "record_not_served",
        Severity.WARNING,
        _in_three(
            (
                "记录的儿童当天不是工作对象",
                "記錄的兒童當天不是工作對象",
                "record for a child not served that day",
            )
        ),
        find_not_served,
    )


def not_assigned() -> QualityRule:
    """``record_not_assigned``: a record by someone not assigned to the child on its day."""
    return QualityRule(
        "record_not_assigned",
        Severity.WARNING,
        _in_three(
            (
                "记录人当天未结对该儿童",
                "記錄人當天未結對該兒童",
                "record by someone not assigned to the child that day",
            )
        ),
        find_not_assigned,
    )


def likely_duplicates() -> QualityRule:
    """``likely_duplicate``: two files that are likely one child."""
    return QualityRule(
        "likely_duplicate",
        Severity.WARNING,
        _in_three(("疑似重复建档", "疑似重複建檔", "likely the same child twice")),
        find_duplicates,
    )


def id_birth_mismatch() -> QualityRule:
    """``id_birth_mismatch``: the resident ID's birth date is not the recorded one."""
    return QualityRule(
        "id_birth_mismatch",
        Severity.ERROR,
        _in_three(
            (
                "身份证号出生日期与登记不符",
                "身分證號出生日期與登記不符",
                "birth date differs from the resident ID",
            )
        ),
        find_id_birth_mismatch,
    )


def id_sex_mismatch() -> QualityRule:
    """``id_sex_mismatch``: the resident ID's sex digit is not the recorded sex."""
    return QualityRule(
        "id_sex_mismatch",
        Severity.WARNING,
        _in_three(
            ("身份证号性别与登记不符", "身分證號性別與登記不符", "sex differs from the resident ID")
        ),
        find_id_sex_mismatch,
    )


#: The built-in rules with their documented defaults, in the order a report lists their codes.
DEFAULT_RULES: tuple[QualityRule, ...] = (
    bursts(),
    backdated(),
    not_served(),
    not_assigned(),
    likely_duplicates(),
    id_birth_mismatch(),
    id_sex_mismatch(),
)
