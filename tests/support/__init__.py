"""Helpers shared by the tests (fixtures live in conftest.py)."""
import contextlib
import random
import socket
import threading
import uuid
from datetime import date, timedelta

import eventlet
import pytest
from pymongo import monitoring
from stdnum.cn import ric

RUN_ID = uuid.uuid4().hex[:8]   # names this run's vhost, databases and queues


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CommandRecorder(monitoring.CommandListener):
    """Every command document the driver sends, while ``recording``: (command name, document)."""

    def __init__(self, recording: bool = False):
        self.recording = recording
        self.commands: list[tuple[str, dict]] = []
        self._lock = threading.Lock()

    def started(self, event):
        if self.recording:
            with self._lock:
                self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def clear(self):
        with self._lock:
            self.commands.clear()


_RECORDER = CommandRecorder()
_recorder_registered = False


@contextlib.contextmanager
def recording_commands():
    """What the services started in this process send to the store, while the block runs. The
    listener is registered once per process (pymongo has no unregister) and only applies to
    clients made after it: the cached clients are closed so that the services started next
    make new ones."""
    global _recorder_registered
    from services.common import storage
    if not _recorder_registered:
        monitoring.register(_RECORDER)
        _recorder_registered = True
    storage.close_clients()
    _RECORDER.clear()
    _RECORDER.recording = True
    try:
        yield _RECORDER
    finally:
        _RECORDER.recording = False
        _RECORDER.clear()


def web_address(container) -> str:
    return "http://" + container.config["WEB_SERVER_ADDRESS"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; return its value or fail the test."""
    hub = eventlet.hubs.get_hub()
    deadline = hub.clock() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if hub.clock() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {getattr(predicate, '__name__', predicate)}")
        eventlet.sleep(interval)


_issued_id_numbers: set[str] = set()


def id_number(birth: str | None = None, region: str = "310101") -> str:
    """A valid 18-digit resident ID (checksum computed): a random birth date (unless given)
    and sequence, never one this test run has drawn before, so that tests sharing a store do
    not collide (a few thousand random ones, as the reliability runs register, would)."""
    for _ in range(10_000):
        day = birth or (date(1940, 1, 1) + timedelta(days=random.randrange(365 * 65))).strftime("%Y%m%d")
        body = region + day + f"{random.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")  # it ignores the last digit
        if number not in _issued_id_numbers:
            _issued_id_numbers.add(number)
            return number
    raise RuntimeError(f"no ID number left for birth {birth} in region {region}")


def drain(amqp_uri: str, queue_name: str, expect: int = 1, timeout: float = 10.0) -> list:
    """Take messages off ``queue_name`` (acknowledging them) until ``expect`` have come."""
    from kombu import Connection, Queue

    got = []
    with Connection(amqp_uri) as conn:
        queue = Queue(queue_name, channel=conn.channel(), no_declare=True)

        def take():
            while True:
                message = queue.get(no_ack=True)
                if message is None:
                    break
                got.append(message)
            return len(got) >= expect
        wait_for(take, timeout=timeout)
    return got


def bind_probe_queue(amqp_uri: str, exchange: str, routing_key: str = "#") -> str:
    """A throwaway queue bound to ``exchange``, to watch what is published there."""
    import uuid

    from kombu import Connection, Exchange, Queue

    name = f"probe-{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri) as conn:
        Queue(name, exchange=Exchange(exchange, type="topic", durable=True), routing_key=routing_key,
              durable=False, auto_delete=False, expires=120_000)(conn.channel()).declare()
    return name


def load_working_calendars(rpc) -> None:
    """This year's and next year's working-day schedules into the run's community database: the
    package's where it has them, else a stand-in for tests (New Year's Day off; not the State
    Council's schedule), so that cases accepted late in a year still get a deadline."""
    from services.common import clock
    from services.community import calendar_source
    have = set(rpc.community.calendar_years())
    for year in (clock.today().year, clock.today().year + 1):
        if year in have:
            continue
        if year in calendar_source.package_years():
            schedule = calendar_source.to_json(calendar_source.from_package(year))
        else:
            schedule = {"year": year, "holidays": [f"{year}-01-01"], "makeup_workdays": [],
                        "source": "test stand-in, not the State Council's schedule"}
        rpc.community.load_calendar_year(schedule)


def load_demo_district(rpc) -> None:
    """The demo district's places, the matter catalogue and the working-day schedules: what a
    test of cases needs in community before anything else."""
    from infra.local import demo_data
    from services.community import catalogue
    rpc.community.upsert_places(demo_data.PLACES)
    rpc.community.upsert_matters(catalogue.MATTERS)
    load_working_calendars(rpc)
