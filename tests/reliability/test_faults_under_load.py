"""Faults under load, on the suite as `suite up` runs it (separate processes, a store
process of its own): kill -9 of each service, the broker's connections cut (or the broker
restarted), the document store killed and restarted, a service cut off. Kiosks and residents
keep going meanwhile; afterwards every acknowledged kiosk event and every accepted mutation
is applied exactly once, and nothing is lost.

The short versions run in `make test`; the long ones (marked ``reliability``) in
`make test-reliability`. Each run's figures are printed at the end of the module.
"""
import time

import eventlet
import pytest
from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from load import Scale, queue_depth, run_load
from running_suite import SERVICES, RunningSuite, rabbitmqctl
from support import id_number

SHORT = Scale("short", kiosks=3, copies=12, patrons=4, events=90, rate=20, pause=0.1)
LONG = Scale("long", kiosks=6, copies=60, patrons=12, events=1500, rate=25, pause=0.05)
SCALES = [pytest.param(SHORT, id="short"),
          pytest.param(LONG, marks=[pytest.mark.reliability, pytest.mark.timeout(1800)], id="long")]
FIGURES: list[str] = []


@pytest.fixture(scope="module")
def suite(tmp_path_factory, settings, pytestconfig):
    running = RunningSuite(tmp_path_factory.mktemp("reliability"), settings.amqp_uri.rsplit("/", 1)[0])
    try:
        running.start()
        yield running
    finally:
        running.down()
        reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
        capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        if reporter is not None and capture is not None and FIGURES:
            with capture.global_and_fixture_disabled():   # shown whether the tests passed or not
                reporter.write_line("")
                reporter.write_line("reliability figures (lost must be 0):")
                for line in FIGURES:
                    reporter.write_line("  " + line)


def _record(figures, name: str, suite) -> None:
    figures.run = name
    figures.restarts = "".join(f"; {n} back in {', '.join(f'{s:.1f}' for s in t)} s"
                               for n, t in suite.restarts.items())
    suite.restarts.clear()
    FIGURES.append(figures.line())
    assert figures.lost == 0 and figures.doubled == 0, figures.problems
    assert figures.dead_lettered == 0, figures.line()
    assert figures.mutations_accepted > 0 and figures.kiosk_applied > 0


def _in(seconds: float) -> None:
    eventlet.sleep(seconds)


@pytest.mark.parametrize("scale", SCALES)
def test_kill9_each_service_under_load(suite, scale):
    victims = ["library", "community", "elearning"] + (["gateway"] if scale is LONG else [])
    rounds = 1 if scale is SHORT else 2

    def faults():
        _in(1.5)
        for _ in range(rounds):
            for name in victims:
                old = suite.pid(name)
                suite.kill9(name)
                suite.restart(name)
                assert suite.pid(name) != old
                _in(1.0 if scale is SHORT else 4.0)

    figures, report, _ = run_load(suite, scale, faults)
    _record(figures, f"kill -9 ({scale.name}: {', '.join(victims)} x{rounds})", suite)


@pytest.mark.parametrize("scale", SCALES)
def test_broker_goes_away_under_load(suite, scale):
    """Short: every connection of the suite's vhost closed by the broker (services, relays,
    kiosks and callers must reconnect by themselves). Long: the broker away for seconds, twice
    (every connection of the run drops and none is taken meanwhile: its proxy is down; the
    shared node, and every other vhost on it, is not touched)."""

    def faults():
        _in(1.5)
        if scale is SHORT:
            rabbitmqctl("close_all_connections", "--vhost", suite.vhost, "reliability test")
            _in(2.0)
            rabbitmqctl("close_all_connections", "--vhost", suite.vhost, "reliability test, again")
        else:
            for _ in range(2):
                suite.broker_away(3.0)
                _in(8.0)
        _wait_healthy(suite, timeout=60)

    figures, _, _ = run_load(suite, scale, faults)
    _record(figures, f"broker {'connections closed x2' if scale is SHORT else 'away 3 s x2'} ({scale.name})", suite)


@pytest.mark.parametrize("scale", SCALES)
def test_store_killed_and_restarted_under_load(suite, scale):
    def faults():
        for _ in range(1 if scale is SHORT else 3):
            _in(1.5 if scale is SHORT else 6.0)
            suite.kill9("store")
            _in(0.5)
            suite.restart_store()
        _wait_healthy(suite, timeout=60)

    figures, _, _ = run_load(suite, scale, faults)
    _record(figures, f"store kill -9 and restart ({scale.name})", suite)


def test_a_service_cut_off_leaves_the_rest_answering_in_bounded_time(suite):
    with suite.rpc() as rpc:
        resident = rpc.community.register_resident({
            "id_number": id_number(), "name": "断线测试", "registered_committee": "C0101",
            "residence_committee": "C0101", "address": "断线路1号"})["resident_id"]
    token = suite.token("resident", resident)
    suite.stop("library")
    try:
        health = suite.graphql("{ health { service status } }")["data"]["health"]
        assert {h["service"]: h["status"] for h in health} == {
            "community": "up", "library": "unavailable", "elearning": "up"}
        started = time.monotonic()
        answer = suite.graphql("{ me { name libraryCard { cardNumber } } }", token)
        took = time.monotonic() - started
        assert answer["data"]["me"]["name"] == "断线测试"              # community's part still came
        assert answer["data"]["me"]["libraryCard"] is None
        [error] = [e for e in answer["errors"] if e["path"] == ["me", "libraryCard"]]
        assert error["extensions"]["code"] == "UNAVAILABLE" and "library" in error["message"]
        assert took < suite.settings.rpc_timeout + 2

        # an RPC to the dead service: its request waits in the durable rpc queue, the caller gives up in time
        started = time.monotonic()
        with ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=suite.settings.rpc_timeout) as rpc:
            with pytest.raises(RpcTimeout):
                rpc.library.kiosk_status()
        assert time.monotonic() - started < suite.settings.rpc_timeout + 1.5
        assert queue_depth(suite, "rpc-library") >= 1                  # kept, not lost
    finally:
        suite.restart("library")
    suite.restarts.clear()
    deadline = time.monotonic() + 15
    while queue_depth(suite, "rpc-library") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue_depth(suite, "rpc-library") == 0                      # the late requests were taken
    with suite.rpc() as rpc:
        assert rpc.library.get_patrons([resident])                     # and the card is there


def _wait_healthy(suite, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(suite.healthy(n) for n in (*SERVICES, "gateway")):
        assert time.monotonic() < deadline, {n: suite.healthy(n) for n in (*SERVICES, "gateway")}
        time.sleep(0.3)
    with ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=10) as rpc:
        for name in SERVICES:
            assert getattr(rpc, name).health()["status"] == "up"
