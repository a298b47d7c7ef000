"""Test fixtures: a real RabbitMQ (a vhost of its own per run) and a real MongoDB
wire-protocol server (``MONGO_URI``, or the embedded store started for the run).

Everything a run creates — the vhost, the databases, the store's data folder — is
removed at the end.
"""
import os

# Hypothesis loads third-party plugins at import; trio's (if installed) cannot import
# once eventlet has patched the socket module, and none of them is needed here.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
from services.common import known_warnings  # noqa: E402

known_warnings.silence()   # eventlet's notice and dnspython's DSA warning, before either is imported
import eventlet  # noqa: E402

eventlet.monkey_patch()  # nameko's pytest plugin no longer does it (since 2.14)

import dataclasses  # noqa: E402
import uuid  # noqa: E402

import pymongo  # noqa: E402
from kombu.mixins import ConsumerMixin  # noqa: E402
import pytest  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from infra import broker_definitions, embedded_store, rabbitmq_admin, topology  # noqa: E402
from services.common import config as suite_config  # noqa: E402
from services.common import storage  # noqa: E402
from support import RUN_ID, free_port, wait_for  # noqa: E402
from support import wallet as wallet_money  # noqa: E402

def _quick_consume(consume):
    # nameko's consumers look for a stop request once a second (kombu's safety_interval):
    # every container then takes about two seconds to stop. Tests start hundreds of them.
    def run(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        return consume(self, limit=limit, timeout=timeout, safety_interval=0.05, **kwargs)
    return run


ConsumerMixin.consume = _quick_consume(ConsumerMixin.consume)


@pytest.fixture(scope="session")
def amqp_uri():
    base = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    vhost = f"suite-test-{RUN_ID}"
    rabbitmq_admin.create_vhost(vhost)
    uri = base.rstrip("/") + "/" + vhost
    topology.declare(uri)
    broker_definitions.apply_policies(uri)   # as `suite up` sets them (the kiosk exchange's alternate, limits)
    yield uri
    rabbitmq_admin.delete_vhost(vhost)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    if os.environ.get("MONGO_URI"):
        yield os.environ["MONGO_URI"]
        return
    data = tmp_path_factory.mktemp("store")
    port = free_port()
    proc = embedded_store.start(data / "data", port, data / "store.log")
    uri = f"mongodb://127.0.0.1:{port}/"
    embedded_store.wait_ready(uri, process=proc)
    yield uri
    storage.close_clients()
    embedded_store.stop(proc)


@pytest.fixture(scope="session")
def settings(amqp_uri, mongo_uri):
    prefix = f"t{RUN_ID}"
    s = dataclasses.replace(suite_config.load(), amqp_uri=amqp_uri, mongo_uri=mongo_uri, db_prefix=prefix,
                            event_retry_backoff=0.05, outbox_interval=0.05, log_format="text")
    yield s
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=2000)
    for name in client.list_database_names():
        if name.startswith(prefix + "_"):
            client.drop_database(name)
    client.close()


@pytest.fixture
def service_config(settings):
    def make(service: str, **overrides) -> dict:
        cfg = suite_config.nameko_config(settings, service, web_port=free_port())
        cfg.pop("LOGGING")
        if service == "elearning":
            cfg["PAYMENT_PROVIDER_KEY"] = wallet_money.PAYMENT_KEY
        if service == "community":
            # every test signs in from 127.0.0.1 into one store: the default 20 codes an hour from one
            # address would be spent by the session (test_signin checks the default on its own)
            cfg["SIGNIN_CODES_PER_ADDRESS_HOUR"] = 10_000
        if "SIP2_PORT" in cfg:
            cfg["SIP2_PORT"] = 0  # off unless a test asks for it: many library containers run here
        cfg.update(overrides)
        return cfg
    return make


@pytest.fixture
def db(settings):
    """Read the store directly: ``db("library")`` is the library's database."""
    client = pymongo.MongoClient(settings.mongo_uri, serverSelectionTimeoutMS=2000, tz_aware=True)
    yield lambda service: client[settings.database_name(service)]
    client.close()


@pytest.fixture
def start_service(service_config):
    """Start a service class in a real container; stopped (or killed) after the test."""
    containers = []

    def start(cls, config: dict | None = None) -> ServiceContainer:
        container = ServiceContainer(cls, config or service_config(cls.name))
        containers.append(container)
        container.start()
        return container

    yield start

    def stop(container):
        with eventlet.Timeout(10, False):
            container.stop()
            return
        container.kill()
    # nameko's graceful stop takes about two seconds a container: stop them all at once
    list(eventlet.GreenPool().imap(stop, containers))


@pytest.fixture
def service_process(settings, tmp_path):
    """``service_process(service, label)``: the service as a ``nameko run`` process of its own
    (its own store connections, its own memory: what a test of two processes racing needs),
    stopped after the test."""
    from infra.local import processes, runner
    from infra.topology import SERVICE_CLASSES

    local = dataclasses.replace(settings, var_dir=str(tmp_path / "var"))
    started = []

    def start(service: str, label: str):
        cfg = suite_config.nameko_config(local, service, web_port=free_port())
        if service == "community":
            # every test signs in from 127.0.0.1 into one store: the default 20 codes an hour from one
            # address would be spent by the session (test_signin checks the default on its own)
            cfg["SIGNIN_CODES_PER_ADDRESS_HOUR"] = 10_000
        if "SIP2_PORT" in cfg:
            cfg["SIP2_PORT"] = 0
        if service == "elearning":
            cfg["PAYMENT_PROVIDER_KEY"] = wallet_money.PAYMENT_KEY
        rec = runner.start_process(local, label, SERVICE_CLASSES[service], cfg)
        started.append(rec)
        wait_for(lambda: runner.healthy(rec.health_url), timeout=60)
        return rec

    yield start
    for rec in started:
        processes.stop(local.var_dir, rec)


@pytest.fixture
def rpc(settings):
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as proxy:
        yield proxy


@pytest.fixture
def kiosk(settings):
    """A kiosk with broker credentials of its own: (kiosk id, its AMQP URI); removed after the test."""
    from infra.kiosk import accounts

    kiosk_id = "T" + uuid.uuid4().hex[:8]
    user, password = accounts.add_kiosk(settings.amqp_uri, kiosk_id)
    yield kiosk_id, accounts.kiosk_uri(settings.amqp_uri, user, password)
    accounts.remove_kiosk(kiosk_id)


@pytest.fixture
def own_store(tmp_path):
    """A store of this test's own, so that stopping it harms no other test: (process, URI)."""
    port = free_port()
    proc = embedded_store.start(tmp_path / "data", port, tmp_path / "store.log")
    uri = f"mongodb://127.0.0.1:{port}/"
    embedded_store.wait_ready(uri, process=proc)
    yield proc, uri
    embedded_store.stop(proc)


@pytest.fixture
def later(monkeypatch):
    """Move the suite's clock on for the services running in this process: ``later(minutes=6)``
    (``services.common.clock.now``; what reads time.time, as a JWT's expiry, is not moved)."""
    from datetime import timedelta

    from services.common import clock
    offset = timedelta()
    real = clock.now

    def move(**delta):
        nonlocal offset
        offset += timedelta(**delta)
    monkeypatch.setattr(clock, "now", lambda: real() + offset)
    return move
