"""What the command line writes for scripts and shows people while it works.

- ``--json`` (:func:`json_option`): the answer as JSON on standard output, and nothing else
  there — messages and progress go to standard error — so ``leftbehind … --json | jq`` works.
  Keys are English and stable (``docs/cli.md`` lists them); domain values are written by the
  library's converter (:func:`leftbehind.convert.unstructure`), dates as ``YYYY-MM-DD``, times
  in UTC ISO 8601, text as it is (中文 stays 中文).
- Progress bars (:func:`progress_bar`): on standard error and transient, so nothing of them is
  left in a terminal's scrollback or in a file standard output is written to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import Progress

from leftbehind.convert import unstructure

__all__ = [
    "ProgressBar",
    "echo_json",
    "json_option",
    "jsonable",
    "progress_bar",
    "stderr_progress",
]

P = ParamSpec("P")
R = TypeVar("R")


def json_option(help: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--json`` on a query: its answer as JSON on standard output."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return unstructure(value)


def jsonable(value: object) -> Any:
    """A domain value (attrs classes, enums, dates, sets) as plain JSON data."""
    return json.loads(_dumps(value))


def _dumps(value: object) -> str:
    return json.dumps(
        unstructure(value), ensure_ascii=False, sort_keys=True, indent=1, default=_default
    )


def echo_json(value: object) -> None:
    """``value`` as JSON text on standard output, one document, keys sorted."""
    click.echo(_dumps(value))


class ProgressBar:
    """One task on a transient bar on standard error: :meth:`update` says where it is."""

    def __init__(self, bar: Progress, description: str, total: int | None) -> None:
        self._bar = bar
        self._task = bar.add_task(description, total=total)

    def update(
        self,
        *,
        done: int | None = None,
        total: int | None = None,
        description: str | None = None,
        advance: int = 0,
    ) -> None:
        self._bar.update(
            self._task, completed=done, total=total, description=description, advance=advance
        )


@contextmanager
def stderr_progress() -> Iterator[Progress]:
    """rich's transient progress display on standard error for the block (shown only on a
    terminal)."""
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        yield bar


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[ProgressBar]:
    """A transient progress bar on standard error for the block, of one task."""
    with stderr_progress() as bar:
        yield ProgressBar(bar, description, total)
