"""``make conformance``: the ADL LRS conformance test suite run against this suite's LRS
(``/xapi/`` of a real elearning process on a throwaway store and vhost), for xAPI 1.0.3 and
2.0.0; prints the passed and failed counts of each version and the failing tests.

The suite itself (github adlnet/lrs-conformance-test-suite, Node.js) is not part of this
project and nothing here fetches or installs it: give a checkout whose dependencies are
installed (as its README says) as ``LRS_CONFORMANCE_DIR``. ``XAPI_VERSION`` picks one version (both by default); ``LRS_GREP``
passes a pattern to the suite's ``--grep``.

    LRS_CONFORMANCE_DIR=/path/to/lrs-conformance-test-suite make conformance
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from bench.suite_processes import running_suite
from infra import xapi_clients

VERSIONS = ("1.0.3", "2.0.0")
HOW_TO_GET = """\
LRS_CONFORMANCE_DIR must name a checkout of the ADL LRS conformance test suite (the public
repository adlnet/lrs-conformance-test-suite on GitHub) with its Node.js dependencies
installed as its own README says; then: LRS_CONFORMANCE_DIR=<that folder> make conformance.
The suite is not part of this project, and this target fetches and installs nothing."""


def suite_dir() -> Path:
    """The checkout named by LRS_CONFORMANCE_DIR, or exit with how to get one."""
    given = os.environ.get("LRS_CONFORMANCE_DIR", "").strip()
    path = Path(given).expanduser() if given else None
    if path is None or not (path / "bin" / "console_runner.js").is_file():
        problem = "LRS_CONFORMANCE_DIR is not set" if path is None else f"{path} has no bin/console_runner.js"
        sys.exit(f"{problem}.\n{HOW_TO_GET}")
    if not (path / "node_modules").is_dir():
        sys.exit(f"{path} has no node_modules: its dependencies are not installed.\n{HOW_TO_GET}")
    return path


def versions() -> list[str]:
    wanted = os.environ.get("XAPI_VERSION", "").strip()
    if not wanted:
        return list(VERSIONS)
    if wanted not in VERSIONS:
        sys.exit(f"XAPI_VERSION must be one of {', '.join(VERSIONS)} (or unset for both)")
    return [wanted]


def run_version(checkout: Path, endpoint: str, credentials: str, version: str) -> dict:
    """Run the suite for one version; its summary (total, passed, failed) and failing titles."""
    user, password = credentials.split(":", 1)
    command = ["node", "bin/console_runner.js", "-e", endpoint, "-a", "-u", user, "-p", password,
               "-x", version, "-z"]
    if os.environ.get("LRS_GREP"):
        command += ["-g", os.environ["LRS_GREP"]]
    proc = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=3600)
    summary, log_path = None, None
    for line in proc.stdout.splitlines():
        text = _plain(line)
        if text.startswith("{") and '"failed"' in text:
            try:
                summary = json.loads(text)          # printed every 2 s: the last one is final
            except ValueError:
                pass
        elif text.startswith("Full run log written to "):
            log_path = Path(text[len("Full run log written to "):].strip())
    if summary is None or summary.get("failed") is None:
        raise RuntimeError(f"the conformance suite gave no summary (exit {proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    failing = _failing(json.loads(log_path.read_text()).get("log")) if log_path and log_path.is_file() else []
    return {"summary": summary, "failing": failing, "log": log_path}


def _failing(node: dict | None, trail: tuple[str, ...] = ()) -> list[str]:
    """The failing tests of the suite's log (a tree of suites and tests), each with the
    suites it is in and its error."""
    if not node:
        return []
    title = (node.get("title") or "").strip()
    children = [c for c in node.get("tests") or [] if c]
    if not children:
        return [" / ".join((*trail, title)) + f" — {str(node.get('error') or '')[:300]}"] \
            if node.get("status") == "failed" else []
    return [f for c in children for f in _failing(c, (*trail, title) if title else trail)]


def _plain(line: str) -> str:
    """A console line without its colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", line).strip()


def main() -> int:
    checkout = suite_dir()
    wanted = versions()
    results = {}
    with running_suite("xapiconf", {"elearning": 1}) as suite:
        with ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=60) as rpc:
            credentials = xapi_clients.add_client(rpc, f"conformance-{uuid.uuid4().hex[:8]}")
        endpoint = suite.url("elearning", "/xapi")
        print(f"LRS under test: {endpoint} ({suite.where}); suite: {checkout}", flush=True)
        service_log = Path(suite.settings.var_dir) / "log" / f"{suite.started['elearning'][0].name}.log"
        for version in wanted:
            seen = _server_errors(service_log)
            results[version] = run_version(checkout, endpoint, credentials, version)
            results[version]["server_errors"] = _server_errors(service_log) - seen
            s = results[version]["summary"]
            print(f"xAPI {version}: {s.get('passed')} passed, {s.get('failed')} failed of {s.get('total')}; "
                  f"{results[version]['server_errors']} answered 5xx", flush=True)
            for title in results[version]["failing"]:
                print(f"  failed: {title}")
            print(f"  the suite's log of failures: {results[version]['log']}")
    print()
    for version in wanted:
        s = results[version]["summary"]
        print(f"xAPI {version}: {s.get('failed')} failed of {s.get('total')}, "
              f"{results[version]['server_errors']} answered 5xx")
    return 0 if all(r["summary"].get("failed") == 0 and not r["server_errors"] for r in results.values()) else 1


def _server_errors(service_log: Path) -> int:
    """The LRS's 5xx answers so far: the refusals ``answers.serve`` logs as it makes them
    (500: an unexpected error, 503: the store unavailable)."""
    if not service_log.is_file():
        return 0
    text = service_log.read_text(errors="replace")
    return text.count("xapi: unexpected error") + text.count("xapi: the document store is unavailable")


if __name__ == "__main__":
    sys.exit(main())
