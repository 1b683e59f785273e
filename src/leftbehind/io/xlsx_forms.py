"""Forms as a bureau prints them, in XLSX (openpyxl): one worksheet per form.

A worksheet holds the form's title, its caption line (填报单位, 统计时点, 统计期, 口径), each
section with its heading and its one- or two-level header (a group's upper header merged over
its columns), the rows (subtotals and totals bold) and the signature line (填表人、审核人、
单位负责人、填报日期). Columns are as wide as their content (a CJK character counts double;
long text wraps), counts are numbers, rates percentages. Each worksheet prints on A4 landscape,
fitted to one page wide, its title (and its header) repeated on every page, page numbers in the
footer.

The machine keys of the columns are never printed: a hidden worksheet (:data:`KEYS_SHEET`)
lists, for each section of each form, its worksheet, its key, its header row, its first and
last data rows and the key of each column (in the column where it starts).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from copy import copy
from typing import Any

from rich.cells import get_character_cell_size

from leftbehind.io.sheets import (
    Column,
    Form,
    Sheet,
    Value,
    as_form,
    cell_text,
    fill,
    xml_safe,
)

__all__ = ["KEYS_SHEET", "write_forms"]

#: The hidden worksheet that names each column by its key.
KEYS_SHEET = "keys"

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_BAD_TITLE = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))

#: The widest a text column grows before its text wraps (see :func:`_len`: eleven CJK
#: characters).
_TEXT_CAP = 22
#: The narrowest column.
_MIN = 4
#: A header wider than its column's content breaks into lines about this wide (four CJK
#: characters).
_HEAD = 8
_LINE = 14.0  # points per line of 10-point text
#: The printable width and height of A4 landscape within the margins, in points.
_PAGE_WIDTH = 842 - 0.8 * 72
_PAGE_HEIGHT = 595 - 1.1 * 72


def _points(units: float) -> float:
    """A column's printed width in points (seven pixels a unit and five of padding)."""
    return (units * 7 + 5) * 0.75


def write_forms(
    items: Sequence[Sheet | Form], path: str | os.PathLike[str], *, unmasked: bool = False
) -> None:
    """Write each sheet or form to a worksheet of a new workbook at ``path`` (see the module).
    Phones and ID numbers are masked unless ``unmasked``; every text cell is a string, never a
    formula, whatever it starts with."""
    from openpyxl import Workbook

    book = Workbook()
    for blank in list(book.worksheets):
        book.remove(blank)
    forms = [as_form(i) for i in items]
    keys: list[list[Value]] = []
    for form, title in zip(forms, _titles(forms), strict=True):
        ws = book.create_sheet(title)
        keys.extend(_Layout(form, unmasked).write(ws))
    sheet = book.create_sheet(_unique(KEYS_SHEET, set(book.sheetnames)))
    sheet.sheet_state = "hidden"
    sheet.append(["sheet", "section", "header_row", "first_row", "last_row", "columns"])
    for row in keys:
        sheet.append(row)
    book.save(os.fspath(path))


def _unique(base: str, seen: set[str]) -> str:
    title, n = base, 1
    while title in seen:
        n += 1
        title = f"{base}({n})"[:31]
    return title


def _titles(forms: Sequence[Form]) -> list[str]:
    seen: set[str] = {KEYS_SHEET}
    out = []
    for form in forms:
        base = xml_safe(form.name or form.title).translate(_BAD_TITLE)[:28] or form.key
        title = _unique(base[:31], seen)
        seen.add(title)
        out.append(title)
    return out


def _text_cell(cell: Any, value: str) -> Any:
    """Write ``value`` as a string, never a formula, and nothing an XML workbook cannot hold."""
    value = xml_safe(value)
    cell.value = value
    cell.data_type = "s"
    if value.startswith(_DANGEROUS):
        cell.quotePrefix = True
    return cell


def _len(text: str) -> int:
    """The width of ``text`` in 10-point type, in Excel's unit (the width of a "0"): a CJK
    character is about 1.9, a Latin letter or a digit about 1.1 (a little more than Calibri's,
    as a substituted font may be wider)."""
    if text.isascii():
        return math.ceil(len(text) * 11 / 10)
    tenths = sum(19 if get_character_cell_size(ch) == 2 else 11 for ch in text)
    return math.ceil(tenths / 10)


def _need(value: str) -> int:
    """The width a text needs on one line (the longest of its lines)."""
    return max((_len(line) for line in value.split("\n")), default=0)


