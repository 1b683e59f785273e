"""Writing the roster: the blank templates and the export, as XLSX or CSV.

XLSX: a 花名冊 sheet (Chinese headers in row 1, English keys in row 2, data from row 3, panes
frozen, list validations for the choices, ID and phone columns formatted as text, dates as
dates) and a 說明 sheet. Every text cell is a string cell (``data_type 's'``) — one starting
with ``=``, ``+``, ``-`` or ``@`` also gets Excel's quote prefix — so no cell is ever a formula.
CSV: UTF-8 with a BOM (so Excel opens it as UTF-8); a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (or with ``'`` followed by one of them) gets a leading ``'``,
which :func:`leftbehind.io.roster_read.read_roster` removes again.

Files are written to a temporary file in the same folder and moved into place, so a failed
export leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from leftbehind.domain.ids import mask_phone, mask_resident_id
from leftbehind.domain.model import Child, School
from leftbehind.io.paths import ExportPathError, safe_export_path, staged
from leftbehind.io.render import xml_safe
from leftbehind.io.roster_columns import (
    HOME_VISIT_COLUMNS,
    ROSTER_COLUMNS,
    TALK_COLUMNS,
    CellValue,
    Column,
    ExportContext,
    Kind,
)
from leftbehind.io.roster_read import CSV_ESCAPED, needs_csv_escape

__all__ = ["TEMPLATES", "Format", "roster_rows", "school_labels", "write_roster", "write_template"]

Format = Literal["xlsx", "csv"]

#: The templates by kind, each a sheet title and its columns.
TEMPLATES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "roster": ("花名冊", ROSTER_COLUMNS),
    "talk": ("談心記錄", TALK_COLUMNS),
    "home_visit": ("家訪記錄", HOME_VISIT_COLUMNS),
}

_INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "roster": (
        "花名冊填寫說明 — how to fill the roster",
        "1. 一行一名兒童。第1行是中文表頭，第2行是英文鍵名（導入時按其中之一識別欄目），請勿修改；"
        "從第3行開始填寫。",
        "2. 黃色表頭的欄目必填。沒有的欄目可以刪去：導入更新已有兒童時，文件中沒有的欄目保持原值，"
        "有欄目而單元格留空表示「未登記」。",
        "3. 日期寫作 2016-03-01（也可寫 2016/3/1、2016年3月1日）。年級寫 1–9（初一 = 7），"
        "是今天的年級；已離校的寫離校前的年級。",
        "4. 身份證號碼和電話按文本填寫（本模板已設為文本格式）；不要用公式。",
        "5. 兒童編號：新兒童留空，導入時按學校和行號生成。"
        "已有兒童先按身份證號碼匹配，其次按兒童編號。",
        "6. 父母狀態：在家、外出務工（填外出開始日期；回家後填返回日期）、去世、失蹤、離異不在戶"
        "（填狀態日期）、不詳；整組留空表示未登記。監護能力為「無」時填無監護能力日期。",
        "7. 每位父母一行只記當前（最近）一次外出；導入已有兒童時，以前的外出記錄保留。",
        "8. 先試導入（leftbehind import 文件 --dry-run）檢查："
        "所有錯誤一次列出（工作表、行、欄目、原因）；有任何錯誤時整個文件都不導入。",
    ),
    "talk": (
        "談心記錄填寫說明 — talk records",
        "一行一次談心。兒童填兒童編號，教師填教師編號或姓名；方式為面談、電話或視頻。",
    ),
    "home_visit": (
        "家訪記錄填寫說明 — home-visit records",
        "一行一次家訪。兒童填兒童編號，家訪人填教師編號或姓名；下次家訪填計劃日期。",
    ),
}

_TEXT_KINDS = (Kind.TEXT, Kind.CHILD_ID, Kind.RESIDENT_ID, Kind.PHONE)
_DATA_ROW = 3


def school_labels(schools: Iterable[School]) -> dict[str, str]:
    """How the 學校 column names each school: its name, or its id when the name is shared."""
    items = list(schools)
    counts: dict[str, int] = {}
    for s in items:
        counts[s.name] = counts.get(s.name, 0) + 1
    return {s.id: s.name if counts[s.name] == 1 and s.name else s.id for s in items}


def roster_rows(
    children: Iterable[Child], ctx: ExportContext, *, unmasked: bool = False
) -> Iterator[list[CellValue]]:
    """Each child's cells in the order of the roster's columns, masked unless ``unmasked``.

    The columns are :data:`~leftbehind.io.roster_columns.ROSTER_COLUMNS`.
    """
    for child in children:
        row: list[CellValue] = []
        for column in ROSTER_COLUMNS:
            value = column.get(child, ctx)
            if not unmasked and isinstance(value, str) and value:
                if column.kind is Kind.RESIDENT_ID:
                    value = mask_resident_id(value)
                elif column.kind is Kind.PHONE:
                    value = mask_phone(value)
            row.append(value)
        yield row


# ---------------------------------------------------------------------------------------------
# Writers.


@contextlib.contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _csv_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if needs_csv_escape(text) else text


def _write_csv(out: Path, columns: Sequence[Column], rows: Iterable[Sequence[CellValue]]) -> int:
    n = 0
    with _atomic(out) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.header for c in columns])
        writer.writerow([c.key for c in columns])
        for row in rows:
            writer.writerow([_csv_text(v) for v in row])
            n += 1
    return n


def _write_xlsx(
    out: Path,
    kind: str,
    rows: Iterable[Sequence[CellValue]],
) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    title, columns = TEMPLATES[kind]
    wb = Workbook(write_only=True)
    ws: Any = wb.create_sheet(title)
    ws.freeze_panes = f"A{_DATA_ROW}"
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        dim = ws.column_dimensions[letter]
        dim.width = max(10, 2 * len(column.header) + 2)
        if column.kind in (Kind.RESIDENT_ID, Kind.PHONE, Kind.CHILD_ID):
            dim.number_format = "@"
            dim.width = 20
        elif column.kind is Kind.DATE:
            dim.number_format = "yyyy-mm-dd"
            dim.width = 12
        if column.choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.header,
                error="、".join(column.choices),
            )
            dv.add(f"{letter}{_DATA_ROW}:{letter}1048576")
            ws.data_validations.append(dv)
    bold, required = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = bold
        if column.required:
            cell.fill = required
        header.append(cell)
    ws.append(header)
    grey = Font(italic=True, color="808080")
    keys = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.key)
        cell.font = grey
        keys.append(cell)
    ws.append(keys)
    n = 0
    for row in rows:
        ws.append([_xlsx_cell(ws, WriteOnlyCell, v) for v in row])
        n += 1
    _instructions(wb.create_sheet("說明"), kind, columns)
    with _atomic(out) as tmp:
        wb.save(tmp)
    return n


def _xlsx_cell(ws: Any, make: Any, value: CellValue) -> Any:
    if isinstance(value, str):
        cell = make(ws, value=xml_safe(value))
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if value[:1] in CSV_ESCAPED[:4]:
            cell.quotePrefix = True
        return cell
    if isinstance(value, date):
        cell = make(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def _instructions(ws: Any, kind: str, columns: Sequence[Column]) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 8
    ws.column_dimensions["D"].width = 36
    ws.column_dimensions["E"].width = 70
    for line in _INSTRUCTIONS[kind]:
        ws.append([line])
    ws.append([])
    ws.append(["欄目 header", "鍵名 key", "必填", "選項 choices", "說明 meaning"])
    for c in columns:
        row = [c.header, c.key, "是" if c.required else "", "、".join(c.choices), c.meaning]
        ws.append(row)


def write_template(
    path: str | os.PathLike[str],
    *,
    format: Format = "xlsx",
    kind: Literal["roster", "talk", "home_visit"] = "roster",
    store_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a blank template: roster (花名冊), talk records (談心記錄) or home visits (家訪記錄).

    Returns the path written. The path must end in ``.xlsx`` or ``.csv`` and is checked by
    :func:`~leftbehind.io.paths.safe_export_path` (never over ``store_path``'s store, or any
    database); the file appears whole or not at all.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ExportPathError(path, "export_suffix", "a template is an .xlsx or a .csv file")
    out = safe_export_path(path, store_path=store_path)
    with staged(out) as stage:
        if format == "csv":
            _write_csv(stage.path, TEMPLATES[kind][1], ())
        else:
            _write_xlsx(stage.path, kind, ())
        stage.publish()
    return out


def write_roster(
    out: Path,
    children: Iterable[Child],
    ctx: ExportContext,
    *,
    format: Format,
    unmasked: bool = False,
) -> int:
    """Write ``children`` as a roster in the template's form to ``out``; returns the row count.

    ID numbers and phones are masked unless ``unmasked`` (a masked export cannot be imported
    again). :meth:`leftbehind.County.export_roster` is the export a county calls: it picks the
    children the actor may see and audits the export before the file appears.
    """
    rows = roster_rows(sorted(children, key=lambda c: c.id), ctx, unmasked=unmasked)
    write = _write_csv if format == "csv" else _write_roster_xlsx
    return write(out, ROSTER_COLUMNS, rows)


def _write_roster_xlsx(
    out: Path, columns: Sequence[Column], rows: Iterable[Sequence[CellValue]]
) -> int:
    return _write_xlsx(out, "roster", rows)
