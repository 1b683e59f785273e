"""What the renderers share: a :class:`Column`, a :class:`Sheet` (one table) and a
:class:`Form` (a titled page of tables, as a bureau prints it), and the text of a cell.

A column has a ``header`` (said alone: the CSV header, the terminal's), an optional ``group``
and ``sub`` (on a printed form, the upper header merged over the columns of one group and the
lower one under it: 关爱对象 → 双亲外出 / 单亲外出 / …) and a stable English ``key``, which never
changes with the language. Headers are in the language of the moment when the sheet is built.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from attrs import field, frozen

from leftbehind.domain.ids import mask_phone, mask_resident_id

__all__ = [
    "Column",
    "Form",
    "Kind",
    "Sheet",
    "Value",
    "as_form",
    "cell_text",
    "fill",
    "xml_safe",
]

Value = str | int | float | None
Kind = Literal["text", "count", "rate", "phone", "id"]


def _capital(text: str) -> str:
    """A header begins with a capital (the domain's English labels are lower case)."""
    return text[:1].upper() + text[1:]


@frozen
class Column:
    """One column: its ``header`` in the language of the moment, its English ``key``, a getter
    and a kind.

    ``kind`` decides the formatting (``count``, ``rate`` as a percentage, ``text``) and the
    masking (``phone`` by :func:`~leftbehind.domain.ids.mask_phone`, ``id`` by
    :func:`~leftbehind.domain.ids.mask_resident_id`). On a printed form, consecutive columns of
    the same ``group`` share an upper header and show ``sub`` (or the header) under it.
    A terminal summary folds a long header onto two lines, where ``brief`` says (谈心 / 完成率,
    a line break between) when it is given. Headers begin with a capital letter (a label
    ``orphan`` heads the column ``Orphan``).
    """

    header: str = field(converter=_capital)
    key: str
    get: Callable[[Any], Value]
    kind: Kind = "text"
    group: str = field(default="", converter=_capital)
    sub: str = field(default="", converter=_capital)
    brief: str = field(default="", converter=_capital)

    @property
    def label(self) -> str:
        """The header under its group on a printed form (the header when it has none)."""
        return self.sub or self.header


def _columns(items: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(items)


def _rows(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(items)


def _keys(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@frozen
class Sheet:
    """A titled table: ``title``, ``key`` (English), columns, rows and a ``caption`` (the line
    under the title: 填报单位, 统计时点, 统计期, 口径).

    - ``labels``: how many leading columns name a row (学校, 班级 …); a terminal summary keeps
      them; ``merge``: how many of them a printed form merges down their repeated values (a
      township's name over its schools);
    - ``level(row)``: 0 for a row, 1 for a subtotal (小计), 2 and more for totals (合计, 总计),
      printed bold;
    - ``priority``: the keys an officer reads first, in that order (the terminal summary takes
      them until the width is used; the other columns follow in their order);
    - ``summary_labels``: label columns that replace the ``labels`` ones in a terminal summary (one
      学校 column instead of 县 / 乡镇 / 学校);
    - ``name``: the worksheet's name (default: the title); ``heading``: the section's heading
      on a form of several tables; ``empty``: what a form prints when there is no row;
      ``signature``: the parts of the signature line a printed form ends with (填表人：…), none
      for none; ``footer``: the printed page's footer (``第 &P 页 / 共 &N 页``); ``font``: the
      printed form's typeface (the spreadsheet's default when empty).
    """

    title: str
    key: str
    columns: tuple[Column, ...] = field(converter=_columns)
    rows: tuple[Any, ...] = field(converter=_rows)
    caption: str = ""
    labels: int = 0
    merge: int = 0
    level: Callable[[Any], int] | None = None
    priority: tuple[str, ...] = field(default=(), converter=_keys)
    summary_labels: tuple[Column, ...] = field(default=(), converter=_columns)
    name: str = ""
    heading: str = ""
    empty: str = ""
    signature: tuple[str, ...] = field(default=(), converter=_keys)
    footer: str = ""
    font: str = ""

    def values(self, *, unmasked: bool = False) -> list[list[Value]]:
        """The cells row by row, masked unless ``unmasked``."""
        return [self.cells(row, self.columns, unmasked=unmasked) for row in self.rows]

    @staticmethod
    def cells(row: Any, columns: Sequence[Column], *, unmasked: bool = False) -> list[Value]:
        """One row's cells in ``columns``, masked unless ``unmasked``."""
        out: list[Value] = []
        for col in columns:
            value = col.get(row)
            if not unmasked and isinstance(value, str) and value:
                if col.kind == "phone":
                    value = mask_phone(value)
                elif col.kind == "id":
                    value = mask_resident_id(value)
            out.append(value)
        return out

    def level_of(self, row: Any) -> int:
        """0 for a row, 1 for a subtotal, 2 and more for a total."""
        return self.level(row) if self.level is not None else 0


def _sections(items: Iterable[Sheet]) -> tuple[Sheet, ...]:
    return tuple(items)


@frozen
class Form:
    """A page a bureau prints, stamps and files: a ``title`` (the county's name and the
    form's), a ``caption`` line, its ``sections`` (tables, each with its heading) and the
    ``signature`` line (填表人、审核人、单位负责人、填报日期), each text said when the form was
    built.
    ``name`` is the worksheet's name; ``footer`` the printed page's footer; ``repeat`` which
    rows every printed page repeats ("title": the title and caption; "header": down to the
    first section's header); ``font`` the typeface (the spreadsheet's default when empty);
    ``stamps`` the lines under the signature saying who approved the form and when (审核记录:
    a form as reported and signed off, see :mod:`leftbehind.domain.signoff`)."""

    title: str
    key: str
    sections: tuple[Sheet, ...] = field(converter=_sections)
    caption: str = ""
    name: str = ""
    signature: tuple[str, ...] = field(default=(), converter=_keys)
    footer: str = ""
    repeat: Literal["title", "header"] = "header"
    font: str = ""
    stamps: tuple[str, ...] = field(default=(), converter=_keys)

    @property
    def rows(self) -> tuple[Any, ...]:
        """Every section's rows, one after the other."""
        return tuple(r for s in self.sections for r in s.rows)


def as_form(item: Sheet | Form) -> Form:
    """A sheet as a form of one section (a form as itself)."""
    if isinstance(item, Form):
        return item
    return Form(
        item.title,
        item.key,
        (item,),
        item.caption,
        item.name or item.title,
        item.signature,
        item.footer,
        "header",
        item.font,
    )


def cell_text(value: Value, kind: Kind) -> str:
    """A cell as text: rates as percentages (``—`` when there is nothing to divide by)."""
    if value is None:
        return "—" if kind == "rate" else ""
    if kind == "rate" and isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


_PARTS = re.compile(r"(?<=\u3000\u3000)|(?<=; )|(?<=\uff1b)")


def fill(caption: str, width: int, length: Callable[[str], int] | None = None) -> str:
    """``caption`` broken into lines of at most ``width`` (measured by ``length``, terminal
    cells by default) between its parts (填报单位 …, 统计时点 …: separated by two ideographic
    spaces, ``; `` or ``；``), so that no part is cut in two at the end of a line."""
    if length is None:
        from rich.cells import cell_len

        length = cell_len
    lines: list[str] = []
    for part in _PARTS.split(caption):
        if lines and length(lines[-1] + part.rstrip()) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return "\n".join(line.rstrip() for line in lines)


#: What XML 1.0 cannot hold (controls but tab and line breaks, lone surrogates, U+FFFE and
#: U+FFFF): replaced by U+FFFD, so that no stored text can make a workbook unreadable.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with what an XML workbook cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)
