"""esv serve serves the pages (README "页面 Screens"): every page path answers the built
index.html, hashed assets are cached for a year, a browser at / goes to the console while API
clients keep the overview JSON, the API's own paths are never shadowed, and web/dist is rebuilt
only when its sources are newer."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from esupervision.api.pages import front_door, page_routes
from esupervision.web_build import ensure_pages, install_reason, stale_reason

INDEX = "<!doctype html><title>电子监察</title><div id=app></div>"


@pytest.fixture
def web(tmp_path: Path) -> Path:
    """A pages project with a build: sources first, dist written after them."""
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "src" / "main.ts").write_text("export {}\n")
    for name in ("index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"):
        (web / name).write_text("{}\n")
    (web / "dist" / "assets").mkdir(parents=True)
    (web / "dist" / "assets" / "index-abc123.js").write_text("console.log(1)\n")
    (web / "dist" / "index.html").write_text(INDEX)
    later = time.time() + 5
    os.utime(web / "dist" / "index.html", (later, later))
    return web


def app_for(dist: Path) -> Starlette:
    def overview(_):
        return JSONResponse({"centers": []})

    def graphql(_):
        return JSONResponse({"data": None})
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/overview", overview),
                             *page_routes(dist), Route("/", front_door(overview))])


def test_page_paths_answer_the_built_index_and_assets_are_cached(web):
    client = TestClient(app_for(web / "dist"))
    for path in ("/console", "/console/cases/QH202612010001", "/screen", "/window/W003", "/login"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["cache-control"] == "no-cache"   # always names the current bundles
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert client.get("/assets/missing.js").status_code == 404


def test_a_browser_at_the_root_goes_to_the_console_and_api_clients_keep_the_json(web):
    client = TestClient(app_for(web / "dist"))
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, follow_redirects=False)
    assert browser.status_code == 302 and browser.headers["location"] == "/console"
    assert client.get("/").json() == {"centers": []}
    assert client.get("/overview", headers={"Accept": "text/html"}).json() == {"centers": []}
    assert client.post("/graphql", json={}).json() == {"data": None}


def test_without_a_build_the_pages_say_so_in_chinese_and_the_api_still_answers(tmp_path):
    client = TestClient(app_for(tmp_path / "nothing"))
    response = client.get("/console", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert "页面未构建" in response.text
    assert client.get("/overview").status_code == 200


def test_dist_is_stale_only_when_a_source_is_newer(web):
    assert stale_reason(web) is None
    later = time.time() + 10
    os.utime(web / "src" / "main.ts", (later, later))
    assert stale_reason(web) == "src/main.ts newer than web/dist"
    (web / "dist" / "index.html").unlink()
    assert stale_reason(web) == "web/dist missing"
    assert install_reason(web) == "node_modules missing"


def test_without_npm_the_api_is_served_alone_and_the_console_says_why(web, monkeypatch):
    monkeypatch.setenv("ESV_WEB_DIR", str(web))
    monkeypatch.setenv("PATH", str(web))   # no node, no npm
    from esupervision.settings import get_settings
    get_settings.cache_clear()
    try:
        (web / "dist" / "index.html").unlink()
        outcome = ensure_pages()
    finally:
        get_settings.cache_clear()
    assert outcome.dist is None
    assert "页面不可用" in outcome.message and "npm" in outcome.message
