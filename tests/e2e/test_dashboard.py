"""The admin dashboard in headless Chromium (Debian's, driven through chromedriver): every page
renders without a server error, a broken link or a console error, at 1280 px and 390 px (the
screenshots are saved); the forms work for an admin, carry CSRF tokens, and are refused to an
auditor; the session cookie is HttpOnly, SameSite=Strict and scoped to the dashboard."""
from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from integration.admin.admin_support import (
    AdminClient,
    admin_overrides,
    audit_rows,
    create_user,
)
from support.acme_client import AcmeClient, Http01Responder, expect
from support.dns import ZoneServer, free_port
from support.server import RunningServer, start_server
from support.tools import required_tool

pytestmark = pytest.mark.e2e
WIDTHS = (1280, 390)
PAGES = ("/", "/certificates", "/accounts", "/eab", "/webhooks", "/audit")
# ACMEEH_SCREENSHOTS=DIR keeps the screenshots (the docs' images come from here).
SHOT_DIR = os.environ.get("ACMEEH_SCREENSHOTS")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, dns_server: ZoneServer
           ) -> Iterator[RunningServer]:
    overrides = admin_overrides()
    overrides["webhooks"] = {"allowed_networks": ["127.0.0.0/8"], "max_attempts": 1,
                             "delivery_interval_seconds": 0.2}
    running = start_server(tmp_path_factory.mktemp("dashboard"), dns=dns_server,
                           overrides=overrides)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def users(server: RunningServer) -> dict[str, str]:
    return {"root": create_user(server, "root"), "watcher": create_user(server, "watcher",
                                                                        "auditor")}


