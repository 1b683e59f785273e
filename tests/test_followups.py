"""Follow-ups (跟进事项): the domain's statuses and checks by hand and as a property, the county
handle on every backend (raising with a record or alone, owners, the gate, closing, referring,
the rules, digests and escalation notices), and the command line."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import leftbehind
from leftbehind.access import Actor, ActorKind
from leftbehind.cli import main
from leftbehind.domain.errors import ValidationError
from leftbehind.domain.followups import (
    DEFAULT_RULES,
    Agency,
    Closure,
    FollowUpRules,
    FollowUpStatus,
    Need,
    NeedKind,
    Referral,
    check_follow_up,
    close,
    follow_up,
    refer,
)
from leftbehind.domain.model import Absence, Child, Enrolment, Parent, School, Sex
from leftbehind.domain.people import Assignment, Role, Staff

SYSTEM = Actor.system("tests")
TODAY = date(2026, 3, 20)
VISIT = date(2026, 3, 2)
NOTE = "王芳的父亲酗酒，家中无人照看"  # personal: must never reach a notice or a message


def fu_of(kind: NeedKind = NeedKind.SAFETY, on: date = VISIT) -> object:
    return follow_up("FU1", "C1", Need(kind, NOTE), on, owner_id="P1", raised_by="P1")


# ---------------------------------------------------------------------- the domain, by hand


def test_a_follow_up_is_due_then_overdue_then_escalated_by_the_rules_days() -> None:
    fu = follow_up("FU1", "C1", Need(NeedKind.SAFETY), VISIT, owner_id="P1", raised_by="P1")
    assert (fu.due_on, fu.escalate_on) == (date(2026, 3, 5), date(2026, 3, 7))
    assert fu.status(VISIT - timedelta(days=1)) is None
    assert [fu.status(date(2026, 3, d)) for d in (2, 5, 6, 7, 30)] == [
        FollowUpStatus.DUE,
        FollowUpStatus.DUE,
        FollowUpStatus.OVERDUE,
        FollowUpStatus.ESCALATED,
        FollowUpStatus.ESCALATED,
    ]
    study = follow_up("FU2", "C1", Need(NeedKind.STUDY), VISIT, owner_id="P1", raised_by="P1")
    assert study.due_on - VISIT > fu.due_on - VISIT  # safety sooner than study
    own = FollowUpRules({NeedKind.SAFETY: 1}, {NeedKind.SAFETY: 1})
    quick = follow_up(
        "F", "C1", Need(NeedKind.SAFETY), VISIT, owner_id="P", raised_by="P", rules=own
    )
    assert (quick.due_on, quick.escalate_on) == (date(2026, 3, 3), date(2026, 3, 4))
    assert own.due(NeedKind.STUDY) == DEFAULT_RULES.due(NeedKind.STUDY)


def test_closing_and_referring_are_checked_and_as_of_a_day_later_facts_do_not_count() -> None:
    fu = follow_up("FU1", "C1", Need(NeedKind.HEALTH), VISIT, owner_id="P1", raised_by="P1")
    referred = refer(fu, agency=Agency.HEALTH, on=date(2026, 3, 4), by="P1", today=TODAY)
    closed = close(referred, on=date(2026, 3, 13), action="送医复查", by="P1", today=TODAY)
    assert closed.status(date(2026, 3, 13)) is FollowUpStatus.CLOSED
    assert closed.status(date(2026, 3, 12)) is FollowUpStatus.ESCALATED  # due 9th, + 3 days
    assert closed.status(date(2026, 3, 10)) is FollowUpStatus.OVERDUE
    then = closed.as_of(date(2026, 3, 3))
    assert then.closure is None
    assert then.referrals == ()
    assert closed.as_of(date(2026, 3, 4)).referrals == (
        Referral(Agency.HEALTH, date(2026, 3, 4), "P1"),
    )
    with pytest.raises(ValidationError) as err:
        close(closed, on=date(2026, 3, 1), action=" ", by="P1", today=TODAY)
    assert err.value.codes == {"already_closed", "closed_before_raised", "required"}
    with pytest.raises(ValidationError) as err:
        close(fu, on=TODAY + timedelta(days=1), action="x", by="P1", today=TODAY)
    assert err.value.codes == {"future_date"}
    with pytest.raises(ValidationError) as err:
        refer(fu, agency=Agency.POLICE, on=date(2026, 3, 1), by="P1", today=TODAY)
    assert err.value.codes == {"referral_before_need"}
    assert NOTE not in str(err.value)


def test_every_problem_of_a_follow_up_is_listed() -> None:
    fu = follow_up(
        "FU1", "C1", Need(NeedKind.LIVING), TODAY + timedelta(days=3), owner_id="", raised_by="P1"
    )
    bad = fu.__class__(
        **{
            **{a: getattr(fu, a) for a in ("id", "child_id", "kind", "raised_on", "owner_id")},
            "due_on": fu.raised_on - timedelta(days=1),
            "escalate_on": fu.raised_on - timedelta(days=1),
            "raised_by": "P1",
            "closure": Closure(fu.raised_on - timedelta(days=2), "", "P1"),
            "referrals": (Referral(Agency.OTHER, fu.raised_on - timedelta(days=5)),),
        }
    )
    codes = [i.code for i in check_follow_up(bad, today=TODAY)]
    assert sorted(codes) == sorted(
        [
            "future_date",
            "future_date",
            "due_before_raised",
            "escalate_before_due",
            "no_owner",
            "closed_before_raised",
            "required",
            "referral_before_need",
        ]
    )


@given(
    kind=st.sampled_from(NeedKind),
    due=st.integers(1, 40),
    escalate=st.integers(1, 40),
    closed_after=st.none() | st.integers(0, 120),
)
def test_a_follow_up_goes_due_overdue_escalated_closed_along_the_calendar(
    kind: NeedKind, due: int, escalate: int, closed_after: int | None
) -> None:
    rules = FollowUpRules({kind: due}, {kind: escalate})
    fu = follow_up("F", "C1", Need(kind), VISIT, owner_id="P1", raised_by="P1", rules=rules)
    if closed_after is not None:
        on = VISIT + timedelta(days=closed_after)
        fu = close(fu, on=on, action="done", by="P1", today=on)
    order = list(FollowUpStatus)
    seen = []
    for n in range(-3, 130):
        day = VISIT + timedelta(days=n)
        state = fu.status(day)
        if n < 0:
            assert state is None
            continue
        assert state is not None
        seen.append(order.index(state))
        closed_by_then = fu.closure is not None and day >= fu.closure.on
        assert (state is FollowUpStatus.CLOSED) == closed_by_then
        # as of a day, the same as the follow-up as it stood that day
        assert fu.as_of(day).status(day) is state
    assert seen == sorted(seen)  # monotone: never back
    if closed_after is None:
        assert order[seen[-1]] is FollowUpStatus.ESCALATED
        assert seen[due] == 0
        assert seen[due + 1] == (1 if escalate > 1 else 2)
        assert seen[due + escalate] == 2
        assert seen[due + escalate - 1] < 2


# ---------------------------------------------------------------------- the county handle


def kid(key: str, school: str) -> Child:
    away = Parent(absences=(Absence(date(2025, 1, 1)),))
    return Child(
        key,
        "王芳",
        Sex.FEMALE,
        date(2015, 3, 12),
        enrolments=(Enrolment(school, date(2025, 9, 1), 4, "2班"),),
        father=away,
        mother=Parent(),
    )


def load(url: str) -> None:
    """S1 (head H1, proxy parent P1, teacher T1) with C1 (proxy parent P1) and C2 (none); S2
    (head H2, teacher T2) with C3; V1 a volunteer paired with C1's family."""
    with leftbehind.open(url, actor=SYSTEM, today=lambda: TODAY) as county:
        county.put_schools([School("S1", "一小", "T1"), School("S2", "二小", "T1")])
        county.put_children([kid("C1", "S1"), kid("C2", "S1"), kid("C3", "S2")])
        county.put_staff(
            [
                Staff("H1", "甲", "S1", "校长"),
                Staff("P1", "乙", "S1"),
                Staff("T1", "丙", "S1"),
                Staff("H2", "丁", "S2", "校长"),
                Staff("T2", "戊", "S2"),
                Staff("V1", "己", "S1", "志愿者"),
            ]
        )
        start = date(2025, 9, 1)
        county.put_assignments(
            [
                Assignment("A1", "P1", "C1", Role.PROXY_PARENT, start),
                Assignment("A2", "T1", "C1", Role.CLASS_TEACHER, start),
                Assignment("A3", "T1", "C2", Role.CLASS_TEACHER, start),
                Assignment("A4", "T2", "C3", Role.CLASS_TEACHER, start),
                Assignment("A5", "V1", "C1", Role.VOLUNTEER, start),
            ]
        )


