"""``suite import roster DIR``: a school roster exported as IMS OneRoster 1.1 CSV into the
e-schoolbag (elearning service), with a progress bar and a report of rejected rows and why.

Reads, in this order, whichever of these files DIR holds (a delta export may leave some
out; ``manifest.csv`` marking a file ``absent`` also skips it): orgs.csv,
academicSessions.csv, classes.csv, users.csv, enrollments.csv. How rows map is told in
``services.elearning.roster``. Guardians are residents: each guardian row's ID number is
looked up with the community service's ``find_resident`` (an unknown one is a rejected
row), and only the resident's id goes on to the elearning service. Student <-> guardian
links come from users.csv ``agentSourcedIds`` (either side) and are sent after all users.

``imported N`` counts stored records: one per row, plus one per student-guardian link.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Iterator

from nameko.exceptions import RemoteError
from tqdm import tqdm

from infra.imports.file_memory import FileMemory
from infra.imports.files import ImportFileError, check_size, count_rows
from services.elearning import roster
from services.elearning.roster import GuardianRow, RosterRowError

BATCH = 500
LOOKUPS_IN_FLIGHT = 20
_US = "\x1f"   # ASCII unit separator: joins two sourcedIds in one key


def roster_rows(path: Path, required: list[str]) -> Iterator[tuple[int, dict | str]]:
    """(line number, row by column name) pairs; a row is a string when the line is unusable."""
    try:
        f = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader, [])]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ImportFileError(f"{path}: unreadable header ({exc})") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise ImportFileError(f"{path}: the header lacks {', '.join(missing)} (OneRoster 1.1 columns)")
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            raise ImportFileError(f"{path}: the header repeats {', '.join(repeated)}")
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
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                yield line, f"expected {len(header)} fields, found {len(fields)}"
                continue
            yield line, dict(zip(header, fields))


def _manifest_absent(directory: Path) -> set[str]:
    path = directory / "manifest.csv"
    if not path.is_file():
        return set()
    absent = set()
    for _, row in roster_rows(path, ["propertyName", "value"]):
        if isinstance(row, dict) and row["propertyName"].startswith("file.") and row["value"].strip() == "absent":
            absent.add(row["propertyName"][len("file."):])
    return absent


class _Importer:
    def __init__(self, rpc, bar):
        self.rpc, self.bar = rpc, bar
        self.imported = 0
        self.rejected: list[tuple[tuple[int, int], str, str]] = []   # ((file order, line), where, reason)
        self.batch: list[tuple[tuple[int, int], str, dict]] = []
        self.refused: dict[str, int] = {}   # sourcedId -> line, of records the service refused

    def reject(self, order: int, file: str, line: int, reason: str, count: bool = True) -> None:
        self.rejected.append(((order, line), f"{line} of {file}.csv", reason))
        if count:
            self.bar.update(1)

    def add(self, order: int, file: str, line: int, record: dict) -> None:
        self.batch.append(((order, line), f"{line} of {file}.csv", record))
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        sent, self.batch = self.batch, []
        try:
            result = self.rpc.elearning.roster_import([record for _, _, record in sent])
        except RemoteError as exc:       # the batch refused whole: say so for each of its rows
            self.rejected.extend((key, where, f"the elearning service refused the batch: {exc.value}")
                                 for key, where, _ in sent)
        except Exception as exc:  # noqa: BLE001 - no answer (broker or service gone): stop here
            raise ImportFileError(f"stopped, {self.imported} records imported so far: "
                                  f"{type(exc).__name__} {exc}") from None
        else:
            self.imported += result["imported"]
            for r in result["rejected"]:
                key, where, record = sent[r["index"]]
                self.rejected.append((key, where, r["reason"]))
                if record.get("sourced_id"):
                    self.refused[record["sourced_id"]] = key[1]
        self.bar.update(len(sent))


def _resolve(rpc, guardians: list[tuple[int, GuardianRow]]) -> Iterator[tuple[int, GuardianRow, str | None, str]]:
    """(line, row, resident id or None, reason) for each guardian, looked up concurrently."""
    method = rpc.community.find_resident
    for start in range(0, len(guardians), LOOKUPS_IN_FLIGHT):
        chunk = guardians[start:start + LOOKUPS_IN_FLIGHT]
        call_async = getattr(method, "call_async", None)
        replies = [call_async(g.id_number) if call_async else None for _, g in chunk]
        for (line, g), reply in zip(chunk, replies):
            try:
                found = reply.result() if reply is not None else method(g.id_number)
            except RemoteError as exc:
                if exc.exc_type == "NotFound":
                    yield line, g, None, ("no resident with this guardian's ID number: guardians must be "
                                          "registered residents of the community service")
                else:
                    yield line, g, None, f"the community service refused the guardian: {exc.value}"
                continue
            except Exception as exc:  # noqa: BLE001 - no answer: stop here
                raise ImportFileError(f"stopped while looking up guardians: {type(exc).__name__} {exc}") from None
            yield line, g, found["resident_id"], ""


def import_roster(rpc, directory: Path, report=sys.stderr) -> tuple[int, list[tuple[str, str]]]:
    """A OneRoster 1.1 CSV folder into the e-schoolbag; returns (imported, [(where, reason), ...])
    with ``where`` like ``12 of users.csv``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ImportFileError(f"{directory} is not a folder (a OneRoster CSV export: orgs.csv, users.csv, ...)")
    absent = _manifest_absent(directory)
    files = [(name, directory / f"{name}.csv") for name in roster.FILES
             if name not in absent and (directory / f"{name}.csv").is_file()]
    if not files:
        raise ImportFileError(f"{directory}: no OneRoster file found ({', '.join(f + '.csv' for f in roster.FILES)})")
    for name, path in files:  # a bad header or a file too large stops the import before anything is sent
        check_size(path)
        next(roster_rows(path, roster.FILES[name]), None)
    total = sum(count_rows(path) for _, path in files)

    with tqdm(total=total, unit="row", desc="roster", file=report, disable=None) as bar:
        run = _Importer(rpc, bar)
        for order, (name, path) in enumerate(files):
            if name == "users":
                _import_users(run, order, path)
                continue
            mapper = roster.MAPPERS[name]
            for line, row in roster_rows(path, roster.FILES[name]):
                if isinstance(row, str):
                    run.reject(order, name, line, row)
                    continue
                try:
                    record = mapper(row)
                except RosterRowError as exc:
                    run.reject(order, name, line, str(exc))
                    continue
                run.add(order, name, line, record.model_dump(mode="json"))
            run.flush()   # a file is stored before the next one refers to it
    return run.imported, [(where, reason) for _, where, reason in sorted(run.rejected, key=lambda r: r[0])]


