"""The pages (web/dist, built by ``esupervision.web_build``): each page path answers index.html
(the pages route in the browser), /assets/* the hashed bundles with a long cache, and ``/`` sends
a browser to the console while API clients keep getting the overview as JSON."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from esupervision.web_build import dist_dir

# The pages' own paths (web/src/router.ts); the API's (/graphql, /healthz, /overview, /ledger,
# /webhooks, /exports, /reports, /metrics) are never answered with a page.
PAGE_PREFIXES = ("/console", "/screen", "/window", "/login")
ASSET_CACHE = "public, max-age=31536000, immutable"   # file names carry their content hash
PAGE_CACHE = "no-cache"   # index.html names the current bundles: always revalidated

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面未构建</title>
<body style="font-family: sans-serif; margin: 3em">
<h1>页面未构建 pages not built</h1>
<p>服务器没有可用的页面（web/dist）。请安装 Node.js 20 和 npm 后重新启动 <code>esv serve</code>，它会自动构建页面；
GraphQL 接口 <a href="/graphql">/graphql</a> 照常可用。</p>
<p>The server has no built pages (web/dist). Install Node 20 and npm and restart <code>esv serve</code>:
it builds them. The API at /graphql works as usual.</p></body></html>"""


class _Assets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = ASSET_CACHE
        return response


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept names text/html); API clients and scripts send */* or JSON."""
    return "text/html" in request.headers.get("accept", "")


def page_routes(dist: Path | None = None) -> list[BaseRoute]:
    """Routes for every page path and the assets; without a build, the page paths explain why."""
    dist = dist if dist is not None else dist_dir()
    index = dist / "index.html"

    def page(_: Request) -> Response:
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        return FileResponse(index, media_type="text/html; charset=utf-8", headers={"Cache-Control": PAGE_CACHE})

    routes: list[BaseRoute] = []
    for prefix in PAGE_PREFIXES:
        routes.append(Route(prefix, page, methods=["GET", "HEAD"]))
        routes.append(Route(prefix + "/{rest:path}", page, methods=["GET", "HEAD"]))
    # check_dir=False: the build may appear after the app starts (another process builds it)
    routes.append(Mount("/assets", app=_Assets(directory=dist / "assets", check_dir=False), name="assets"))
    return routes


def front_door(overview_json: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """``/``: a browser goes to the console; everyone else gets the overview as before."""
    def root(request: Request) -> Any:
        if wants_html(request):
            return RedirectResponse("/console", status_code=302)
        return overview_json(request)
    return root
