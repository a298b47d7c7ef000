"""The SIP2 listeners inside the library service container: plain TCP on ``SIP2_PORT``
(default 6001) and TLS on ``SIP2_TLS_PORT`` (default 6002, only when ``SIP2_TLS_CERT`` and
``SIP2_TLS_KEY`` name a certificate and its key).

Each setting comes from the container config, else the environment, else its default:
``SIP2_HOST`` (127.0.0.1: set 0.0.0.0 to take machines on the network), ``SIP2_IDLE_SECONDS``
(900), ``SIP2_MAX_CONNECTIONS`` (200), ``SIP2_INSTITUTION`` (AO in status answers),
``SIP2_TIMEZONE`` (Asia/Shanghai: SIP2 dates are local time). A port <= 0 turns a listener off.

Blocking sockets, one green thread per connection (the process is monkey-patched by
``nameko run``, and by tests/conftest.py in tests).
"""
from __future__ import annotations

import logging
import socket
import ssl
from zoneinfo import ZoneInfo

import eventlet
from nameko.extensions import DependencyProvider

from services.common.config import option
from services.common.storage import Store
from services.library.sip2 import messages
from services.library.sip2.session import Options, Session, before_login

log = logging.getLogger(__name__)

HANDSHAKE_SECONDS = 10


class Sip2Server(DependencyProvider):
    """``sip2 = Sip2Server()`` on the service class; workers get nothing from it."""

    def setup(self):
        config = self.container.config
        self.host = str(option(config, "SIP2_HOST", "127.0.0.1"))
        self.port = int(option(config, "SIP2_PORT", 6001))
        self.tls_port = int(option(config, "SIP2_TLS_PORT", 6002))
        self.tls_files = (option(config, "SIP2_TLS_CERT", ""), option(config, "SIP2_TLS_KEY", ""))
        self.idle = float(option(config, "SIP2_IDLE_SECONDS", 900))
        self.max_message = int(option(config, "SIP2_MAX_MESSAGE", messages.MAX_MESSAGE))
        self.options = Options(institution=str(option(config, "SIP2_INSTITUTION", "smart-community")),
                               tz=ZoneInfo(str(option(config, "SIP2_TIMEZONE", "Asia/Shanghai"))),
                               before_login=before_login(option(config, "SIP2_BEFORE_LOGIN", "refuse")))
        self.pool = eventlet.GreenPool(int(option(config, "SIP2_MAX_CONNECTIONS", 200)))
        self.listeners: list[socket.socket] = []
        self.acceptors = []
        self.addresses: dict[str, tuple[str, int]] = {}  # "plain"/"tls" -> the bound address

    def start(self):
        wanted = [("plain", self.port, None)]
        if all(self.tls_files):
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.tls_files)
            wanted.append(("tls", self.tls_port, context))
        for kind, port, context in wanted:
            if port <= 0:
                continue
            try:
                # no SO_REUSEPORT: a second listener on the port (another copy of the service,
                # a test run) must fail loudly, not silently share the machines' connections
                listener = eventlet.listen((self.host, port), reuse_port=False)
            except OSError as exc:
                # the library's other entrypoints must keep working without SIP2
                log.error("SIP2 %s listener not started on %s:%s: %s", kind, self.host, port, exc)
                continue
            self.listeners.append(listener)
            self.addresses[kind] = listener.getsockname()[:2]
            self.acceptors.append(self.container.spawn_managed_thread(
                lambda listener=listener, context=context: self._accept(listener, context),
                identifier=f"sip2_{kind}_listener"))
            log.info("SIP2 %s listening on %s:%s", kind, *self.addresses[kind])

    def stop(self):
        for gt in self.acceptors:
            gt.kill()
        for listener in self.listeners:
            listener.close()
        for gt in list(self.pool.coroutines_running):
            eventlet.kill(gt)  # spawn_n runs plain greenlets, which have no kill() of their own
        self.acceptors, self.listeners = [], []

    kill = stop

    def get_dependency(self, worker_ctx):
        return None

    # ---- connections ------------------------------------------------------------------

    def _db(self):
        # the service's Store (bound to this container) holds the database
        return next(d for d in self.container.dependencies if isinstance(d, Store)).db

    def _accept(self, listener, context):
        while True:
            try:
                conn, address = listener.accept()
            except OSError as exc:
                if listener.fileno() < 0:
                    return  # closed: the service is stopping
                log.warning("SIP2 accept failed: %s", exc)
                eventlet.sleep(0.1)
                continue
            if not self.pool.free():
                log.warning("SIP2: too many connections, refusing %s", address[0])
                conn.close()
                continue
            self.pool.spawn_n(self._serve, conn, f"{address[0]}:{address[1]}", context)

    def _serve(self, conn, peer: str, context):
        # Never raises: a connection's trouble ends that connection only.
        try:
            if context is not None:
                conn.settimeout(HANDSHAKE_SECONDS)
                conn = context.wrap_socket(conn, server_side=True)
            conn.settimeout(self.idle)
            session = Session(self._db(), self.options, peer=peer)
            for raw in messages.frames(conn.recv, self.max_message):
                answer = session.handle(raw)
                if answer:
                    conn.sendall(answer)
                if not session.open:
                    break
        except socket.timeout:
            log.info("SIP2 %s: idle, closed", peer)
        except (OSError, ssl.SSLError, EOFError) as exc:
            log.info("SIP2 %s: connection ended: %s", peer, exc)
        except Exception:
            log.exception("SIP2 %s: connection failed", peer)
        finally:
            try:
                conn.close()
            except OSError:
                pass