def _break(label: str, width: int) -> str:
    """``label`` on as few lines as keep each within ``width`` (at most three): English
    between words, Chinese between any two characters, the lines as even as can be."""
    total = _len(label)
    if total <= width or "\n" in label:
        return label
    lines = min(3, math.ceil(total / max(width, 1)))
    if " " in label.strip():
        target = max(max(_len(w) for w in label.split()), math.ceil(total / lines))
        out: list[str] = []
        for word in label.split():
            if out and _len(out[-1]) + 1 + _len(word) <= target:
                out[-1] += " " + word
            else:
                out.append(word)
        return "\n".join(out)
    if all(get_character_cell_size(ch) == 1 for ch in label):  # one word: never split
        return label
    size = math.ceil(len(label) / lines)
    return "\n".join(label[i : i + size] for i in range(0, len(label), size))


def _lines(value: str, width: int) -> int:
    """The lines ``value`` takes in a cell ``width`` cells wide, its text wrapped."""
    if not value:
        return 1
    return sum(max(1, math.ceil(_len(line) / max(width, 1))) for line in value.split("\n"))


def _units(width: int) -> float:
    """The column width that shows ``width`` (see :func:`_len`) with a margin either side."""
    return round(width + 1.6, 1)


class _Section:
    """One section's columns, texts, headers (broken into lines) and needs (in cells)."""

    def __init__(self, sheet: Sheet, unmasked: bool) -> None:
        self.sheet = sheet
        self.columns = sheet.columns
        self.values = sheet.values(unmasked=unmasked)
        self.grouped = any(c.group for c in self.columns)
        self.needs: list[int] = []
        self.weights: list[int] = []  # how much room a column would like, for sharing spans
        self.heads: list[str] = []
        for j, col in enumerate(self.columns):
            whole = max((_need(cell_text(row[j], col.kind)) for row in self.values), default=0)
            data = whole
            if col.kind not in ("count", "rate", "id", "phone"):
                data = min(whole, _TEXT_CAP)
            head = _break(col.label, max(data, _HEAD))
            self.heads.append(head)
            self.needs.append(max(data, _need(head), _MIN))
            self.weights.append(max(min(whole, 3 * _TEXT_CAP), self.needs[-1]))
        self.spans: list[tuple[int, int]] = []


