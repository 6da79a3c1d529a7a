"""The screens' first render and live updates (issue 18): largest contentful paint (LCP) of the
console and the big screen against the demo, as a ratio against a static page in the same
Chromium and run, and the time from a lightChanged message reaching the browser to the console
showing the new count (targets: LCP < 2 s; < 1 s from the subscription event to the screen).

    python bench/screens.py [--cases 3000] [--runs 5] [--changes 5] [--url sqlite:///kept.db] [--no-record]

A demo city of ``--cases`` cases is built into a temporary SQLite file (or ``--url`` is served as
it is) and served by ``esv serve`` with the built pages. Each LCP run is a fresh browser context
(empty cache, as a screen's first start), logged in as the supervisor; LCP is read with a
PerformanceObserver (``largest-contentful-paint``, buffered) once the page's numbers are on screen.
The baseline is a static HTML page of the same kind (a title, four big numbers, a table) served
from the same server's folder by Python's http.server: the browser's own floor on this machine.
A light change: a department system reports a case accepted 20 days ago (its light is due red at
once); the time is taken from the WebSocket frame carrying the lightChanged message (Playwright's
framereceived, in the browser's clock) to the red count changing in the DOM (a MutationObserver).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench.common import record  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DEMO_KEY = "esv_demo_department_system_key"
BASELINE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>基线</title>
<style>body{font-family:'WenQuanYi Micro Hei',sans-serif;margin:0;background:#f3f5f8}
header{background:#12325f;color:#fff;padding:12px}.k{display:inline-block;width:22%;margin:1%;
background:#fff;font-size:30px;padding:10px}td{padding:6px;border-bottom:1px solid #ddd}</style>
<header>电子监察控制台</header><div><span class=k>红灯 14</span><span class=k>黄灯 12</span>
<span class=k>白灯 29</span><span class=k>暂停 17</span></div>
<table>""" + "".join(f"<tr><td>QH2026120{i:05d}</td><td>事项名称{i}</td><td>窗口{i}</td></tr>" for i in range(12)) + "</table>"