def _import_users(run: _Importer, order: int, path: Path) -> None:
    """Users, then the student-guardian links their rows declare. Guardians are looked up a
    chunk at a time as they come, and the links wait in a FileMemory, so memory stays flat
    however long the file."""
    failed: dict[str, int] = {}               # sourcedId -> line of its rejected row
    guardians: list[tuple[int, GuardianRow]] = []    # waiting to be looked up, a chunk at most

    def resolve_waiting() -> None:
        for line, g, resident_id, reason in _resolve(run.rpc, guardians):
            if resident_id is None:
                failed[g.sourced_id] = line
                run.reject(order, "users", line, reason)
            else:
                run.add(order, "users", line, g.resolved(resident_id).model_dump(mode="json"))
        guardians.clear()

    with FileMemory("links") as declared:     # "student<US>guardian" -> the line that first declared it
        for line, row in roster_rows(path, roster.FILES["users"]):
            if isinstance(row, str):
                run.reject(order, "users", line, row)
                continue
            try:
                record, agents = roster.map_user(row)
            except RosterRowError as exc:
                if row.get("sourcedId", "").strip():
                    failed[row["sourcedId"].strip()] = line
                run.reject(order, "users", line, str(exc))
                continue
            if isinstance(record, GuardianRow):
                for student in agents:
                    declared.add("links", f"{student}{_US}{record.sourced_id}", line)
                guardians.append((line, record))
                if len(guardians) >= LOOKUPS_IN_FLIGHT:
                    resolve_waiting()
                continue
            if record.kind == "student":
                for guardian in agents:
                    declared.add("links", f"{record.sourced_id}{_US}{guardian}", line)
            run.add(order, "users", line, record.model_dump(mode="json"))
        resolve_waiting()
        run.flush()
        failed.update(run.refused)       # rows the elearning service refused
        run.bar.total += declared.count("links")
        run.bar.refresh()
        for key, line in declared.items("links"):
            student, guardian = key.split(_US, 1)
            link = roster.LinkRecord(student_id=student, guardian_id=guardian)
            for end in (link.student_id, link.guardian_id):
                if end in failed:
                    run.reject(order, "users", line, f"link {link.student_id} - {link.guardian_id} not made: "
                                                     f"{end} was rejected (line {failed[end]} of users.csv)")
                    break
            else:
                run.add(order, "users", line, link.model_dump(mode="json"))
        run.flush()