class _Layout:
    """Where everything of one form goes on its worksheet."""

    def __init__(self, form: Form, unmasked: bool) -> None:
        self.form = form
        self.sections = [_Section(s, unmasked) for s in form.sections]
        self.n = max((len(s.columns) for s in self.sections), default=1) or 1
        self.widths = [0] * self.n
        for s in self.sections:
            if len(s.columns) == self.n:
                s.spans = [(j, j) for j in range(self.n)]
                for j, need in enumerate(s.needs):
                    self.widths[j] = max(self.widths[j], need)
        for s in self.sections:
            if len(s.columns) != self.n:
                s.spans = self._spread(s.weights)
        for s in self.sections:  # a span too narrow for its column widens its last column
            for (a, b), need in zip(s.spans, s.needs, strict=True):
                have = self._room(a, b)
                if have < need:
                    self.widths[b] += need - have
            self._fit_groups(s)

    def _room(self, a: int, b: int) -> int:
        """The width columns ``a`` to ``b`` hold together (with the margins between)."""
        return sum(self.widths[a : b + 1]) + round(1.6 * (b - a))

    def _spread(self, needs: list[int]) -> list[tuple[int, int]]:
        """Spans of the grid's columns for a section of fewer columns, in proportion to the
        room they would like: each gets at least one column, the boundaries fall where the
        needs do."""
        n, k = self.n, len(needs)
        if k == 0:
            return []
        base = [max(w, 1) for w in self.widths]
        total = sum(base)
        edges = [0]
        acc = 0.0
        cum = [0.0]
        for w in base:
            cum.append(cum[-1] + w)
        whole = sum(needs)
        for i in range(1, k):
            acc += needs[i - 1] / whole * total
            j = min(range(n + 1), key=lambda e: abs(cum[e] - acc))
            j = max(j, edges[-1] + 1)
            j = min(j, n - (k - i))
            edges.append(j)
        edges.append(n)
        return [(edges[i], edges[i + 1] - 1) for i in range(k)]

    def _fit_groups(self, s: _Section) -> None:
        for group, first, last in _groups(s.columns):
            if not group:
                continue
            a, b = s.spans[first][0], s.spans[last][1]
            have = self._room(a, b)
            need = _len(group)
            if have < need:
                self.widths[b] += need - have

    # -----------------------------------------------------------------------------------------

    def write(self, ws: Any) -> list[list[Value]]:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.page import PageMargins
        from openpyxl.worksheet.pagebreak import Break
        from openpyxl.worksheet.properties import PageSetupProperties

        form, n = self.form, self.n
        self.styles = _Styles(ws, form.font or None)
        last = get_column_letter(n)
        total_width = sum(self.widths)
        for j, w in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _units(w)

        row = 1
        self._merged(ws, row, 0, n - 1, form.title, "title", "center")
        ws.row_dimensions[row].height = 30
        row += 1
        if form.caption:
            caption = fill(form.caption, self._room(0, n - 1) - 2, _len)
            self._merged(ws, row, 0, n - 1, caption, "plain", "left", wrap=True)
            ws.row_dimensions[row].height = _LINE * _lines(caption, total_width) + 4
            row += 1
        header_end = row - 1
        keys: list[list[Value]] = []
        blocks: list[tuple[int, int]] = []  # each section's heading, header and first rows
        for i, s in enumerate(self.sections):
            row += 1 if i or not form.caption else 0
            start = row
            if len(self.sections) > 1 and s.sheet.heading:
                self._merged(ws, row, 0, n - 1, s.sheet.heading, "heading", "left")
                ws.row_dimensions[row].height = 20
                row += 1
            header_row = row
            row = self._header(ws, s, row)
            if i == 0:
                header_end = row - 1
            first = row
            row = self._rows(ws, s, row)
            blocks.append((start, min(row, first + 3) - 1))
            keys.append(
                [
                    ws.title,
                    s.sheet.key,
                    header_row,
                    first,
                    row - 1 if s.values else first - 1,
                    *self._keys(s),
                ]
            )
        foot = row + 1  # the signature line and the approval lines stay on one page
        if form.signature:
            row += 1
            self._signature(ws, row)
            ws.row_dimensions[row].height = 24
            row += 1
        for line in form.stamps:
            self._merged(ws, row, 0, self.n - 1, line, "sign", "left")
            ws.row_dimensions[row].height = 20
            row += 1
        if row > foot:
            blocks.append((foot, row - 1))
        last_row = row - 1

        ws.print_area = f"A1:{last}{last_row}"
        repeat = header_end if form.repeat == "header" else (2 if form.caption else 1)
        ws.print_title_rows = f"1:{repeat}"
        setup = ws.page_setup
        setup.orientation = "landscape"
        setup.paperSize = ws.PAPERSIZE_A4
        setup.fitToWidth = 1
        setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, footer=0.3)
        ws.print_options.horizontalCentered = True
        if form.footer:
            ws.oddFooter.center.text = xml_safe(form.footer)
            ws.oddFooter.center.size = 9
        for before in self._breaks(ws, repeat, last_row, blocks):
            ws.row_breaks.append(Break(id=before - 1))
        if form.repeat == "header" and len(self.sections) == 1:
            s = self.sections[0]
            labels = s.spans[s.sheet.labels - 1][1] + 1 if s.sheet.labels else 0
            ws.freeze_panes = f"{get_column_letter(labels + 1)}{header_end + 1}"
        return keys

    def _breaks(
        self, ws: Any, repeat: int, last_row: int, blocks: list[tuple[int, int]]
    ) -> list[int]:
        """The rows before which a page should break so that no section starts at the foot of
        a page, its heading or header cut from its rows (an estimate of the printed page:
        A4 landscape, fitted to its width)."""
        points = sum(_points(_units(w)) for w in self.widths)
        scale = min(1.0, _PAGE_WIDTH / points) if points else 1.0
        height = _PAGE_HEIGHT / scale * 0.95
        heights = {r: ws.row_dimensions[r].height or 15.0 for r in range(1, last_row + 1)}
        page = height - sum(heights[r] for r in range(1, repeat + 1))
        keep = dict(blocks)
        out: list[int] = []
        y = 0.0
        for r in range(repeat + 1, last_row + 1):
            end = keep.get(r)
            if end is not None and y > 0:
                block = sum(heights[k] for k in range(r, end + 1))
                if y + block > page:
                    out.append(r)
                    y = 0.0
            if y + heights[r] > page:
                y = 0.0
            y += heights[r]
        return out

    def _keys(self, s: _Section) -> list[Value]:
        out: list[Value] = [None] * self.n
        for (a, _), col in zip(s.spans, s.columns, strict=True):
            out[a] = col.key
        return out

    def _merged(
        self,
        ws: Any,
        row: int,
        a: int,
        b: int,
        value: str,
        font: str,
        horizontal: str,
        *,
        wrap: bool = False,
        rows: int = 1,
        box: bool = False,
        fill: str | None = None,
    ) -> Any:
        """``value`` in columns ``a`` to ``b`` of ``rows`` rows from ``row``, merged, boxed
        with thin lines when ``box``."""
        cell = ws.cell(row, a + 1)
        self.styles.put(cell, font=font, horizontal=horizontal, wrap=wrap, fill=fill, border=box)
        _text_cell(cell, value)
        self._span(ws, row, a, b, rows, box=box, fill=fill)
        return cell

    def _span(
        self, ws: Any, row: int, a: int, b: int, rows: int, *, box: bool, fill: str | None
    ) -> None:
        """Merge columns ``a`` to ``b`` of ``rows`` rows from ``row`` (the first cell written
        already), the cells inside boxed and filled like it. The range is added to the sheet's
        merged ranges directly: the worksheet's own ``merge_cells`` compares every new range
        with every one before it and re-derives the borders of its cells, which for a county's
        forms costs more than the rest of the workbook."""
        from openpyxl.worksheet.cell_range import CellRange
        from openpyxl.worksheet.merge import MergedCellRange

        if b == a and rows == 1:
            return
        end = row + rows - 1
        coord = CellRange(min_col=a + 1, min_row=row, max_col=b + 1, max_row=end).coord
        ws.merged_cells.ranges.add(MergedCellRange(ws, coord))
        if not box and fill is None:
            return
        for r in range(row, end + 1):
            for j in range(a, b + 1):
                if r != row or j != a:
                    self.styles.put(ws.cell(r, j + 1), fill=fill, border=box)

    def _header(self, ws: Any, s: _Section, row: int) -> int:
        depth = 2 if s.grouped else 1
        lines = [1] * depth
        for group, first, last in _groups(s.columns):
            a, b = s.spans[first][0], s.spans[last][1]
            if group:
                self._merged(
                    ws, row, a, b, group, "bold", "center", wrap=True, box=True, fill="grey"
                )
                for j in range(first, last + 1):
                    c0, c1 = s.spans[j]
                    label = s.heads[j]
                    self._merged(
                        ws,
                        row + 1,
                        c0,
                        c1,
                        label,
                        "bold",
                        "center",
                        wrap=True,
                        box=True,
                        fill="grey",
                    )
                    lines[1] = max(lines[1], _lines(label, self._room(c0, c1)))
                continue
            for j in range(first, last + 1):
                c0, c1 = s.spans[j]
                label = s.heads[j]
                self._merged(
                    ws,
                    row,
                    c0,
                    c1,
                    label,
                    "bold",
                    "center",
                    wrap=True,
                    rows=depth,
                    box=True,
                    fill="grey",
                )
                need = _lines(label, self._room(c0, c1))
                lines[-1] = max(lines[-1], need - (depth - 1))
        for d in range(depth):
            ws.row_dimensions[row + d].height = _LINE * lines[d] + 6
        return row + depth

    def _rows(self, ws: Any, s: _Section, row: int) -> int:
        sheet = s.sheet
        if not s.values:
            if sheet.empty:
                self._merged(ws, row, 0, self.n - 1, sheet.empty, "plain", "center", box=True)
                return row + 1
            return row
        merge = _label_merges(sheet, s.values)
        for i, (item, cells) in enumerate(zip(sheet.rows, s.values, strict=True)):
            level = sheet.level_of(item)
            font = "bold" if level else "plain"
            fill = "light" if level >= 2 else None
            height = 1
            for j, (value, col) in enumerate(zip(cells, s.columns, strict=True)):
                a, b = s.spans[j]
                extend = merge.get((i, j))
                if extend == (0, 0):
                    continue  # inside a label merged from another cell
                if extend is not None:
                    b = s.spans[j + extend[1]][1]
                width = self._room(a, b)
                cell = ws.cell(row, a + 1)
                shown = cell_text(value, col.kind)
                numeric = col.kind in ("count", "rate")
                label = j < sheet.labels
                wrap = not numeric and _need(shown) > width
                rows = extend[0] + 1 if extend is not None else 1
                horizontal = "right" if numeric else "left"
                if label and extend is not None and (rows > 1 or b > s.spans[j][1]):
                    horizontal = "center"
                number = value is not None and not isinstance(value, str)
                self.styles.put(
                    cell,
                    font=font,
                    horizontal=horizontal,
                    wrap=wrap,
                    fill=fill,
                    border=True,
                    number_format=("0.0%" if col.kind == "rate" else "#,##0") if number else None,
                )
                if isinstance(value, str):
                    if value:
                        _text_cell(cell, value)
                elif value is None:
                    if col.kind == "rate":
                        _text_cell(cell, shown)
                else:
                    cell.value = value
                self._span(ws, row, a, b, rows, box=True, fill=fill)
                if wrap and rows == 1:
                    height = max(height, _lines(shown, width))
            ws.row_dimensions[row].height = _LINE * height + 4
            row += 1
        return row

    def _signature(self, ws: Any, row: int) -> None:
        parts = self.form.signature
        n = self.n
        edges = [round(i * n / len(parts)) for i in range(len(parts) + 1)]
        for part, a, b in zip(parts, edges, edges[1:], strict=False):
            if b <= a:
                continue
            self._merged(ws, row, a, b - 1, part, "sign", "left")