LCP = """() => new Promise((resolve) => {
  new PerformanceObserver((list) => { const entries = list.getEntries(); resolve(entries[entries.length - 1].startTime) })
    .observe({ type: 'largest-contentful-paint', buffered: true })
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def esv() -> str:
    return str(Path(sys.executable).with_name("esv"))


def graphql(url: str, query: str, variables: dict | None = None, *, headers: dict | None = None) -> dict:
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {},
                      timeout=60).json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def serve(database_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ESV_LEDGER_WITNESS": str(folder / "witness")}
    log = open(folder / "serve.log", "wb")
    process = subprocess.Popen([esv(), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600   # may build the pages first
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"esv serve did not start: {(folder / 'serve.log').read_text()[-2000:]}")


def static_baseline(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    (folder / "baseline.html").write_text(BASELINE, encoding="utf-8")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/baseline.html"


def session_script(token: str) -> str:
    return ("sessionStorage.setItem('esv.session', JSON.stringify({token: '%s', refreshToken: null, "
            "role: 'SUPERVISOR', displayName: '监察', username: 'supervisor'}))" % token)


def lcp_runs(browser, url: str, runs: int, *, token: str | None, ready: str | None) -> list[float]:
    found = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        if token:
            context.add_init_script(session_script(token))
        page = context.new_page()
        page.goto(url)
        if ready:
            page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        found.append(page.evaluate(LCP))
        context.close()
    return found


def light_change_latencies(browser, url: str, token: str, changes: int) -> tuple[list[float], int]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.add_init_script(session_script(token))
    page = context.new_page()
    frames: list[float] = []

    def on_socket(socket) -> None:
        def heard(payload) -> None:
            text = payload if isinstance(payload, str) else payload.decode()
            if '"lightChanged"' in text and '"RED"' in text:
                frames.append(page.evaluate("performance.timeOrigin + performance.now()"))
        socket.on("framereceived", heard)

    page.on("websocket", on_socket)
    page.goto(f"{url}/console")
    page.wait_for_function("document.querySelector('[data-testid=kpi-RED] .kpi-value')?.textContent.trim().match(/^\\d+$/)")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => {
      window.__redChanges = []
      const el = document.querySelector('[data-testid=kpi-RED] .kpi-value')
      new MutationObserver(() => window.__redChanges.push(performance.timeOrigin + performance.now()))
        .observe(el, { characterData: true, childList: true, subtree: true })
    }""")
    leader = graphql(url, 'mutation { login(username: "leader", password: "demo") { accessToken } }')["login"]["accessToken"]
    case = graphql(url, "{ cases(first: 1, filter: {statuses: [ACCEPTED]}) { edges { node { item { code } center { code } } } } }",
                   headers={"Authorization": f"Bearer {leader}"})["cases"]["edges"][0]["node"]
    latencies = []
    for _ in range(changes):
        seen_frames, seen_changes = len(frames), page.evaluate("window.__redChanges.length")
        number = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
        graphql(url, "mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status } }",
                {"e": [{"sourceEventId": f"{number}:1", "caseNumber": number, "action": "ACCEPT",
                        "occurredAt": (datetime.now(timezone.utc) - timedelta(days=20)).isoformat(),
                        "itemCode": case["item"]["code"], "centerCode": case["center"]["code"]}]},
                headers={"Authorization": f"ApiKey {DEMO_KEY}"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(frames) <= seen_frames or page.evaluate("window.__redChanges.length") <= seen_changes):
            page.wait_for_timeout(50)
        if len(frames) > seen_frames and page.evaluate("window.__redChanges.length") > seen_changes:
            heard = frames[seen_frames]
            shown = page.evaluate(f"window.__redChanges.slice({seen_changes}).find(t => t >= {heard}) ?? null")
            if shown is not None:
                latencies.append(shown - heard)
        page.wait_for_timeout(1500)   # the next change starts from a settled screen
    open_cases = sum(int(page.locator(f"[data-testid=kpi-{light}] .kpi-value").inner_text())
                     for light in ("RED", "YELLOW", "WHITE", "PAUSED"))
    context.close()
    return latencies, open_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--url", help="serve this database as it is (no demo build)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="esv-bench-screens-"))
    database_url = args.url or f"sqlite:///{folder / 'demo.db'}"
    if not args.url:
        started = time.monotonic()
        subprocess.run([esv(), "demo", "--cases", str(args.cases)], check=True, capture_output=True,
                       env={**os.environ, "DATABASE_URL": database_url, "ESV_LEDGER_WITNESS": str(folder / "witness")})
        print(f"demo of {args.cases} cases built in {time.monotonic() - started:.0f} s")
    process, url = serve(database_url, folder)
    baseline_server, baseline_url = static_baseline(folder)
    try:
        token = graphql(url, 'mutation { login(username: "supervisor", password: "demo") { accessToken } }')["login"]["accessToken"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            baseline = lcp_runs(browser, baseline_url, args.runs, token=None, ready=None)
            console = lcp_runs(browser, f"{url}/console", args.runs, token=token, ready="[data-testid=red-list] tbody tr")
            screen = lcp_runs(browser, f"{url}/screen", args.runs, token=None, ready=None)
            latencies, open_cases = light_change_latencies(browser, url, token, args.changes)
            browser.close()
    finally:
        baseline_server.shutdown()
        process.terminate()
        process.wait(10)
    load = os.getloadavg()[0]
    base = statistics.median(baseline)

    def row(name: str, values: list[float]) -> str:
        median = statistics.median(values)
        return (f"{name}: LCP median {median:.0f} ms, max {max(values):.0f} ms ({len(values)} cold loads at 1920×1080), "
                f"{median / base:.1f}× the static page")
    lines = [
        f"demo city: {args.cases if not args.url else 'kept database'} cases, {open_cases} open (the console's four counts)",
        f"static baseline page: LCP median {base:.0f} ms",
        row("/console (supervisor, counts + red and yellow lists)", console),
        row("/screen (public big screen)", screen),
        (f"light change → console: {len(latencies)}/{args.changes} measured, median {statistics.median(latencies):.0f} ms, "
         f"max {max(latencies):.0f} ms from the lightChanged frame to the red count changing") if latencies
        else "light change → console: none measured",
        f"machine load (1 min) at the end: {load:.1f}",
    ]
    figure = (f"/console LCP median {statistics.median(console):.0f} ms ({statistics.median(console) / base:.1f}× a static page), "
              f"/screen {statistics.median(screen):.0f} ms; light change shown {statistics.median(latencies):.0f} ms after its frame"
              if latencies else f"/console LCP median {statistics.median(console):.0f} ms")
    record("Screens: first render and live light changes", "python bench/screens.py " + " ".join(sys.argv[1:]), lines,
           keep=not args.no_record, summary=("screens (`bench/screens.py`)", figure, "LCP < 2 s; shown < 1 s after the event"))


if __name__ == "__main__":
    main()