def visit(key: str, child: str, staff: str, on: date = VISIT, **more: object) -> dict[str, object]:
    return {
        "id": key,
        "kind": "HOME_VISIT",
        "child_id": child,
        "staff_id": staff,
        "on": on.isoformat(),
        **more,
    }


def test_a_home_visit_raises_needs_owed_by_the_proxy_parent_on_every_backend(
    store_url: str,
) -> None:
    load(store_url)
    proxy = Actor.staff("P1", ActorKind.PROXY_PARENT)
    with leftbehind.open(store_url, actor=proxy, today=lambda: TODAY) as county:
        needs = [{"kind": "safety", "note": NOTE}, {"kind": "study"}]
        county.add_records([visit("R1", "C1", "P1", needs=needs)])
        [safety, study] = sorted(county.follow_ups(child="C1"), key=lambda f: f.kind.value)
        assert (safety.kind, safety.owner_id, safety.record_id) == (NeedKind.SAFETY, "P1", "R1")
        assert (safety.school_id, safety.raised_on, safety.note) == ("S1", VISIT, NOTE)
        assert safety.due_on == VISIT + timedelta(days=3)
        assert study.kind is NeedKind.STUDY
        assert [r.id for r in county.records(child_id="C1")] == ["R1"]
        # the same sheet again adds nothing
        county.add_records([visit("R1", "C1", "P1", needs=needs)])
        assert len(county.follow_ups()) == 2
        with pytest.raises(ValidationError) as err:
            county.add_records([visit("R2", "C1", "P1", needs=[{"kind": "money", "note": NOTE}])])
        assert err.value.codes == {"unknown_need"}
        assert err.value.paths == {"records[0].needs[0].kind"}
        assert NOTE not in str(err.value)
        assert [r.id for r in county.records(child_id="C1")] == ["R1"]  # nothing written
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        entry = next(e for e in county.audit() if e.op == "add_records")
        assert "follow_up" in entry.changes
        assert NOTE not in json.dumps(entry.fields, ensure_ascii=False)


