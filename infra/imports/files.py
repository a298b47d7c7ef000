"""Reading import files: UTF-8 (a BOM from spreadsheet programs is fine), CSV or JSON."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from services.common import config


class ImportFileError(SystemExit):
    """The whole file is unusable (not a row of it): stop with a clear message."""


def check_size(path: Path) -> None:
    """Refuse a file over ``SUITE_IMPORT_MAX_BYTES`` before any of it is read or sent."""
    limit = config.load().import_max_bytes
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    if size > limit:
        raise ImportFileError(f"{path} is {size:,} bytes, over the import limit of {limit:,} "
                              "(SUITE_IMPORT_MAX_BYTES): split the file or raise the limit")


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def csv_rows(path: Path, columns: list[str]) -> Iterator[tuple[int, dict | str]]:
    """(line number, row) pairs; a row is a dict, or a string saying why the line is unusable."""
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader, [])]
        except UnicodeDecodeError:
            raise ImportFileError(f"{path} is not UTF-8 text") from None
        if header != columns:
            raise ImportFileError(f"{path}: the header must be exactly {','.join(columns)} (found {','.join(header)})")
        line = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                line += 1
                yield line, f"unreadable line: {exc}"
                continue
            line = reader.line_num
            if not any(fields):
                continue
            if len(fields) != len(columns):
                yield line, f"expected {len(columns)} fields, found {len(fields)}"
                continue
            yield line, {c: v.strip() for c, v in zip(columns, fields)}


def json_document(path: Path):
    """A JSON file (UTF-8, a BOM allowed), or ImportFileError saying why not."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ImportFileError(f"{path} is not valid JSON: {exc}") from None


def json_items(path: Path) -> list:
    data = json_document(path)
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: expected a JSON list")
    return data
