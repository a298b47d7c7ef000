"""One import, as `suite import` runs it, in a process of its own, so that its peak resident
set size is the importer's alone. Prints one JSON line: seconds, imported, rejected, RSS
before the import and peak RSS (MiB). AMQP_URI names the broker (the parent's vhost).

    python -m bench.import_child residents|marc|roster PATH
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()   # as `suite import` (infra/cli/imports.py): nameko's standalone proxy is eventlet-based

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.common import rss_mib  # noqa: E402
from infra.cli import common  # noqa: E402
from infra.imports import community, marc, roster  # noqa: E402
from services.common import config  # noqa: E402

IMPORTERS = {"residents": community.import_residents, "marc": marc.import_marc, "roster": roster.import_roster}


def main(kind: str, path: str) -> None:
    before = rss_mib(os.getpid())
    with common.rpc(config.load()) as rpc, open(os.devnull, "w") as quiet:
        started = time.perf_counter()
        imported, rejected = IMPORTERS[kind](rpc, Path(path), report=quiet)
        took = time.perf_counter() - started
    # VmHWM, not ru_maxrss: on Linux the latter keeps the parent's peak across fork and exec
    peak = rss_mib(os.getpid(), "VmHWM")
    print(json.dumps({"seconds": took, "imported": imported, "rejected": len(rejected),
                      "first_rejections": [str(r) for r in rejected[:3]], "rss_before": before, "rss_peak": peak}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