def test_the_schools_printed_form_counts_its_follow_ups(store_url: str) -> None:
    load(store_url)
    proxy = Actor.staff("P1", ActorKind.PROXY_PARENT)
    with leftbehind.open(store_url, actor=proxy, today=lambda: TODAY) as county:
        county.add_records([visit("R1", "C1", "P1", needs=[{"kind": "safety"}, {"kind": "study"}])])
    head = Actor.school_head("H1", "S1")
    with leftbehind.open(store_url, actor=head, today=lambda: TODAY) as county:
        statuses = [f.status(TODAY) for f in county.follow_ups()]
        printed = county.export_ledger("school", key="S1")
    # safety: due 5 March, escalated from 7 March; study: due until 1 April
    assert sorted(s.value for s in statuses if s is not None) == ["due", "escalated"]
    line = f"截至{TODAY.isoformat()}跟进事项：待办1项，逾期0项，已报校长1项，已结0项"
    assert line in printed


def test_who_owes_a_need_and_what_is_refused(store_url: str) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        # C2 has no proxy parent: the record's author owes it
        county.add_records([visit("R2", "C2", "T1", needs=["living"])])
        [fu] = county.follow_ups(child="C2")
        assert fu.owner_id == "T1"
        # named, or refused: no owner, an owner of another school, an unknown child
        [named] = county.raise_needs("C1", [{"kind": "health", "owner_id": "H1"}], on=VISIT)
        assert named.owner_id == "H1"
        with pytest.raises(ValidationError) as err:
            county.raise_needs(
                "C2", ["safety", {"kind": "guardianship", "owner_id": "T2"}, "bad"], on=VISIT
            )
        assert err.value.codes == {"no_owner", "owner_not_assigned", "unknown_need"}
        with pytest.raises(ValidationError) as err:
            county.raise_needs("C1", ["safety"], on=TODAY + timedelta(days=1))
        assert err.value.codes == {"future_date"}
        with pytest.raises(leftbehind.NotFoundError):
            county.raise_needs("C9", ["safety"], on=VISIT)
    teacher = Actor.staff("T1")
    with leftbehind.open(store_url, actor=teacher, today=lambda: TODAY) as county:
        [own] = county.raise_needs("C2", ["study"], on=VISIT)  # the actor owes it
        assert own.owner_id == "T1"
        with pytest.raises(leftbehind.NotFoundError):
            county.raise_needs("C3", ["study"], on=VISIT)