@pytest.fixture(scope="module")
def world(server: RunningServer, users: dict[str, str]) -> dict:
    """What the pages show: two certificates, a failed order, an EAB key, a dead letter."""
    client = AcmeClient(server.directory_url)
    expect(client.new_account(contact=["mailto:dash@example.com"]), 201)
    names = [f"dash-{uuid.uuid4().hex[:6]}.localhost" for _ in range(2)]
    with Http01Responder(server.http01_port) as http01:
        for name in names:
            client.obtain_certificate([name], http01=http01)
    order = expect(client.new_order([f"fail-{uuid.uuid4().hex[:6]}.localhost"]), 201)
    authz = expect(client.get_authz(order.json()["authorizations"][0]), 200).json()
    expect(client.respond(next(c for c in authz["challenges"]
                               if c["type"] == "http-01")["url"]), 200)
    client.poll(order.headers["Location"], {"invalid"})
    admin = AdminClient(server).as_user("root", users["root"])
    admin.post("/webhooks", {"url": f"http://127.0.0.1:{free_port()}/x",
                             "events": ["maintenance.changed"]})
    admin.post("/maintenance", {"enabled": False})  # a delivery that will die
    return {"names": names, "account_id": client.kid.rsplit("/", 1)[1]}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = required_tool("chromium", "apt-get install chromium")
    driver_bin = required_tool("chromedriver", "apt-get install chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_bin), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def url(server: RunningServer, path: str) -> str:
    return f"{server.base_url}/admin{path}"


def log_in(browser, server: RunningServer, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(url(server, "/login"))
    assert console_errors(browser) == [], "the login page"
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "main form button").click()
    until(browser, lambda b: b.current_url == url(server, "/"), "the overview after login")


def until(browser, check, what: str):  # noqa: ANN001, ANN201
    """Wait (bounded) for `check(browser)` after a click that loads a new page."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 20, poll_frequency=0.1, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException)).until(check, what)


def text_of(browser, tag: str = "main") -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, tag).text


def console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def session_of(browser) -> requests.Session:
    """A requests session with the browser's cookies (to check status codes and links)."""
    http = requests.Session()
    http.trust_env = False
    for cookie in browser.get_cookies():
        http.cookies.set(cookie["name"], cookie["value"], path=cookie.get("path", "/"))
    return http


def shoot(browser, tmp: Path, name: str) -> list[Path]:
    """The whole page at each width (the window grows to the page, at most 3000 px)."""
    saved = []
    for width in WIDTHS:
        browser.set_window_size(width, 900)
        tall = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(width, min(max(int(tall), 600), 3000))
        path = tmp / f"{name}-{width}.png"
        assert browser.save_screenshot(str(path))
        saved.append(path)
        if SHOT_DIR:
            Path(SHOT_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(SHOT_DIR) / path.name)
    browser.set_window_size(1280, 900)
    return saved


def test_every_page_renders_links_and_no_console_errors(browser, server, users, world,
                                                       tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, server, "root", users["root"])
    http = session_of(browser)
    origin = server.base_url
    links: set[str] = set()
    pages = [*PAGES, f"/accounts/{world['account_id']}"]
    for path in pages:
        browser.get(url(server, path))
        assert "Internal Server Error" not in browser.page_source
        assert not browser.title.startswith(("4", "5")), (path, browser.title)
        resp = http.get(url(server, path), timeout=15, allow_redirects=False)
        assert resp.status_code == 200, (path, resp.status_code)
        for anchor in browser.find_elements(By.TAG_NAME, "a"):
            href = anchor.get_attribute("href") or ""
            if href.startswith(origin):
                links.add(href.split("#", 1)[0])
        name = "account-detail" if path.startswith("/accounts/") else path.strip("/")
        shoot(browser, tmp_path, name or "overview")
        assert console_errors(browser) == [], path
    cert_pages = [link for link in links if re.search(r"/certificates/[0-9a-f-]{36}$", link)]
    assert cert_pages, links
    browser.get(cert_pages[0])
    shoot(browser, tmp_path, "certificate-detail")
    for link in sorted(links | {cert_pages[0] + "/pem"}):
        resp = http.get(link, timeout=15, allow_redirects=False)
        assert resp.status_code == 200, (link, resp.status_code)
    assert console_errors(browser) == []
    assert sorted(p.name for p in tmp_path.glob("*.png"))  # 1280 and 390 of every page


def test_overview_charts_and_maintenance_toggle(browser, server, users, world) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, server, "root", users["root"])
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 2
    bars = [c.find_elements(By.CSS_SELECTOR, "rect.bar") for c in charts]
    assert (len(bars[0]), len(bars[1])) == (7 * 24, 13)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "2 in all" in text  # two certificates issued, both expiring within 13 weeks
    assert "unauthorized" in text and "connection" in text  # the failed order and validation
    assert "Worker leaders" in text and "acmeeh-workers" in text
    browser.find_element(By.XPATH, "//button[text()='Turn on']").click()
    until(browser, lambda b: "On: new orders are refused" in text_of(b), "maintenance on")
    browser.find_element(By.XPATH, "//button[text()='Turn off']").click()
    until(browser, lambda b: "Off: new orders are accepted" in text_of(b), "maintenance off")
    rows = [r for r in audit_rows(server, "maintenance.set") if r["details"].get("via")]
    assert [r["details"]["enabled"] for r in rows[-2:]] == [True, False]


