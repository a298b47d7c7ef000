"""A TCP proxy between one part of the suite and the broker (or the store), so that a test
cuts that part's connections alone — never stopping or reconfiguring the shared RabbitMQ node
that other vhosts and other runs use.

The proxy is a process of its own (plain threads, no eventlet): cutting it closes every
connection through it at once, as a broker that went away does, and nothing of it stays
behind in the test's hub.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``. ``cut()`` ends the proxy process: every
    connection through it drops and new ones are refused; ``restore()`` starts it again on
    the same port."""

    def __init__(self, target_host: str, target_port: int):
        from support import free_port   # not at the top: this file also runs alone, as the proxy

        self.target = (target_host, target_port)
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        self.restore()

    def uri(self, uri: str) -> str:
        """``uri`` (AMQP or MongoDB) through this proxy."""
        return uri.replace(f"{self.target[0]}:{self.target[1]}", f"127.0.0.1:{self.port}", 1)

    def restore(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._process = subprocess.Popen([sys.executable, __file__, str(self.port), *map(str, self.target)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the proxy on port {self.port} did not start")

    def cut(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)

    close = cut


def _serve(port: int, target_host: str, target_port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port), reuse_port=False)

    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection((target_host, target_port))
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
