"""The language the command line speaks (``--lang``), and click's help in it.

Every command takes ``--lang zh_CN|zh_TW|en`` (or ``$LEFTBEHIND_LANG``); without either, a
command on a store speaks the county's language (:attr:`leftbehind.County.language`), any other
Simplified Chinese. Everything the command prints goes through the ``cli`` catalogs (English
messages as keys) in the language of the moment (``leftbehind.use``).

click reads help texts when the commands are defined, in English: :class:`SpeakingGroup` and
:class:`SpeakingCommand` put them through the catalogs when help is shown, and ``--lang`` is
read off the command line before click parses it (``leftbehind ledger --help --lang en`` is
English although click answers ``--help`` first). click's own words (``Usage:``, ``Options``,
``Error: …``, ``Missing argument``) are looked up in the catalogs too while the command runs.
"""

from __future__ import annotations

import inspect
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import click
import click.core
import click.exceptions
import click.formatting
import click.parser
import click.types

from leftbehind.domain.i18n import LANGUAGES, check_language, text, use
from leftbehind.service.context import LANGUAGE_ENV

__all__ = [
    "LANGUAGE",
    "SpeakingCommand",
    "SpeakingGroup",
    "asked_language",
    "early_language",
    "short_help",
    "translated",
]

#: Where the ``--lang`` a command was given is kept on click's context (``ctx.meta``).
ASKED = "leftbehind.language"

#: click's modules whose messages are looked up in the catalogs while a command runs: those
#: that say their words when help or an error is shown (not when a command is defined).
_CLICK_MODULES: tuple[ModuleType, ...] = (
    click.core,
    click.exceptions,
    click.formatting,
    click.parser,
    click.types,
)


class _Language(click.ParamType):  # type: ignore[type-arg]
    name = "LANG"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            return check_language(str(value))
        except ValueError:
            self.fail(
                text("no language {value}: choose {choices}", value=repr(value), choices=_CHOICES),
                param,
                ctx,
            )


LANGUAGE = _Language()
_CHOICES = ", ".join(LANGUAGES)

_LANG_HELP = (
    "The language to speak: zh_CN (Simplified Chinese, the default), zh_TW (Traditional) or en "
    "[env $LEFTBEHIND_LANG]. Without it, a command on a store speaks the county's language."
)


def _chosen(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--lang`` given (or ``$LEFTBEHIND_LANG``): kept for the county handle the command
    opens. The run already speaks it: :meth:`SpeakingGroup.main` read it off the command line
    before parsing (a language set here would outlive a parse that fails)."""
    if value is not None:
        ctx.meta[ASKED] = value


def _lang_option() -> click.Option:
    return click.Option(
        ["--lang"],
        type=LANGUAGE,
        envvar=LANGUAGE_ENV,
        expose_value=False,
        is_eager=True,
        callback=_chosen,
        metavar="zh_CN|zh_TW|en",
        help=_LANG_HELP,
    )


def asked_language() -> str | None:
    """The language the running command was asked to speak (``--lang`` or
    ``$LEFTBEHIND_LANG``), ``None`` if neither: then a county speaks its own."""
    ctx = click.get_current_context(silent=True)
    found = ctx.meta.get(ASKED) if ctx is not None else None
    return str(found) if found else None


def early_language(argv: Sequence[str]) -> str | None:
    """The language ``argv`` asks for (its last ``--lang``), else ``$LEFTBEHIND_LANG``'s;
    ``None`` when neither names one (a bad name is left for the option to refuse)."""
    found: str | None = None
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    for candidate in (found, os.environ.get(LANGUAGE_ENV)):
        if candidate:
            try:
                return check_language(candidate)
            except ValueError:
                return None
    return None


def _click_text(message: str) -> str:
    return text(message)


def _click_plural(singular: str, plural: str, n: int) -> str:
    return text(singular if n == 1 else plural)


#: What click's modules call their gettext functions, and what stands in for each.
_STAND_INS: dict[str, Callable[..., str]] = {"_": _click_text, "ngettext": _click_plural}


@contextmanager
def _click_speaks() -> Iterator[None]:
    """click's own messages through the catalogs, for the block (click looks its messages up
    with ``gettext`` under these module names; a click without them stays English)."""
    saved = [
        (module, name, getattr(module, name))
        for module in _CLICK_MODULES
        for name in _STAND_INS
        if callable(getattr(module, name, None))
    ]
    for module, name, _found in saved:
        setattr(module, name, _STAND_INS[name])
    try:
        yield
    finally:
        for module, name, found in saved:
            setattr(module, name, found)


def translated(help_text: str | None) -> str | None:
    """A help text (a docstring or an option's help) in the language of the moment."""
    if not help_text:
        return help_text
    return text(inspect.cleandoc(help_text))


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def short_help(help_text: str, limit: int = 45) -> str:
    """The first sentence of ``help_text`` (``。`` or ``. `` ends one), cut to ``limit``
    columns (a Chinese character takes two) with ``…``."""
    first = help_text.split("\n\n", 1)[0].strip()
    wide = any(_width(c) == 2 for c in first)
    first = "".join(first.splitlines()) if wide else " ".join(first.split())
    for end in ("。", ". "):
        head, found, _ = first.partition(end)
        if found:
            first = head
    first = first.rstrip("。.")
    if _width(first) <= limit:
        return first
    out = ""
    for c in first:
        if _width(out + c) > limit - 1:
            break
        out += c
    if not wide and " " in out and first[len(out)] != " ":
        out = out.rsplit(" ", 1)[0]  # no word cut in two
    return out.rstrip(" ,，、") + "…"


@contextmanager
def _spoken(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """The command's help and its parameters' in the language of the moment, for the block."""
    saved: list[tuple[Any, str | None]] = [(command, command.help)]
    saved += [(p, getattr(p, "help", None)) for p in command.get_params(ctx)]
    try:
        for holder, found in saved:
            holder.help = translated(found)
        yield
    finally:
        for holder, found in saved:
            holder.help = found


class _Speaking:
    """What a speaking command and group share: ``--lang``, help in the language of the
    moment, and a run in the language the command line asks for."""

    params: list[click.Parameter]
    help: str | None
    short_help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_lang_option())

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with _spoken(self, ctx):  # type: ignore[arg-type]
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        found = translated(self.short_help) or translated(self.help)
        return short_help(found, limit) if found else ""

    def main(self, args: Sequence[str] | None = None, *more: Any, **kwargs: Any) -> Any:
        """click's ``main``, speaking the language ``args`` (or ``sys.argv``) ask for with
        ``--lang``, else ``$LEFTBEHIND_LANG``'s, from parsing on: help, errors and all."""
        argv = sys.argv[1:] if args is None else args
        with use(early_language(argv)), _click_speaks():
            return super().main(args, *more, **kwargs)  # type: ignore[misc]


class SpeakingCommand(_Speaking, click.Command):
    """A command that takes ``--lang`` and shows its help in the language of the moment."""


class SpeakingGroup(_Speaking, click.Group):
    """The ``leftbehind`` group: its commands speak (:class:`SpeakingCommand`), and the whole
    run — parsing, help, errors — speaks the language ``--lang`` or ``$LEFTBEHIND_LANG``
    asks for."""

    command_class = SpeakingCommand
    group_class = type
