"""Making sure RabbitMQ answers before anything else starts."""
from __future__ import annotations

import shutil
import subprocess
import time

from kombu import Connection

from infra import rabbitmq_admin


def answers(amqp_uri: str, timeout: float = 2.0) -> bool:
    try:
        with Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def ensure_running(amqp_uri: str, wait: float = 90.0, say=print) -> None:
    if answers(amqp_uri):
        return
    host = amqp_uri.split("@")[-1]
    if not shutil.which("rabbitmq-server"):
        raise SystemExit(
            f"RabbitMQ does not answer at {host} and is not installed here.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install rabbitmq-server`), set AMQP_URI to a "
            "running broker, or start one with `docker compose up -d rabbitmq mongo`.")
    say(f"RabbitMQ does not answer at {host}: starting it (rabbitmq-server -detached)")
    subprocess.run(["rabbitmq-server", "-detached"], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while not answers(amqp_uri):
        if time.monotonic() > deadline:
            raise SystemExit(f"RabbitMQ did not come up at {host} within {wait:.0f}s; "
                             "see /var/log/rabbitmq/ for why")
        time.sleep(1)


# beside management: the kiosk partitions' exchange (services/library/kiosk_partitions.py) and the
# shovel that links districts (infra/district_links.py)
PLUGINS = ("rabbitmq_consistent_hash_exchange", "rabbitmq_shovel", "rabbitmq_shovel_management")


def ensure_plugins(say=print) -> None:
    """The plugins the topology needs beside management, enabled (no restart: they start at once)."""
    if not shutil.which("rabbitmq-plugins"):
        return   # a broker elsewhere: its operator enables them (compose and k8s do)
    listed = subprocess.run(["rabbitmq-plugins", "list", "-e", "-m"], capture_output=True, text=True, check=False)
    missing = [p for p in PLUGINS if p not in listed.stdout.split()]
    if missing:
        say(f"enabling RabbitMQ's {', '.join(missing)}")
        subprocess.run(["rabbitmq-plugins", "enable", *missing], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def ensure_management(wait: float = 60.0, say=print) -> None:
    """The management API (tests make a vhost of their own through it), and the plugins the
    topology needs (shovels are declared through that API)."""
    ensure_plugins(say)
    if rabbitmq_admin.available():
        _ensure_shovel(wait, say)
        return
    if not shutil.which("rabbitmq-plugins"):
        raise SystemExit("RabbitMQ's management API does not answer (RABBITMQ_MANAGEMENT_URI) and "
                         "rabbitmq-plugins is not here to enable it")
    say("enabling RabbitMQ's management plugin")
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_management"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while not rabbitmq_admin.available():
        if time.monotonic() > deadline:
            raise SystemExit("RabbitMQ's management API did not come up")
        time.sleep(1)
    _ensure_shovel(wait, say)


def _ensure_shovel(wait: float, say) -> None:
    """Wait for the shovel plugin ``ensure_plugins`` enabled to answer on the management API."""
    if rabbitmq_admin.shovel_plugin_on():
        return
    if not shutil.which("rabbitmq-plugins"):
        raise SystemExit("RabbitMQ's shovel plugin is off and rabbitmq-plugins is not here to enable it "
                         "(enable rabbitmq_shovel and rabbitmq_shovel_management)")
    deadline = time.monotonic() + wait
    while not rabbitmq_admin.shovel_plugin_on():
        if time.monotonic() > deadline:
            raise SystemExit("RabbitMQ's shovel plugin did not come up")
        time.sleep(1)
