"""Pages in a real browser: Debian's Chromium driven by Playwright (``tests/e2e/browser/run.mjs``,
run with Node.js), with axe-core for accessibility. ``make test`` installs the two npm packages
(``npm ci --prefix tests/e2e/browser``); ``.ci/run`` makes sure Chromium and Node.js are there.
A machine without them skips, saying which is missing."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parent.parent / "e2e" / "browser" / "run.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}   # a common phone, in CSS pixels


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (Debian's package chromium; .ci/run installs it)"
    if not shutil.which("node"):
        return "no Node.js to drive the browser with (Debian's package nodejs)"
    if not (RUNNER.parent / "node_modules" / "playwright-core").exists():
        return "playwright-core and axe-core are not installed: npm ci --prefix tests/e2e/browser (make test does)"
    return None


def run(steps: list[dict], viewport: dict | None = None, mobile: bool = False, timeout: float = 120) -> dict:
    """What the browser saw (``eval`` and ``axe`` results by name, console errors, failed
    requests); the test fails when the scenario itself failed."""
    why = missing()
    if why:
        pytest.skip(why)
    scenario = {"steps": steps, "viewport": viewport, "mobile": mobile}
    done = subprocess.run(["node", str(RUNNER), json.dumps(scenario)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "CHROMIUM": CHROMIUM})
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"the browser run failed ({done.returncode}): {done.stderr[-2000:]}")
    seen = json.loads(done.stdout)
    if seen.get("error"):
        pytest.fail(f"the browser scenario failed: {seen['error'][:2000]}")
    return seen


def serious(violations: list[dict]) -> list[dict]:
    """The axe-core violations that keep people out: critical and serious ones."""
    return [v for v in violations if v["impact"] in ("critical", "serious")]
