"""``suite import places|residents``: files into the community service, in batches over RPC,
with a progress bar and a report of rejected rows and why."""
from __future__ import annotations

import sys
from pathlib import Path

from nameko.exceptions import RemoteError
from tqdm import tqdm

from infra.imports.files import ImportFileError, check_size, count_rows, csv_rows, json_items

RESIDENT_COLUMNS = ["id_number", "name", "phone", "registered_committee", "residence_committee", "address"]
PLACE_COLUMNS = ["code", "kind", "name", "parent"]
BATCH = 500


def import_places(rpc, path: Path) -> int:
    """Places are few: all of the file is checked and loaded in one call, or none of it."""
    check_size(path)
    if path.suffix.lower() == ".json":
        places = json_items(path)
    else:
        places = []
        for line, row in csv_rows(path, PLACE_COLUMNS):
            if isinstance(row, str):
                raise ImportFileError(f"{path}:{line}: {row}")
            places.append({k: v for k, v in row.items() if v != ""})
    try:
        return rpc.community.upsert_places(places)
    except RemoteError as exc:
        raise ImportFileError(f"{path}: nothing imported: {exc.value}") from None


def import_residents(rpc, path: Path, report=sys.stderr) -> tuple[int, list[tuple[int, str]]]:
    """Residents in batches; returns (imported, [(line, reason), ...])."""
    check_size(path)
    total = count_rows(path)
    imported, rejected = 0, []
    batch: list[tuple[int, dict]] = []

    def flush():
        nonlocal imported
        if not batch:
            return
        result = rpc.community.import_residents([row for _, row in batch])
        imported += result["imported"]
        rejected.extend((batch[r["index"]][0], r["reason"]) for r in result["rejected"])
        bar.update(len(batch))
        batch.clear()

    with tqdm(total=total, unit="row", desc="residents", file=report, disable=None) as bar:
        for line, row in csv_rows(path, RESIDENT_COLUMNS):
            if isinstance(row, str):
                rejected.append((line, row))
                bar.update(1)
                continue
            batch.append((line, row))
            if len(batch) >= BATCH:
                flush()
        flush()
    return imported, sorted(rejected)


def print_rejections(rejected: list[tuple[int, str]], out=sys.stdout, limit: int = 50, unit: str = "line") -> None:
    for line, reason in rejected[:limit]:
        print(f"  {unit} {line}: {reason}", file=out)
    if len(rejected) > limit:
        print(f"  ... and {len(rejected) - limit} more", file=out)