def test_the_gate_shows_and_closes_follow_ups_by_standing_today(store_url: str) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        [mine] = county.raise_needs("C1", [{"kind": "safety", "note": NOTE}], on=VISIT)
        [theirs] = county.raise_needs("C3", [{"kind": "study", "owner_id": "T2"}], on=VISIT)
    head2 = Actor.school_head("H2", "S2")
    with leftbehind.open(store_url, actor=head2, today=lambda: TODAY) as county:
        assert [f.id for f in county.follow_ups()] == [theirs.id]
        with pytest.raises(leftbehind.NotFoundError):
            county.close_follow_up(mine.id, action="x")
        with pytest.raises(leftbehind.NotFoundError):
            county.follow_up(mine.id)
    other = Actor.staff("T2")
    with leftbehind.open(store_url, actor=other, today=lambda: TODAY) as county:
        assert [f.id for f in county.follow_ups()] == [theirs.id]
        with pytest.raises(leftbehind.NotFoundError):
            county.refer(mine.id, agency="police")
    not_owner = Actor.staff("T1")  # C1's class teacher, not its owner
    with leftbehind.open(store_url, actor=not_owner, today=lambda: TODAY) as county:
        assert county.follow_ups() == []
    volunteer = Actor.volunteer("V1")
    with leftbehind.open(store_url, actor=volunteer, today=lambda: TODAY) as county:
        with pytest.raises(leftbehind.AccessDeniedError):
            county.follow_ups()
        with pytest.raises(leftbehind.AccessDeniedError):
            county.close_follow_up(mine.id, action="x")
        assert county.digest("V1").follow_ups == ()
    township = Actor.township_officer("O1", "T1")
    with leftbehind.open(store_url, actor=township, today=lambda: TODAY) as county:
        assert {f.id for f in county.follow_ups()} == {mine.id, theirs.id}
    proxy = Actor.staff("P1", ActorKind.PROXY_PARENT)
    with leftbehind.open(store_url, actor=proxy, today=lambda: TODAY) as county:
        referred = county.refer(mine.id, agency=Agency.CIVIL_AFFAIRS, on=date(2026, 3, 3))
        assert referred.referrals[0].by == "P1"
        closed = county.close_follow_up(mine.id, on=date(2026, 3, 4), action="已联系村委会")
        assert closed.closure == Closure(date(2026, 3, 4), "已联系村委会", "P1")
        assert county.follow_up(mine.id, as_of=date(2026, 3, 3)).closure is None
        assert [f.id for f in county.follow_ups(status="closed")] == [mine.id]
        assert county.follow_ups(as_of=date(2026, 3, 1)) == []
        with pytest.raises(ValidationError) as err:
            county.close_follow_up(mine.id, on=date(2026, 3, 5), action="again")
        assert err.value.codes == {"already_closed"}
    # the proxy parent's assignment ends: they see nothing more of it
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        logged = [e for e in county.audit() if e.kind == "follow_up"]
        assert [e.op for e in logged][-2:] == ["refer_follow_up", "close_follow_up"]
        assert "已联系村委会" not in json.dumps([e.fields for e in logged], ensure_ascii=False)
        county.end_assignment("A1", date(2026, 3, 10))
    with leftbehind.open(store_url, actor=proxy, today=lambda: TODAY) as county:
        assert county.follow_ups() == []


