"""Real ``esv serve`` processes for tests: start one on a free loopback port, wait for
``/healthz``, stop it afterwards. Shared by every test that talks to a server over the wire."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_S = 60


def esv() -> str:
    """The ``esv`` command of this virtualenv (beside its python), else the one on PATH."""
    beside = Path(sys.executable).with_name("esv")
    return str(beside) if beside.exists() else shutil.which("esv") or "esv"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def graphql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                api_key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else (
            {"Authorization": f"ApiKey {api_key}"} if api_key else {})
        body = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers, timeout=30, follow_redirects=True).json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def login(self, username: str) -> str:
        if username not in self.tokens:
            self.tokens[username] = self.graphql(
                "mutation($u: String!) { login(username: $u, password: \"demo\") { accessToken } }",
                {"u": username})["login"]["accessToken"]
        return self.tokens[username]


@contextmanager
def serving(database_url: str, folder: Path, *extra: str, env: dict[str, str] | None = None,
            start_timeout: float = START_TIMEOUT_S) -> Iterator[Server]:
    """``esv serve`` on a free loopback port over ``database_url`` (extra arguments after
    ``serve``), answering ``/healthz`` when yielded, stopped afterwards; its output goes to a log
    in ``folder``, quoted if it fails to start within ``start_timeout`` seconds."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    # The server's ledger heads go to a witness folder of the test, not to the working directory.
    environment = {**os.environ, "DATABASE_URL": database_url, "ESV_LEDGER_WITNESS": str(folder / "ledger-witness"),
                   **(env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen([esv(), "serve", "--port", str(port), *extra], env=environment,
                                   stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"esv serve did not start in {start_timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Ask a server process to stop (SIGTERM), kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
