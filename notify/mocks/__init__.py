"""Local stand-ins for the providers' HTTP APIs, for tests and benchmarks: the real SDKs talk to
them on 127.0.0.1, so no traffic ever leaves the machine.

Each mock records what it accepted and can be told how to misbehave for a phone number
(``behave(number, "fault" | "garbage" | "timeout" | "limit" | "invalid" | "undelivered")``).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, document: Any) -> "Reply":
        return cls(status, json.dumps(document, ensure_ascii=False).encode())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    raw_query: str = ""
    body: bytes = b""


@dataclass
class MockState:
    """What a mock accepted, and how it is told to behave; shared by its handler threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    behaviours: dict[str, str] = field(default_factory=dict)
    down: bool = False            # every request answers 503
    timeout_s: float = 5.0        # how long a "timeout" number makes the client wait
    latency_s: float = 0.0        # every answer takes this long (a real provider is not instant)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass   # a client that gave up (timeout) is part of what the mocks stage


class MockServer:
    """A threaded HTTP server on 127.0.0.1 answering with ``handle(request) -> Reply``."""

    def __init__(self, port: int = 0) -> None:
        self.state = state = MockState()
        handle, counter = self.handle, self.count

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body in separate writes: no 40 ms stalls

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) \
                    if "form" in (self.headers.get("Content-Type") or "") else {}
                request = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                                  form, {k.lower(): v for k, v in self.headers.items()}, parts.query, body)
                if parts.path == "/_mock/count":   # for a benchmark in another process
                    reply = Reply.json(200, {"accepted": counter()})
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                if state.latency_s:
                    time.sleep(state.latency_s)
                try:
                    reply = handle(request)
                except Exception as exc:  # a bug in the mock answers 500, as a real outage would
                    reply = Reply.json(500, {"message": f"mock error: {exc!r}"})
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_DELETE = _serve

        self._server = _Server(("127.0.0.1", port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:  # noqa: D102
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def count(self) -> int:
        """How many messages and calls it accepted."""
        raise NotImplementedError

    def behave(self, number: str, behaviour: str | None) -> None:
        """Misbehave for ``number`` (as the provider writes it), or behave again with None."""
        with self.state.lock:
            if behaviour is None:
                self.state.behaviours.pop(number, None)
            else:
                self.state.behaviours[number] = behaviour

    def behaviour(self, number: str) -> str | None:
        with self.state.lock:
            return self.state.behaviours.get(number)

    def stall(self) -> None:
        time.sleep(self.state.timeout_s)

    def start(self) -> "MockServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "MockServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def post_later(post: Callable[[], None], delay: float = 0.0) -> None:
    """Run a callback POST on a thread of its own, as a provider's receipt arrives later."""
    def run() -> None:
        if delay:
            time.sleep(delay)
        try:
            post()
        except Exception:  # the receiver was gone: a real provider would retry, we do not
            pass
    threading.Thread(target=run, daemon=True).start()