def test_rules_are_the_countys_set_by_its_officers_and_audited(store_url: str) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        assert county.follow_up_rules() == DEFAULT_RULES
        with pytest.raises(ValidationError) as err:
            county.set_follow_up_rules(due_days={"safety": 0, "money": 3}, escalate_days={"x": 1})
        assert err.value.codes == {"days", "unknown_need"}
        rules = county.set_follow_up_rules(due_days={"safety": 1}, escalate_days={"study": 5})
        assert (rules.due(NeedKind.SAFETY), rules.escalate(NeedKind.STUDY)) == (1, 5)
        assert rules.due(NeedKind.STUDY) == DEFAULT_RULES.due(NeedKind.STUDY)
        [fu] = county.raise_needs("C1", ["safety"], on=VISIT)
        assert fu.due_on == VISIT + timedelta(days=1)
        assert any(e.op == "set_follow_up_rules" for e in county.audit())
    with leftbehind.open(store_url, actor=Actor.school_head("H1", "S1"), today=lambda: TODAY) as c:
        with pytest.raises(leftbehind.AccessDeniedError):
            c.set_follow_up_rules(due_days={"safety": 9})
        assert c.follow_up_rules().due(NeedKind.SAFETY) == 1


def test_open_follow_ups_are_in_the_digest_and_escalate_to_the_head_once(
    store_url: str,
) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        [late] = county.raise_needs("C1", [{"kind": "safety", "note": NOTE}], on=VISIT)
        [fresh] = county.raise_needs("C1", ["study"], on=TODAY)
        digest = county.digest("P1", TODAY, TODAY)
        assert [f.id for f in digest.follow_ups] == [late.id, fresh.id]
        assert county.digest("P1", VISIT, VISIT).follow_ups == (late,)
        assert county.queue_escalations(as_of=date(2026, 3, 6)) == 0  # overdue, not escalated
        assert county.queue_escalations(as_of=date(2026, 3, 7)) == 1
        assert county.queue_escalations(as_of=TODAY) == 0  # once per follow-up
        queued = county.queue_week(TODAY, TODAY)
        assert queued >= 1
        pending = {e.notice.key: e.notice for e in county.notices()["pending"]}
        escalated = pending[f"follow-up-escalated:{late.id}:H1"]
        assert escalated.recipient == "H1"
        assert escalated.kind == "follow_up_escalated"
        assert late.id in escalated.body
        assert "C1" in escalated.body
        digest_notice = next(n for k, n in pending.items() if k.startswith("digest:P1:"))
        assert late.id in digest_notice.body
        assert fresh.id in digest_notice.body
        for notice in pending.values():
            for said in (notice.subject, notice.body):
                assert NOTE not in said
                assert "王芳" not in said
        # the need is not told: not to the head, not in the owner's lines of follow-ups
        assert NeedKind.SAFETY.label not in escalated.subject + escalated.body
        lines = [line for line in digest_notice.body.splitlines() if late.id in line]
        assert lines == [f"· 4年级2班 C1 跟进事项 {late.id}"]
        county.close_follow_up(late.id, on=TODAY, action="已处理")
        assert [f.id for f in county.digest("P1", TODAY, TODAY).follow_ups] == [fresh.id]


