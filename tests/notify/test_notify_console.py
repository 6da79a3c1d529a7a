"""The embedded default's promise in the README: ``esv serve`` prints an applicant's login code
on its console (the console provider, through the outbox and the in-process worker), and the
code printed logs the applicant in."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from esupervision.demo_accounts import DEMO_APPLICANT_PHONE
from tests.servers import esv, serving

pytestmark = pytest.mark.slow
WAIT_S = 30


def test_the_login_code_appears_on_the_console_of_esv_serve(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'esv.db'}"
    subprocess.run([esv(), "demo", "--cases", "20"], env={**os.environ, "DATABASE_URL": database_url},
                   check=True, capture_output=True, timeout=300)
    with serving(database_url, tmp_path) as server:
        sent = server.graphql('mutation($p: String!) { requestLoginCode(phone: $p) { sentTo } }',
                              {"p": DEMO_APPLICANT_PHONE})
        assert sent["requestLoginCode"]["sentTo"].endswith(DEMO_APPLICANT_PHONE[-4:])
        line = re.compile(r"\[SMS console\] to \+86" + DEMO_APPLICANT_PHONE + r": 您的登录验证码为(\d{6})")
        deadline = time.monotonic() + WAIT_S
        while not (found := line.search(server.log.read_text())):
            assert time.monotonic() < deadline, server.log.read_text()[-3000:]
            time.sleep(0.2)
        login = server.graphql('mutation($p: String!, $c: String!) { loginWithCode(phone: $p, code: $c) { role } }',
                               {"p": DEMO_APPLICANT_PHONE, "c": found.group(1)})
        assert login["loginWithCode"]["role"] == "APPLICANT"