class _Styles:
    """The few cell styles a form uses, each made once and copied onto its cells. Assigning
    a font, fill, border or alignment to a cell makes openpyxl hash it against the workbook's
    lists of them; for the hundreds of thousands of cells of a county's forms that costs more
    than everything else, so each combination is set once, on a cell outside the sheet, and
    its style record copied (as openpyxl copies styles between worksheets)."""

    def __init__(self, ws: Any, font: str | None) -> None:
        from openpyxl.styles import Border, Font, PatternFill, Side

        self.ws = ws
        thin = Side(style="thin", color="000000")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.fills = {
            "grey": PatternFill("solid", fgColor="EDEDED"),
            "light": PatternFill("solid", fgColor="F7F7F7"),
        }
        self.fonts = {
            "plain": Font(name=font, size=10),
            "bold": Font(name=font, size=10, bold=True),
            "sign": Font(name=font, size=11),
            "heading": Font(name=font, size=11, bold=True),
            "title": Font(name=font, size=16, bold=True),
        }
        self.made: dict[tuple[Any, ...], Any] = {}

    def put(
        self,
        cell: Any,
        *,
        font: str | None = None,
        horizontal: str | None = None,
        wrap: bool = False,
        fill: str | None = None,
        border: bool = False,
        number_format: str | None = None,
    ) -> None:
        key = (font, horizontal, wrap, fill, border, number_format)
        style = self.made.get(key)
        if style is None:
            from openpyxl.cell.cell import Cell
            from openpyxl.styles import Alignment

            proto: Any = Cell(self.ws, row=1, column=1)  # outside the sheet: never added
            if font is not None:
                proto.font = self.fonts[font]
            if horizontal is not None:
                proto.alignment = Alignment(
                    horizontal=horizontal, vertical="center", wrap_text=wrap
                )
            if fill is not None:
                proto.fill = self.fills[fill]
            if border:
                proto.border = self.border
            if number_format is not None:
                proto.number_format = number_format
            style = self.made[key] = proto._style
        cell._style = copy(style)


