"""The pages in a real browser against a real ``esv serve`` over the demo city (README "页面 Screens").

- ``pages_built`` (session): web/dist made current once (``esupervision.web_build``: npm ci and
  vite build when stale); without Node the screen tests skip, under CI=true they fail.
- ``demo_server`` (session): a small demo city (``esv demo --cases 120``, built once for all the
  xdist workers of a run, as of now) copied for this worker and served by ``esv serve``.
- ``browser`` (session): Debian's Chromium (``/usr/bin/chromium``) through Playwright.
- ``console`` (function): a page of 1366×768 (the console's smallest screen); the test fails if
  Chromium logged an error or an uncaught exception on it.
- ``shoot(page, name)``: a screenshot in tests/artifacts/screens/, for a person to look at.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import unreachable
from tests.servers import Server, esv, serving

CHROMIUM = "/usr/bin/chromium"
DEMO_CASES = 80
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screens"
CONSOLE_VIEWPORT = {"width": 1366, "height": 768}
SERVER_START_S = 240


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def pages_built() -> Path:
    from esupervision.web_build import ensure_pages
    outcome = ensure_pages(build=True)
    if outcome.dist is None:
        unreachable("the built pages (web/dist)", outcome.message)
    return outcome.dist


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo city's SQLite file, built once per run for every worker."""
    shared = _shared(tmp_path_factory)
    database = shared / "screens-demo.db"
    with _locked(shared / "screens-demo.lock"):
        if not (shared / "screens-demo.done").exists():
            database.unlink(missing_ok=True)
            environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}",
                           "ESV_LEDGER_WITNESS": str(shared / "screens-demo-witness")}
            done = subprocess.run([esv(), "demo", "--cases", str(DEMO_CASES)], env=environment,
                                  capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            (shared / "screens-demo.done").write_text("built\n")
    return database


@pytest.fixture(scope="session")
def demo_server(pages_built: Path, demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("screens-server")
    database = folder / "demo.db"
    shutil.copyfile(demo_template, database)
    # The pages are current (pages_built): the server only serves them.
    # A start-up allowance for a machine whose two cores other test processes share.
    with serving(f"sqlite:///{database}", folder, env={"ESV_WEB_BUILD": "false"},
                 start_timeout=SERVER_START_S) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unreachable("Chromium", f"{CHROMIUM} missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


class ConsoleErrors(list):
    """What Chromium logged as an error or threw uncaught on a page."""


@pytest.fixture
def console(browser, demo_server: Server) -> Iterator[object]:
    context = browser.new_context(viewport=CONSOLE_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  base_url=demo_server.url)
    page = context.new_page()
    errors = ConsoleErrors()
    page.on("console", lambda message: errors.append(f"{message.type}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.errors = errors
    yield page
    context.close()
    assert list(errors) == [], f"Chromium console errors: {list(errors)}"


def shoot(page, name: str) -> Path:
    """A full-page screenshot in tests/artifacts/screens/<name>.png (CI keeps the folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, server: Server, username: str) -> None:
    """Through the login page, as a person does (each login counts against the rate limit)."""
    page.goto("/console")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=who]")


def signed_in(page, server: Server, username: str) -> None:
    """The tab already holds a token of ``username`` (taken once through the API), as after a login."""
    token = server.login(username)
    role = server.graphql("{ me { role } }", token=token)["me"]["role"]
    page.add_init_script(
        "sessionStorage.setItem('esv.session', JSON.stringify(%s))"
        % f'{{"token": "{token}", "refreshToken": null, "role": "{role}", "displayName": "{username}", "username": "{username}"}}')


def kpi(page, light: str) -> int:
    """The console's count of ``light`` once loaded."""
    locator = page.locator(f"[data-testid=kpi-{light}] .kpi-value")
    page.wait_for_function("el => /^\\d+$/.test(el.textContent.trim())", arg=locator.element_handle())
    return int(locator.inner_text().strip())

