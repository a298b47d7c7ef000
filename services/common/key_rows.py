"""Search by keys through rows of their own: "every document with all of these keys" as a
few indexed ranges, whatever the collection's size.

One row per key and document (``{"_id": "<key>|<document id>", "k": the same}``, in a
collection indexed on ``k``). The embedded store scans every document for ``$all`` on an
array field (71 ms at 100,000 titles), while a range on one indexed field stays about a
millisecond. The document keeps its keys too: they are the truth a hit is checked against.
Rows are written before their document and removed after it (``kept``), so a crash leaves
at most a row too many, which that check skips. Keys must not contain ``|``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from pymongo.collection import Collection

from services.common.storage import insert_new

FIRST_READ = 100   # rows of each key read first, to find the key with fewest documents
PAGE = 500         # rows of that key read at a time after that
_ABOVE_ALL = "\uffff"


def row(key: str, doc_id: str) -> dict:
    k = f"{key}|{doc_id}"
    return {"_id": k, "k": k}


@contextmanager
def kept(rows: Collection, old: dict[str, set[str]], new: dict[str, set[str]]) -> Iterator[None]:
    """Around the write of documents whose keys go from ``old`` to ``new`` ({document id:
    keys}): the rows they gain before it, the rows they lose after it."""
    insert_new(rows, [row(k, i) for i, keys in new.items() for k in keys - old.get(i, set())])
    yield
    gone = [row(k, i)["_id"] for i, keys in old.items() for k in keys - new.get(i, set())]
    if gone:
        rows.delete_many({"_id": {"$in": gone}})


def build(rows: Collection, keyed: Iterable[tuple[str, Iterable[str]]]) -> int:
    """Rows for (document id, keys) pairs stored without them (a one-off build); returns
    the documents seen."""
    seen, batch = 0, []
    for doc_id, keys in keyed:
        seen += 1
        batch += [row(k, doc_id) for k in keys]
        if len(batch) >= 5000:
            insert_new(rows, batch)
            batch = []
    insert_new(rows, batch)
    return seen


def ids_with(rows: Collection, key: str, after: str, limit: int) -> list[str]:
    """The ids of documents with ``key``, in id order after ``after``, ``limit`` at most."""
    found = rows.find({"k": {"$gt": f"{key}|{after}", "$lt": f"{key}|{_ABOVE_ALL}"}}, {"k": 1}) \
        .sort("k", 1).limit(limit)
    return [r["k"][len(key) + 1:] for r in found]


def matching(rows: Collection, docs: Collection, keys: list[str], limit: int,
             has_all: Callable[[dict], bool]) -> list[dict]:
    """Documents with every key (``has_all`` checks one against its own keys): the rows of the
    key with fewest documents, page by page, narrowed by the other keys whose rows were all
    read, then checked against the documents themselves, fetched a few at a time (no more
    than the hits still wanted, twice over unless the candidates are known to match)."""
    first = {k: ids_with(rows, k, "", FIRST_READ) for k in keys}
    whole = [k for k in keys if len(first[k]) < FIRST_READ]
    complete = [set(first[k]) for k in whole]
    # the key with fewest documents: of those read whole, the shortest; else the one whose
    # first rows reach furthest into the ids (its documents lie furthest apart)
    rarest = min(whole, key=lambda k: len(first[k])) if whole else max(keys, key=lambda k: first[k][-1])
    found: list[dict] = []
    page, more = first[rarest], len(first[rarest]) == FIRST_READ
    # fetch as many as still wanted when every other key's rows narrowed the candidates
    # exactly; twice that when some could not (or a fetch held documents that did not match)
    factor = 1 if all(k in whole for k in keys if k != rarest) else 2
    while page:
        candidates = [i for i in page if all(i in ids for ids in complete)]
        while candidates and len(found) < limit:
            n = factor * (limit - len(found))
            chunk, candidates = candidates[:n], candidates[n:]
            fetched = {d["_id"]: d for d in docs.find({"_id": {"$in": chunk}})}
            hits = [fetched[i] for i in chunk if i in fetched and has_all(fetched[i])]
            factor = factor if len(hits) == len(chunk) else 2
            found += hits
        if len(found) >= limit or not more:
            break
        page = ids_with(rows, rarest, page[-1], PAGE)
        more = len(page) == PAGE
    return found[:limit]
