"""Build the pages (web/) for `esv serve` when web/dist is missing or older than their sources:
`npm ci` when node_modules is missing or older than the lock file, then `npm run build`. Without
npm the API is served alone and the console says why."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from esupervision.settings import get_settings

# What a build reads besides src/: a change in any of them makes web/dist stale.
BUILD_INPUTS = ("index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")
NPM_TIMEOUT_S = 900


@dataclass(frozen=True)
class PagesBuilt:
    """Where the built pages are (None: not available) and what happened, for the console."""
    dist: Path | None
    message: str


def web_dir() -> Path:
    """The pages' project: ESV_WEB_DIR, else web/ beside the package (a source checkout)."""
    configured = get_settings().web_dir
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "web"


def dist_dir(web: Path | None = None) -> Path:
    return (web or web_dir()) / "dist"


def _newest(paths: Iterator[Path]) -> tuple[float, Path | None]:
    newest, which = 0.0, None
    for path in paths:
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if mtime > newest:
            newest, which = mtime, path
    return newest, which


def _sources(web: Path) -> Iterator[Path]:
    yield from (web / name for name in BUILD_INPUTS)
    yield from (path for path in (web / "src").rglob("*") if path.is_file())


def stale_reason(web: Path) -> str | None:
    """Why web/dist must be built again (None: it is up to date)."""
    index = web / "dist" / "index.html"
    if not index.is_file():
        return "web/dist missing"
    built = index.stat().st_mtime
    newest, which = _newest(_sources(web))
    if newest > built and which is not None:
        return f"{which.relative_to(web)} newer than web/dist"
    return None


def install_reason(web: Path) -> str | None:
    """Why `npm ci` must run first (None: node_modules matches the lock file)."""
    marker = web / "node_modules" / ".package-lock.json"   # npm writes it on every install
    if not marker.is_file():
        return "node_modules missing"
    if (web / "package-lock.json").stat().st_mtime > marker.stat().st_mtime:
        return "package-lock.json newer than node_modules"
    return None


@contextmanager
def _build_lock(web: Path) -> Iterator[None]:
    # Several servers (tests, --workers) starting at once build once; the others wait for it.
    with open(web / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _npm(web: Path, *args: str) -> None:
    done = subprocess.run(["npm", *args], cwd=web, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                          env={**os.environ, "CI": "true", "npm_config_fund": "false", "npm_config_audit": "false"})
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"npm {' '.join(args)} exited {done.returncode}:\n{tail}")


def _build_into_place(web: Path) -> None:
    # Built beside dist/ and swapped in, so a server already serving dist/ never sees it half-written.
    fresh = web / f".dist-{os.getpid()}"
    old = web / f".dist-old-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    _npm(web, "run", "build", "--", "--outDir", fresh.name, "--emptyOutDir")
    dist = web / "dist"
    if dist.exists():
        dist.rename(old)
    fresh.rename(dist)
    shutil.rmtree(old, ignore_errors=True)


def ensure_pages(say: Callable[[str], None] = print, *, build: bool | None = None) -> PagesBuilt:
    """Make web/dist current if it can, and say what was done; never raises: the API is served
    whatever becomes of the pages."""
    web = web_dir()
    if not (web / "package.json").is_file():
        return PagesBuilt(None, f"页面不可用 pages not available: no web project at {web}")
    reason = stale_reason(web)
    if reason is None:
        return PagesBuilt(dist_dir(web), "页面已是最新 pages up to date (web/dist)")
    build = get_settings().web_build if build is None else build
    have = dist_dir(web) if (web / "dist" / "index.html").is_file() else None
    if not build:
        return PagesBuilt(have, f"页面未重新构建 pages not rebuilt ({reason}; ESV_WEB_BUILD=0)")
    if shutil.which("npm") is None or shutil.which("node") is None:
        note = "serving the old build" if have else "serving the API only"
        return PagesBuilt(have, f"页面不可用：未找到 Node.js/npm，无法构建 pages not available: node/npm not found "
                                f"({reason}); {note}. Install Node 20 and npm, then restart esv serve.")
    with _build_lock(web):
        reason = stale_reason(web)   # another server may have built it while we waited
        if reason is None:
            return PagesBuilt(dist_dir(web), "页面已由另一进程构建 pages built by another process")
        started = time.monotonic()
        say(f"正在构建页面 building the pages ({reason})…")
        try:
            why_install = install_reason(web)
            if why_install:
                say(f"  npm ci ({why_install})…")
                _npm(web, "ci")
            _build_into_place(web)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            note = "serving the old build" if have else "serving the API only"
            return PagesBuilt(have, f"页面构建失败 building the pages failed; {note}:\n{exc}")
        took = time.monotonic() - started
        return PagesBuilt(dist_dir(web), f"页面构建完成 pages built in {took:.1f} s (web/dist)")