def _groups(columns: Sequence[Column]) -> list[tuple[str, int, int]]:
    """Runs of consecutive columns of the same group: (group, first, last); columns without a
    group are runs of their own."""
    out: list[tuple[str, int, int]] = []
    for j, col in enumerate(columns):
        if col.group and out and out[-1][0] == col.group:
            out[-1] = (col.group, out[-1][1], j)
        else:
            out.append((col.group, j, j))
    return out


def _label_merges(
    sheet: Sheet, values: list[list[Value]]
) -> dict[tuple[int, int], tuple[int, int]]:
    """Which label cells merge: ``(row, column) -> (extra rows, extra columns)`` for the cell
    that starts a merge, ``(0, 0)`` for a cell inside one. A label followed by empty labels on
    a subtotal or total row spans them; a label of the first ``merge`` columns repeated on the
    next rows (under the same labels to its left) spans those rows."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    labels = sheet.labels
    for i, (item, cells) in enumerate(zip(sheet.rows, values, strict=True)):
        if sheet.level_of(item) == 0:
            continue
        for j in range(labels):
            if (i, j) in out or not cells[j]:
                continue
            k = j + 1
            while k < labels and not cells[k]:
                k += 1
            if k > j + 1:
                out[(i, j)] = (0, k - j - 1)
                for m in range(j + 1, k):
                    out[(i, m)] = (0, 0)
    for j in range(min(sheet.merge, labels)):
        i = 0
        while i < len(values):
            value = values[i][j]
            end = i
            while (
                value
                and end + 1 < len(values)
                and values[end + 1][j] == value
                and values[end + 1][:j] == values[i][:j]
                and (end + 1, j) not in out
                and (i, j) not in out
            ):
                end += 1
            if end > i:
                out[(i, j)] = (end - i, 0)
                for m in range(i + 1, end + 1):
                    out[(m, j)] = (0, 0)
            i = end + 1
    return out
