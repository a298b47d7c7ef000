"""The staff console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium signs in, opens a case, completes it and sees it
leave the queue.

When Chromium or its driver is missing, the test session installs them once with apt-get
(as root, where apt-get exists); it skips, saying why, only where they cannot be installed.
"""
import os
import shutil
import subprocess
import time
import uuid

import pytest

from gateway.service import GatewayService
from services.community import staff
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PACKAGES = ["chromium", "chromium-driver"]
FONTS = ["fonts-wqy-microhei"]  # CJK glyphs for readable screenshots (best effort)
SECRET = "console-browser-secret-of-at-least-32-bytes"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=zh-CN"]

pytestmark = pytest.mark.timeout(900)  # the first test of a session may install the browser


def _apt(*args, timeout):
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=120", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _why(result) -> str:
    return (result.stderr or result.stdout).strip().splitlines()[-1:] or [f"exit {result.returncode}"]


@pytest.fixture(scope="session")
def browser_binaries():
    """Chromium and chromedriver paths, installed once per session when missing."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return CHROMIUM, CHROMEDRIVER
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} or {CHROMEDRIVER} missing, and not root to install {' '.join(PACKAGES)}")
    if not shutil.which("apt-get"):
        pytest.skip(f"{CHROMIUM} or {CHROMEDRIVER} missing, and no apt-get to install them")
    started = time.monotonic()
    try:
        update = _apt("update", "-qq", timeout=300)
        if update.returncode != 0:
            pytest.skip(f"apt-get update failed, cannot install Chromium: {_why(update)[0]}")
        install = _apt("install", "-y", "-qq", "--no-install-recommends", *PACKAGES, timeout=600)
        if install.returncode != 0:
            pytest.skip(f"apt-get install {' '.join(PACKAGES)} failed: {_why(install)[0]}")
        _apt("install", "-y", "-qq", "--no-install-recommends", *FONTS, timeout=300)  # nice to have
    except subprocess.TimeoutExpired as exc:
        pytest.skip(f"installing Chromium took too long ({exc.timeout:g} s): {' '.join(exc.cmd[:4])}")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"installed {' '.join(PACKAGES)} but {CHROMIUM} or {CHROMEDRIVER} is still missing")
    print(f"\ninstalled {' '.join(PACKAGES)} in {time.monotonic() - started:.0f} s")
    return CHROMIUM, CHROMEDRIVER


@pytest.fixture
def chrome(browser_binaries, tmp_path):
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (the project's test extra lists it)")
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager fetch a driver
    chromium, chromedriver = browser_binaries
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def console(start_service, service_config, rpc):
    community = start_service(CommunityService)
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    load_demo_district(rpc)
    return {"community": community, "base": web_address(gateway)}


def test_clerk_signs_in_opens_a_case_completes_it_and_it_leaves_the_queue(console, chrome, rpc, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    rpc.community.staff_add(login, "李静", "C0201", staff.hash_password(password))
    resident = rpc.community.register_resident({"id_number": id_number(), "name": "王芳",
                                                "registered_committee": "C0101", "residence_committee": "C0201",
                                                "address": "枫林路88弄3号502室"})
    desk = {"id": "desk-clerk", "role": "staff", "committee": "C0201"}
    case = rpc.community.submit_case(desk, {"resident_id": resident["resident_id"], "matter_code": "ELDERLY_ALLOWANCE",
                                            "materials": ["居民身份证", "银行卡"]})
    case = rpc.community.act_on_case(desk, {"case_id": case["case_id"], "action": "accept"})
    wait = WebDriverWait(chrome, 20)

    chrome.get(console["base"] + "/console")  # not signed in: sent to the sign-in page
    wait.until(seen.title_contains("工作人员登录"))
    chrome.find_element(By.ID, "login").send_keys(login)
    chrome.find_element(By.ID, "password").send_keys(password)
    chrome.find_element(By.ID, "sign-in").click()
    wait.until(seen.title_contains("案件队列"))
    assert "李静" in chrome.find_element(By.CSS_SELECTOR, "header").text
    cookie = chrome.get_cookie("console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    chrome.save_screenshot(str(tmp_path / "queue-before.png"))

    chrome.find_element(By.LINK_TEXT, case["number"]).click()
    wait.until(seen.title_contains(case["number"]))
    assert chrome.find_element(By.ID, "case-status").text == "已受理"
    assert "办理记录" in chrome.page_source and "高龄老人营养补贴申领" in chrome.page_source
    chrome.save_screenshot(str(tmp_path / "case-desktop.png"))
    chrome.find_element(By.ID, "form-complete").find_element(By.NAME, "note").send_keys("补贴已发放")
    chrome.find_element(By.ID, "do-complete").click()

    wait.until(seen.title_contains("案件队列"))
    flash = chrome.find_element(By.ID, "flash").text
    assert case["number"] in flash and "案件已办结" in flash
    assert not chrome.find_elements(By.CSS_SELECTOR, f'tr[data-case="{case["case_id"]}"]')
    assert chrome.execute_script("return document.documentElement.lang") == "zh-CN"
    chrome.save_screenshot(str(tmp_path / "queue-after.png"))

    chrome.set_window_size(820, 1180)  # a tablet held upright: one column, no sideways scrolling
    chrome.get(console["base"] + f"/console/cases/{case['case_id']}")
    wait.until(seen.title_contains(case["number"]))
    assert chrome.find_element(By.ID, "case-status").text == "已办结"
    assert "补贴已发放" in chrome.find_element(By.ID, "trail").text
    assert chrome.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    chrome.save_screenshot(str(tmp_path / "case-tablet.png"))

    chrome.find_element(By.ID, "logout").click()
    wait.until(seen.title_contains("工作人员登录"))
    assert chrome.get_cookie("console_session") is None
    assert rpc.community.get_case(desk, case["case_id"])["status"] == "completed"
    for shot in ("queue-before.png", "case-desktop.png", "queue-after.png", "case-tablet.png"):
        assert (tmp_path / shot).stat().st_size > 5000
