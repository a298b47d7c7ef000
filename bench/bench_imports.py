"""Imports: residents CSV rows per second through the community service (batches over RPC,
validation, one document and event per row), against the raw insert rate of the same
documents into the same store (the baseline).

    python -m bench.bench_imports [--rows 10000]
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from bench.common import store  # noqa: E402
from infra import rabbitmq_admin, topology  # noqa: E402
from infra.imports import community as community_import  # noqa: E402
from infra.local import demo_data  # noqa: E402
from services.common import config  # noqa: E402
from services.community.service import CommunityService  # noqa: E402


def write_csv(path: Path, rows: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    committees = [p["code"] for p in demo_data.PLACES if p["kind"] == "committee"]
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(community_import.RESIDENT_COLUMNS) + "\n")
        for i in range(rows):
            body = f"310104{1940 + i % 60}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"[:17]
            number = body + ric.calc_check_digit(body + "0")
            f.write(f"{number},居民{i},138{i:08d},{rng.choice(committees)},{rng.choice(committees)},某路{i}号\n")


def run(rows: int) -> None:
    vhost = f"bench-{uuid.uuid4().hex[:6]}"
    rabbitmq_admin.create_vhost(vhost)
    amqp = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    try:
        with store() as (client, where), tempfile.TemporaryDirectory() as tmp:
            mongo_uri = "mongodb://%s:%d/" % client.address
            settings = dataclasses.replace(config.load(), amqp_uri=amqp, mongo_uri=mongo_uri, db_prefix="benchimp")
            topology.declare(amqp)
            cfg = config.nameko_config(settings, "community", web_port=0)
            cfg.pop("LOGGING")
            container = ServiceContainer(CommunityService, cfg)
            container.start()
            path = Path(tmp) / "residents.csv"
            write_csv(path, rows)
            with ClusterRpcProxy({"AMQP_URI": amqp}, timeout=60) as rpc:
                rpc.community.upsert_places(demo_data.PLACES)
                started = time.perf_counter()
                imported, rejected = community_import.import_residents(rpc, path)
                took = time.perf_counter() - started
            # baseline: the same number of documents inserted directly, in batches of 500
            raw = client["benchimp_raw"]["residents"]
            docs = [{"_id": uuid.uuid4().hex, "id_number": str(i), "name": "x", "outbox": {}} for i in range(rows)]
            started = time.perf_counter()
            for i in range(0, rows, 500):
                raw.insert_many(docs[i:i + 500])
            base = time.perf_counter() - started
            container.stop()
            client.drop_database("benchimp_community")
            client.drop_database("benchimp_raw")
        print(f"\nresidents import, {rows:,} rows, on {where}")
        print(f"imported {imported:,}, rejected {len(rejected):,}")
        print(f"import: {rows / took:8,.0f} rows/s   raw insert_many: {rows / base:8,.0f} docs/s   "
              f"= {took / base:5.1f} x the raw insert time")
    finally:
        rabbitmq_admin.delete_vhost(vhost)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    run(parser.parse_args().rows)
