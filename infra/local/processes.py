"""Processes the local runner starts, recorded by pid so that ``suite down`` stops
exactly those (and never a stranger that inherited a recycled pid)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Recorded:
    name: str
    pid: int
    marker: str          # a string of the process's command line, checked before signalling
    health_url: str | None


def run_dir(var_dir: str) -> Path:
    path = Path(var_dir) / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spawn(var_dir: str, name: str, cmd: list[str], marker: str, health_url: str | None,
          env: dict | None = None) -> Recorded:
    log_dir = Path(var_dir) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
    rec = Recorded(name, proc.pid, marker, health_url)
    (run_dir(var_dir) / f"{name}.json").write_text(json.dumps(rec.__dict__))
    return rec


def recorded(var_dir: str) -> list[Recorded]:
    out = []
    for path in sorted(run_dir(var_dir).glob("*.json")):
        try:
            out.append(Recorded(**json.loads(path.read_text())))
        except (ValueError, TypeError):
            path.unlink()
    return out


def find(var_dir: str, name: str) -> Recorded | None:
    return next((r for r in recorded(var_dir) if r.name == name), None)


def alive(rec: Recorded) -> bool:
    try:
        cmdline = Path(f"/proc/{rec.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        if Path(f"/proc/{rec.pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    except (OSError, IndexError):
        return False
    return rec.marker in cmdline


def stop(var_dir: str, rec: Recorded, grace: float = 15.0) -> str:
    """SIGTERM the process group, SIGKILL after ``grace`` seconds; forget the record."""
    outcome = "not running"
    if alive(rec):
        try:  # it may end on its own between the look and the signal
            os.killpg(rec.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while alive(rec) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(rec):
                os.killpg(rec.pid, signal.SIGKILL)
                outcome = "killed"
            else:
                outcome = "stopped"
        except ProcessLookupError:
            outcome = "stopped"
    (run_dir(var_dir) / f"{rec.name}.json").unlink(missing_ok=True)
    return outcome