def test_admin_forms(browser, server, users, world) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    log_in(browser, server, "root", users["root"])
    browser.get(url(server, f"/certificates?name={world['names'][0]}"))
    browser.find_element(By.CSS_SELECTOR, "table a").click()
    until(browser, lambda b: b.find_elements(By.NAME, "reason"), "the certificate page")
    Select(browser.find_element(By.NAME, "reason")).select_by_visible_text("superseded")
    browser.find_element(By.XPATH, "//button[text()='Revoke']").click()
    until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "dd.st-revoked"), "revoked")
    browser.get(url(server, "/eab"))
    browser.find_element(By.NAME, "label").send_keys("from the dashboard")
    browser.find_element(By.XPATH, "//button[text()='Create a key']").click()
    kid = until(browser, lambda b: b.find_element(By.ID, "kid"), "the new key").text
    assert len(browser.find_element(By.ID, "hmac").text) == 43
    browser.get(url(server, "/eab"))
    assert kid in browser.page_source
    browser.find_element(By.XPATH, f"//tr[td/code='{kid}']//button").click()
    until(browser, lambda b: "revoked" in b.find_element(By.XPATH, f"//tr[td/code='{kid}']").text,
          "the key revoked")
    browser.get(url(server, "/webhooks"))
    dead = browser.find_elements(By.XPATH, "//button[text()='Retry']")
    assert dead, "the dead letter is listed"
    dead[0].click()
    until(browser, lambda b: b.current_url == url(server, "/webhooks"), "back to webhooks")
    browser.get(url(server, "/audit?action=eab.create"))
    assert "eab.create" in browser.find_element(By.TAG_NAME, "table").text
    browser.get(url(server, f"/accounts/{world['account_id']}"))
    browser.find_element(By.XPATH, "//button[text()='Deactivate for good']").click()
    until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "dd.st-deactivated"), "deactivated")
    assert console_errors(browser) == []


def test_auditor_reads_only(browser, server, users, world) -> None:
    from selenium.webdriver.common.by import By

    log_in(browser, server, "watcher", users["watcher"])
    for path in PAGES:
        browser.get(url(server, path))
        forms = [f.get_attribute("action") for f in browser.find_elements(By.CSS_SELECTOR,
                                                                            "main form")]
        assert all(a.endswith(("/certificates", "/accounts", "/audit")) for a in forms), forms
    http = session_of(browser)
    browser.get(url(server, "/"))
    csrf = browser.find_element(By.CSS_SELECTOR, "header input[name=csrf]").get_attribute("value")
    refused = http.post(url(server, "/maintenance"), data={"csrf": csrf, "enabled": "true"},
                        timeout=15, allow_redirects=False)
    assert refused.status_code == 403 and "may only read" in refused.text
    denied = [r for r in audit_rows(server, "access.denied") if r["actor"] == "watcher"]
    assert denied and denied[-1]["details"]["via"] == "dashboard"


def test_cookie_csrf_and_login(server, users) -> None:
    http = requests.Session()
    http.trust_env = False
    first = http.get(url(server, "/"), allow_redirects=False, timeout=15)
    assert first.status_code == 302 and first.headers["Location"].endswith("/admin/login")
    form = http.get(url(server, "/login"), timeout=15)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]
    creds = {"username": "root", "password": users["root"]}
    forged = requests.post(url(server, "/login"), data={**creds, "csrf": token}, timeout=15,
                           allow_redirects=False)  # no login cookie: a cross-site post
    assert forged.status_code == 400
    assert "acmeeh_dashboard=" not in forged.headers.get("Set-Cookie", "")  # no session
    wrong = http.post(url(server, "/login"), data={**creds, "password": "nope", "csrf": token},
                      timeout=15, allow_redirects=False)
    assert wrong.status_code == 401 and "Invalid username or password" in wrong.text
    token = re.search(r'name="csrf" value="([^"]+)"', wrong.text).group(1)
    done = http.post(url(server, "/login"), data={**creds, "csrf": token}, timeout=15,
                     allow_redirects=False)
    assert done.status_code == 303
    cookie = next(c for c in done.raw.headers.getlist("Set-Cookie")
                  if c.startswith("acmeeh_dashboard="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie  # served over plain http here (see the unit test for https)
    page = http.get(url(server, "/"), timeout=15)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    stale = http.post(url(server, "/maintenance"), data={"csrf": "0" * 64, "enabled": "true"},
                      timeout=15, allow_redirects=False)
    assert stale.status_code == 400 and "CSRF" in stale.text
    out = http.post(url(server, "/logout"), data={"csrf": csrf}, timeout=15,
                    allow_redirects=False)
    assert out.status_code == 303
    assert http.get(url(server, "/"), allow_redirects=False, timeout=15).status_code == 302
