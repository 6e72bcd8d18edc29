"""Reading an uploaded users CSV as a stream: encoding, size and row limits, header mapping.

The upload is spooled to disk by the multipart parser; rows are decoded and
parsed one at a time from there, so memory does not grow with the file.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from shared.errors import PayloadTooLarge, Unprocessable

COLUMNS = ("name", "mobile_number", "email", "emp_id", "applications", "is_admin")
# The headings the console's user table shows, so an edited export imports as is.
ALIASES = {"mobile": "mobile_number", "employee_id": "emp_id", "admin": "is_admin"}


class BadEncoding(Unprocessable):
    code = "bad_encoding"
    message = "The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again."


class EmptyFile(Unprocessable):
    code = "empty_file"
    message = "The file has no user rows. The first row must name the columns."


class BadHeader(Unprocessable):
    code = "bad_header"


class BadCsv(Unprocessable):
    code = "bad_csv"


class _CappedReader(io.RawIOBase):
    """Counts the bytes actually read and stops at the limit, whatever the headers claimed."""

    def __init__(self, raw: BinaryIO, max_bytes: int) -> None:
        self._raw = raw
        self._left = max_bytes
        self._max_bytes = max_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        self._left -= len(data)
        if self._left < 0:
            raise PayloadTooLarge(f"The file is larger than {self._max_bytes} bytes.")
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Header:
    """Where each known column sits in a row, and the columns the import ignores."""

    positions: dict[str, int]
    ignored: list[str] = field(default_factory=list)


def _canonical(title: str) -> str:
    key = "_".join(title.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


def _delimiter(header_line: str) -> str:
    """Comma, unless the header has more semicolons (Excel in many locales) or tabs."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__)  # a tie goes to the comma, listed first


def parse_header(cells: list[str], *, allow_admin: bool) -> Header:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(cells):
        column = _canonical(title)
        if column in positions:
            raise BadHeader(f"The column '{title.strip()}' appears twice.", row=1)
        if column in COLUMNS and (column != "is_admin" or allow_admin):
            positions[column] = index
        elif title.strip():
            ignored.append(title.strip())
    missing = []
    if "name" not in positions:
        missing.append("name")
    if "email" not in positions and "mobile_number" not in positions:
        missing.append("email or mobile_number")
    if missing:
        raise BadHeader(
            "The first row must name the columns; missing: " + ", ".join(missing) + ".",
            code="missing_columns",
            row=1,
        )
    return Header(positions=positions, ignored=ignored)


class _Records:
    """The upload's CSV records from the start, numbered as a spreadsheet numbers them."""

    def __init__(self, raw: BinaryIO, max_bytes: int) -> None:
        raw.seek(0)
        buffered = io.BufferedReader(_CappedReader(raw, max_bytes), buffer_size=256 * 1024)
        # utf-8-sig drops the byte-order mark spreadsheet programs put first.
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
        try:
            first_line = text.readline(64 * 1024)
        except UnicodeDecodeError as exc:
            raise BadEncoding() from exc
        lines = itertools.chain([first_line], text)
        self._reader = csv.reader(lines, delimiter=_delimiter(first_line), strict=True)
        self.row = 0  # records read so far; a spreadsheet shows record N as row N

    def next(self) -> list[str] | None:
        try:
            cells = next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:
            # Text is decoded a block at a time, so the row at hand may not hold the bad byte.
            raise BadEncoding() from exc
        except csv.Error as exc:
            row = self.row + 1
            raise BadCsv(f"Row {row} is not valid CSV: {exc}.", row=row) from exc
        self.row += 1
        return cells


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


class CsvUpload:
    """The upload read twice: a quick pass (the csv module alone) that refuses a file with
    too many rows, or that is not UTF-8 or not CSV, in well under a second; then `header`
    and `rows()` as (spreadsheet row number, cells) for the checks, which take about 100 µs
    a row (a million-row file was refused only after 8.6 s of checking the first 200,000)."""

    def __init__(self, raw: BinaryIO, *, max_bytes: int, max_rows: int, allow_admin: bool):
        counting = _Records(raw, max_bytes)
        if (first := counting.next()) is None or _is_blank(first):
            raise EmptyFile()
        self.header = parse_header(first, allow_admin=allow_admin)
        self.width = len(first)
        count = 0
        while (cells := counting.next()) is not None:
            count += not _is_blank(cells)
            if count > max_rows:
                raise PayloadTooLarge(f"The file has more than {max_rows} user rows.")
        if count == 0:
            raise EmptyFile()
        self._records = _Records(raw, max_bytes)
        self._records.next()  # the header, read above

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Non-blank data rows; blank rows keep their number, as in a spreadsheet."""
        while (cells := self._records.next()) is not None:
            if not _is_blank(cells):
                yield self._records.row, cells
