"""``leftbehind check``: the data-quality rules over the store, a follow-up list per school.

Registered on :data:`leftbehind.cli.main` when :mod:`leftbehind.cli` is imported. Exit code 0
when no finding has severity ``error``, 1 otherwise (warnings and infos alone exit 0), so a
script may refuse to go on with a county whose data has errors.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from leftbehind.access import Actor
from leftbehind.cli import DATE, _open, actor_option, main, reports_errors, store_option
from leftbehind.cli.output import echo_json, json_option
from leftbehind.domain.i18n import text
from leftbehind.domain.quality import Finding, QualityReport, QualityRule, Severity

__all__ = ["check", "report_json"]


def _severity(severity: Severity) -> str:
    labels = {
        Severity.ERROR: text("finding.error"),
        Severity.WARNING: text("finding.warning"),
        Severity.INFO: text("finding.info"),
    }
    return labels[severity]


def _finding_json(f: Finding, rules: dict[str, QualityRule]) -> dict[str, Any]:
    rule = rules.get(f.rule)
    return {
        "rule": f.rule,
        "label": rule.label() if rule is not None else f.rule,
        "severity": f.severity.value,
        "subject": f.subject,
        "key": f.key,
        "related": list(f.related),
        "day": f.day.isoformat() if f.day is not None else None,
        "count": f.count,
        "reason": f.reason,
    }


def report_json(report: QualityReport, rules: dict[str, QualityRule]) -> dict[str, Any]:
    """The report as JSON data: as of, ok, the rules run, and per school its counts and
    findings (keys and rule codes only)."""
    counts = report.counts()
    return {
        "as_of": report.as_of.isoformat(),
        "ok": report.ok,
        "rules": list(report.rules),
        "schools": {
            school: {
                "counts": counts[school],
                "findings": [_finding_json(f, rules) for f in findings],
            }
            for school, findings in report.by_school().items()
        },
    }


def _line(f: Finding, rules: dict[str, QualityRule]) -> str:
    rule = rules.get(f.rule)
    label = rule.label() if rule is not None else f.rule
    parts = [f"{_severity(f.severity)}  {label} ({f.rule})  {f.subject} {f.key}"]
    if f.day is not None:
        parts.append(f.day.isoformat())
    if f.count is not None:
        parts.append(f"×{f.count}" if f.subject == "staff" else f"+{f.count}")
    if f.related:
        shown = ", ".join(f.related[:5])
        more = len(f.related) - 5
        parts.append(f"[{shown}{f' …+{more}' if more > 0 else ''}]")
    if f.reason:
        parts.append(f.reason)
    return "  ".join(parts)


@main.command()
@click.option("--as-of", "as_of", type=DATE, default=None, help="The day [default: today].")
@click.option("--school", default=None, metavar="SCHOOL_ID", help="One school's findings only.")
@json_option("As JSON: per school, the counts and findings by rule and key (no names).")
@store_option
@actor_option
@reports_errors
def check(
    as_of: date | None, school: str | None, as_json: bool, store: str | None, actor: Actor
) -> None:
    """Check the data's quality: a follow-up list per school.

    Every registered data-quality rule runs over the facts in the actor's reach; each finding
    names its rule, severity and the key of a record, child or staff member, never a name or
    an ID number. Exit code 0 when no finding is an error, 1 otherwise.
    """
    with _open(store, actor) as county:
        report = county.quality(as_of=as_of, school=school)
        rules = {r.code: r for r in county.plugins.quality_rules()}
        if as_json:
            echo_json(report_json(report, rules))
        else:
            counts = report.counts()
            for school_id, findings in report.by_school().items():
                n = counts[school_id]
                click.echo(
                    text(
                        "school {school}: {errors} errors, {warnings} warnings, {infos} infos",
                        school=school_id or "-",
                        errors=n["error"],
                        warnings=n["warning"],
                        infos=n["info"],
                    )
                )
                for f in findings:
                    click.echo(f"  {_line(f, rules)}")
            click.echo(
                text(
                    "findings: {count} as of {day}",
                    count=len(report.findings),
                    day=report.as_of.isoformat(),
                )
            )
    if not report.ok:
        sys.exit(1)
