"""Cameras' recordings read for bookmarks: a playlist under /video/ from the folder `esv serve`
serves (ESV_VIDEO_DIR), any other from its URL; and the /video/ route itself."""
from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from esupervision.models.video.recording import Recording, parse_playlist
from esupervision.settings import get_settings

PREFIX = "/video/"
FETCH_TIMEOUT_S = 3.0
# A live EVENT playlist grows every segment: a fetched one is reused this long, no longer.
CACHE_S = 2.0
_cache: dict[str, tuple[float, Recording | None]] = {}


def _playlist_text(url: str) -> str | None:
    if url.startswith(PREFIX):
        folder = get_settings().video_dir
        if not folder:
            return None
        root = Path(folder).resolve()
        path = (root / url[len(PREFIX):].split("?", 1)[0]).resolve()
        if root not in path.parents or not path.is_file():
            return None
        return path.read_text(encoding="utf-8")
    if url.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310 (http only)
                return answer.read(2_000_000).decode("utf-8")
        except (OSError, ValueError, UnicodeDecodeError):
            return None
    return None


def load_recording(url: str | None) -> Recording | None:
    """The recording a playlist URL holds, or ``None`` when it cannot be read or parsed (the
    bookmarks then say so). Blocking: call from a worker thread."""
    if not url:
        return None
    cached = _cache.get(url)
    if cached and time.monotonic() - cached[0] < CACHE_S:
        return cached[1]
    text = _playlist_text(url)
    try:
        recording = parse_playlist(text) if text is not None else None
    except ValueError:
        recording = None
    _cache[url] = (time.monotonic(), recording)
    return recording


class _VideoFiles(StaticFiles):
    """Playlists are never cached by a browser (a live one changes every segment)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_no_cache(message):  # noqa: ANN001, ANN202
            if message["type"] == "http.response.start" and scope["path"].endswith(".m3u8"):
                message["headers"] = [*message.get("headers", []), (b"cache-control", b"no-cache")]
            await send(message)
        await super().__call__(scope, receive, send_no_cache)


def video_routes() -> list[Mount]:
    """/video/… from ESV_VIDEO_DIR when it is set (the demo's and tests' HLS test streams)."""
    folder = get_settings().video_dir
    if not folder or not Path(folder).is_dir():
        return []
    return [Mount("/video", app=_VideoFiles(directory=folder), name="video")]
