"""``leftbehind init``: a county set up from nothing.

The first command a county runs: it makes the store (``./leftbehind.db`` unless ``--store``
says otherwise) and gives it the county's name, its 6-digit administrative code (行政区划代码),
the eligibility policy and the language its forms and notices are written in. Everything is
checked before the store is made, so a mistyped code leaves no empty store behind. A store that
already holds a county is shown and left as it is unless ``--force`` is given.
"""

from __future__ import annotations

import sys

import click

from leftbehind.access import Actor
from leftbehind.cli import _open, actor_option, main, reports_errors, store_option
from leftbehind.cli.language import asked_language
from leftbehind.domain.errors import Issue, ValidationError
from leftbehind.domain.i18n import DEFAULT, check_language, text, use
from leftbehind.errors import StoreNotFoundError
from leftbehind.plugins import Plugins
from leftbehind.service import County
from leftbehind.service.commands import county_issues

__all__ = ["init"]


def _language_name(lang: str) -> str:
    names = {
        "zh_CN": text("Simplified Chinese"),
        "zh_TW": text("Traditional Chinese"),
        "en": text("English"),
    }
    return f"{names.get(lang, lang)} ({lang})"


def _stored(county: County) -> dict[str, str]:
    """The county's identity as stored: name, code, policy and language."""
    settings = county.settings()
    policy = county.policy
    return {
        "name": str(settings.get("name", "")),
        "code": str(settings.get("code", "")),
        "policy": policy.name,
        "version": str(policy.version),
        "language": str(settings.get("language", DEFAULT)),
    }


def _show(found: dict[str, str], where: str) -> None:
    click.echo(text("  county: {name} ({code})", name=found["name"], code=found["code"]))
    click.echo(text("  store: {store}", store=where))
    click.echo(
        text("  policy: {policy} v{version}", policy=found["policy"], version=found["version"])
    )
    click.echo(text("  language: {language}", language=_language_name(found["language"])))


def _next_steps() -> None:
    click.echo(text("Next steps:"))
    for line in (
        text(
            "  leftbehind template schools.xlsx --kind schools — a sheet to fill in; staff, "
            "roster and assignments the same way (see its --help)"
        ),
        text(
            "  leftbehind import schools.xlsx staff.xlsx roster.xlsx assignments.xlsx --dry-run "
            "— every cell checked, nothing written"
        ),
        text("  leftbehind import … the same files — brought in together, all or nothing"),
    ):
        click.echo(line)


@main.command()
@click.option("--name", required=True, help="The county's name, as on its forms (广平县).")
@click.option(
    "--code", required=True, help="Its 6-digit administrative code (行政区划代码: 130432)."
)
@click.option(
    "--policy",
    default=None,
    metavar="NAME",
    help="The eligibility policy by name [default: the store's, guangping-plan for a new one].",
)
@click.option(
    "--language",
    "county_language",
    default=None,
    metavar="zh_CN|zh_TW|en",
    help="The language of the county's forms, templates and notices [default: zh_CN].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Set up again a store that already holds a county (its data is kept).",
)
@store_option
@actor_option
@reports_errors
def init(
    name: str,
    code: str,
    policy: str | None,
    county_language: str | None,
    force: bool,
    store: str | None,
    actor: Actor,
) -> None:
    """Set up a county in a new store: its name, administrative code, policy and language.

    Everything is checked before the store is made. A store that already holds a county is
    shown and left unchanged unless --force is given (its children and records are kept).

    \b
      leftbehind init --name 广平县 --code 130432
      leftbehind init --name 廣平縣 --code 130432 --language zh_TW --store guangping.db
    """
    issues = county_issues(name, code)
    lang: str | None = None
    if county_language is not None:
        try:
            lang = check_language(county_language)
        except ValueError as exc:
            issues.append(Issue("language", "language", str(exc)))
    if issues:
        raise ValidationError(issues, subject="county")
    plugins = Plugins.load()
    if policy is not None:
        plugins.policy(policy)  # an unknown name is refused here, before a store is made
    try:
        county = _open(store, actor, plugins=plugins)
        made = False
    except StoreNotFoundError:
        county = _open(store, actor, create=True, plugins=plugins)
        made = True
    with county:
        found = _stored(county)
        if not found["name"] and lang is None:
            lang = DEFAULT  # a county set up says its language, Simplified by default
        asked = {"name": name, "code": code, "policy": policy, "language": lang}
        # a county not yet set up has its language stored only once it is chosen
        kept = found if found["name"] else {**found, "language": county.settings().get("language")}
        differ = [k for k, v in asked.items() if v is not None and v != kept[k]]
        if found["name"] and differ and not force:
            with use(asked_language() or found["language"]):
                _show(found, county.url)
            hint = text(
                "run init again with --force to set it up again (its data is kept), or "
                "`leftbehind county --name NAME --code CODE` to rename it"
            )
            message = text("this store already holds a county; nothing was changed")
            click.echo(text("error: {message} ({hint})", message=message, hint=hint), err=True)
            sys.exit(1)
        if not differ:
            with use(asked_language() or found["language"]):
                click.echo(text("This store is already set up as asked:"))
                _show(found, county.url)
            return
        if "name" in differ or "code" in differ:
            county.set_county(name, code)
        if lang is not None and "language" in differ:
            county.set_language(lang)
        if policy is not None and "policy" in differ:
            county.set_policy(policy)
        found = _stored(county)
        with use(asked_language() or found["language"]):
            if made:
                click.echo(text("Set up a new county:"))
            else:
                click.echo(text("Set up the county:"))
            _show(found, county.url)
            _next_steps()
