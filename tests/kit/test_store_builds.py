"""One-off builds of a service's store (``Store(builds=...)``): run in the background when
the service starts, once per database (``storage.once``)."""
import uuid

from nameko.rpc import rpc

from services.common.storage import MIGRATIONS, Store, once
from support import wait_for

runs: list = []


def count_rows(db):
    def build():
        runs.append(db.name)
        return db["rows"].count_documents({})
    return once(db, "count_rows", build)


class BuildProbe:
    name = f"buildprobe{uuid.uuid4().hex[:6]}"
    db = Store(builds=(count_rows,))

    @rpc
    def ping(self):
        return "pong"


def test_a_build_runs_when_the_service_starts_and_once_per_database(start_service, service_config, db):
    runs.clear()
    database = db(BuildProbe.name)
    database["rows"].insert_many([{"_id": i} for i in range(3)])
    start_service(BuildProbe, service_config(BuildProbe.name))
    marker = wait_for(lambda: database[MIGRATIONS].find_one({"_id": "count_rows"}))
    assert marker["count"] == 3 and runs == [database.name]
    second = start_service(BuildProbe, service_config(BuildProbe.name))   # a second process, or a restart
    store = next(d for d in second.dependencies if isinstance(d, Store))
    wait_for(lambda: store._building and "store builds" not in second._managed_threads.values())   # its build ended
    assert runs == [database.name]
