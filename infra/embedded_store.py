"""The embedded MongoDB-compatible store (nx-27017 on SQLite files) as a child process."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pymongo


SERVER = Path(__file__).with_name("store_server.py")


def server() -> list[str]:
    """nx-27017 through ``store_server.py``, which fixes how it compares strings and keeps its
    schema reads."""
    if importlib.util.find_spec("nx_27017") is None:
        raise SystemExit("nx-27017 is not installed: run `make up` (it installs the project), "
                         "or set MONGO_URI to a MongoDB server")
    return [sys.executable, str(SERVER)]


def command(data_dir: Path, port: int, log_file: Path) -> list[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # --threaded: a thread per connection answers its commands itself. The default (asyncio)
    # hands each command to a pool thread and back, a quarter of the store's CPU per dashboard.
    return [*server(), "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
            "--log-file", str(log_file), "--pid-file", str(data_dir / "nx-27017.pid"), "--threaded"]


def start(data_dir: Path, port: int, log_file: Path) -> subprocess.Popen:
    """Start the store in its own session (so a terminal's Ctrl-C does not reach it)."""
    with open(log_file.with_suffix(".out"), "ab") as out:
        return subprocess.Popen(command(data_dir, port, log_file), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def wait_ready(uri: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
    try:
        while True:
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if process is not None and process.poll() is not None:
                    raise SystemExit(f"the embedded store exited with code {process.returncode}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"the document store at {uri} did not answer within {timeout:.0f}s")
                time.sleep(0.2)
    finally:
        client.close()


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Ask the store to stop; kill it if it has not within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)
