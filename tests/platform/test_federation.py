"""Our schema is a federation v2 subgraph a standard gateway composes: ``esv serve``, a second
small subgraph (Node, ``@apollo/subgraph``) that extends ``Department`` by its key, and an Apollo
gateway (``@apollo/gateway`` with ``IntrospectAndCompose``), all real processes on loopback ports.
One query through the gateway resolves fields of both.

Node packages come from the npm registry into tests/js/node_modules (kept between runs). Without
``npm`` the test is skipped, except under ``CI=true``, where it fails.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.db import make_engine
from esupervision.models.catalogue.catalogue import Department
from tests.builders import accept
from tests.conftest import IN_CI
from tests.servers import START_TIMEOUT_S, free_port, serving, stop
from tests.platform.test_subscriptions import seed_city

pytestmark = pytest.mark.slow

JS = Path(__file__).resolve().parents[1] / "js"


def _node_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        message = "node and npm are needed for the federation gateway test (apt-get install nodejs npm)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true must not skip it", pytrace=False)
        pytest.skip(message)
    return node, npm


def _npm_install(npm: str) -> None:
    """``npm ci`` from the lock file, once: node_modules stays between runs."""
    marker = JS / "node_modules" / ".package-lock.json"
    lock = JS / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"npm ci failed in {JS}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


@contextmanager
def node_process(node: str, script: str, *args: str, log: Path, ready: str) -> Iterator[subprocess.Popen]:
    """``node script args…``, waited for until its log says ``ready``, stopped afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen([node, script, *args], cwd=JS, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{script} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)


def test_a_gateway_resolves_one_query_across_our_subgraph_and_another(tmp_path: Path) -> None:
    node, npm = _node_tools()
    _npm_install(npm)
    database_url = f"sqlite:///{tmp_path / 'esv.db'}"
    with serving(database_url, tmp_path, "--no-worker") as ours:
        seed_city(database_url)
        engine = make_engine(database_url)
        try:
            accept(engine, "FED-1", datetime.now(timezone.utc) - timedelta(minutes=5))
            with Session(engine) as session:
                market = session.scalars(select(Department).where(Department.code == "SCJ")).one()
                market_id = str(market.id)
        finally:
            engine.dispose()

        other_port, gateway_port = free_port(), free_port()
        with node_process(node, "subgraph.mjs", str(other_port), json.dumps({market_id: 4.8}),
                          log=tmp_path / "subgraph.log", ready="subgraph ready"), \
                node_process(node, "gateway.mjs", str(gateway_port), f"esupervision={ours.url}/graphql",
                             f"satisfaction=http://127.0.0.1:{other_port}/",
                             log=tmp_path / "gateway.log", ready="gateway ready"):
            gateway = f"http://127.0.0.1:{gateway_port}/"

            def ask(query: str, token: str | None = None) -> dict:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = httpx.post(gateway, json={"query": query}, headers=headers, timeout=30)
                body = response.json()
                assert response.status_code == 200 and not body.get("errors"), body
                return body["data"]

            token = ask('mutation { login(username: "supervisor", password: "demo") { accessToken } }')[
                "login"]["accessToken"]
            data = ask('{ case(number: "FED-1") { number status department { id code name satisfaction } } }',
                       token)
            assert data == {"case": {"number": "FED-1", "status": "ACCEPTED", "department": {
                "id": market_id, "code": "SCJ", "name": "市场监督管理局", "satisfaction": 4.8}}}
            # The composed supergraph keeps both owners' fields on the one entity.
            departments = ask("{ departments { code satisfaction } }", token)["departments"]
            assert {d["code"]: d["satisfaction"] for d in departments} == {"SCJ": 4.8, "ZJJ": None}
