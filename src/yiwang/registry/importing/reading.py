"""Reading an import file as a stream of rows: CSV in any of the encodings Excel writes, or XLSX.

Nothing here holds the whole file: CSV is decoded incrementally and parsed by ``csv.reader``;
XLSX is read with openpyxl's read-only mode, one row at a time.

Encoding: an explicit option wins. Otherwise a BOM decides (UTF-8, UTF-16); else a sample of
the file's start is tried as UTF-8 and, failing that, read as GB18030 (a superset of GBK and
GB2312, what Excel writes for "CSV" on a Chinese Windows). Bytes that still do not decode
become U+FFFD, and the row that holds them is refused with a reason instead of stopping the
import — so a wrongly chosen encoding loses no row silently.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

SAMPLE_BYTES = 1 << 20
EXTENSIONS = (".csv", ".xlsx")

#: Names accepted for the encoding option, mapped to Python codecs.
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "utf-16": "utf-16",
    "big5": "big5",
}

csv.field_size_limit(1 << 20)


class FileError(ValueError):
    """The file cannot be read at all (wrong type, empty, no header)."""


@dataclass
class Source:
    """An opened import file: the header, the rows, and what was decided about reading it."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (1-based row number in the file, cells)
    encoding: str = ""
    detected: bool = False
    estimated_rows: int = 0
    bytes_total: int = 0
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for c in self._closers:
            c.close()
        self._closers.clear()


def normalize_encoding(name: str) -> str:
    key = (name or "").strip().lower().replace("_", "-")
    if not key:
        return ""
    if key in ENCODINGS:
        return ENCODINGS[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise FileError(_("Unknown encoding %(enc)s.") % {"enc": name}) from None


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
    return n


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(path: Path, encoding: str = "") -> Source:
    enc = normalize_encoding(encoding)
    detected = False
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileError(_("The file is empty."))
    if not enc:
        enc, detected = detect_encoding(sample), True
    raw = path.open("rb")
    text: IO[str] = io.TextIOWrapper(raw, encoding=enc, errors="replace", newline="")
    first = text.readline()
    delimiter = _sniff_delimiter(first)
    reader = csv.reader(itertools.chain((first,), text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        text.close()
        raise FileError(_("The file has no header row.")) from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def rows() -> Iterator[tuple[int, list[str]]]:
        n = 1
        for cells in reader:
            n += 1
            if not cells or not "".join(cells).strip():
                continue
            yield n, cells

    size = path.stat().st_size
    estimated = max(_count_lines(path) - 1, 0) if size else 0
    src = Source(header, rows(), enc, detected, estimated, size)
    src._closers.append(text)
    return src


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def open_xlsx(path: Path) -> Source:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileError(_("This is not a readable XLSX file: %(err)s") % {"err": exc}) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header: list[str] | None = None
    n = 0
    for values in it:
        n += 1
        cells = [_cell(v) for v in values]
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        wb.close()
        raise FileError(_("The file has no header row."))
    start = n

    def rows() -> Iterator[tuple[int, list[str]]]:
        i = start
        for values in it:
            i += 1
            cells = [_cell(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            yield i, cells

    estimated = max((ws.max_row or 0) - start, 0)
    src = Source(header, rows(), "xlsx", False, estimated, path.stat().st_size)
    src._closers.append(wb)
    return src


def open_source(path: str | os.PathLike[str], encoding: str = "") -> Source:
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".xlsx":
        return open_xlsx(p)
    if ext in (".csv", ".txt", ".tsv"):
        return open_csv(p, encoding)
    raise FileError(
        _("Only .csv and .xlsx files can be imported (got %(ext)s).") % {"ext": ext or "?"}
    )
