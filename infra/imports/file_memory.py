"""What an import must remember across a whole file (record ids and barcodes seen, links
declared), kept in a private temporary SQLite file rather than in the importer's memory:
its memory then stays flat however long the file (bench/RESULTS.md: it grew by about
0.25 KiB per MARC record and 0.4 KiB per roster row). SQLite keeps a small page cache and
deletes the file when the import ends."""
from __future__ import annotations

import sqlite3
from typing import Iterator


class FileMemory:
    """Named maps of text keys to integers (a line or record number); the first value
    given for a key is kept."""

    def __init__(self, *names: str):
        self._db = sqlite3.connect("")   # "": a temporary file of its own, removed on close
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        for name in names:
            self._db.execute(f"CREATE TABLE {name} (key TEXT UNIQUE NOT NULL, value INTEGER)")  # rowid: order

    def add(self, name: str, key: str, value: int) -> bool:
        """Remember ``key`` with ``value`` unless it is known; True if it was new."""
        return self._db.execute(f"INSERT OR IGNORE INTO {name} VALUES (?, ?)", (key, value)).rowcount == 1

    def get(self, name: str, key: str) -> int | None:
        row = self._db.execute(f"SELECT value FROM {name} WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def count(self, name: str) -> int:
        return self._db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]

    def items(self, name: str) -> Iterator[tuple[str, int]]:
        """(key, value) in the order they were first added."""
        yield from self._db.execute(f"SELECT key, value FROM {name} ORDER BY rowid")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "FileMemory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