def test_a_purged_child_takes_its_follow_ups_along(store_url: str) -> None:
    load(store_url)
    with leftbehind.open(store_url, actor=SYSTEM, today=lambda: TODAY) as county:
        county.raise_needs("C3", [{"kind": "study", "owner_id": "T2"}], on=VISIT)
        left = kid("C3", "S2")
        enrolment = Enrolment("S2", date(2025, 9, 1), 4, "2班", end=date(2025, 9, 10))
        gone = Child(left.id, left.name, left.sex, left.birth_date, enrolments=(enrolment,))
        county.put_child(gone)
        assert county.purge(older_than_years=0, as_of=TODAY) == ["C3"]
        assert county.follow_ups() == []


# ---------------------------------------------------------------------- the command line


def test_the_commands_raise_list_refer_and_close(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("LEFTBEHIND_LANG", "LEFTBEHIND_ACTOR", "LEFTBEHIND_STORE"):
        monkeypatch.delenv(env, raising=False)
    store = f"{tmp_path}/county.json"
    load(store)
    run = CliRunner().invoke

    def ok(*args: str) -> str:
        done = run(main, [*args, "--store", store])
        assert done.exit_code == 0, done.output
        return done.stdout

    made = json.loads(
        ok(
            "followup",
            "raise",
            "C1",
            "--need",
            "safety",
            "--note",
            NOTE,
            "--on",
            "2026-03-02",
            "--as",
            "staff:P1",
            "--json",
        )
    )
    [fu] = made["follow_ups"]
    assert (fu["owner"], fu["need"], fu["due_on"]) == ("P1", "safety", "2026-03-05")
    key = fu["id"]
    listed = json.loads(ok("followups", "--as-of", "2026-03-06", "--json", "--as", "school:H1:S1"))
    assert [f["status"] for f in listed["follow_ups"]] == ["overdue"]
    assert listed["schools"] == {"S1": {"due": 0, "overdue": 1, "escalated": 0, "closed": 0}}
    digest = ok("due", "P1", "--as-of", "2026-03-06", "--lang", "en")
    assert f"{key}  C1  safety  due 2026-03-05  overdue" in digest.split("follow-ups:")[1]
    shown = ok("followups", "--as-of", "2026-03-07", "--lang", "en")
    assert f"{key}  escalated  C1  safety  owed by P1  due 2026-03-05" in shown
    assert "school S1: 0 due, 0 overdue, 1 escalated, 0 closed" in shown
    assert NOTE not in shown
    assert "referred to" in ok(
        "followup", "refer", key, "--agency", "police", "--on", "2026-03-03", "--lang", "en"
    )
    assert "closed on 2026-03-04" in ok(
        "followup", "close", key, "--on", "2026-03-04", "--action", "已报警", "--lang", "en"
    )
    zh = ok("followups", "--as-of", "2026-03-04", "--status", "closed")
    assert key in zh
    assert "已关闭" in zh
    assert "公安" in zh
    refused = run(main, ["followups", "--store", store, "--as", "volunteer:V1", "--lang", "en"])
    assert refused.exit_code == 1
    assert "may not read follow-ups" in refused.stderr
    hidden = run(
        main, ["followup", "close", key, "--action", "x", "--store", store, "--as", "staff:T2"]
    )
    assert hidden.exit_code == 1
    bad = run(
        main, ["followup", "close", key, "--on", "2026-03-01", "--action", "x", "--store", store]
    )
    assert bad.exit_code == 1
    assert "already_closed" in bad.stderr
    rules = json.loads(
        ok("followup", "rules", "--due", "safety=2", "--escalate", "study=9", "--json")
    )
    assert rules["due_days"]["safety"] == 2
    assert rules["escalate_days"]["study"] == 9
    assert "escalated 9 days later" in ok("followup", "rules", "--lang", "en")
