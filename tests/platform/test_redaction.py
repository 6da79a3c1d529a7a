"""Logs never carry secrets or full phone numbers, whoever writes them: a provider's error text
(Aliyun quotes the AccessKeyId and the number it was asked to call), uvicorn's access log of the
receipt URL (the push secret is its last segment) and of signed download links, a token in a
header, a database password. Phone numbers are masked as the API masks them (+86 138****8000)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from uvicorn.logging import AccessFormatter

from esupervision.notify.gateway import Gateway
from esupervision.notify.mocks.aliyun import string_to_sign
from esupervision.redaction import Redactor, install
from esupervision.settings import Settings
from tests.notify.test_notify_delivery import CN, notice, queue
from tests.notify.test_notify_support import aliyun, free_port, notify_settings, twilio  # noqa: F401

PUSH_SECRET = "push-secret-of-the-aliyun-receipts-0123456789"


@pytest.fixture
def redacting() -> Iterator[Callable[[Settings], Redactor]]:
    """``install`` for one test: the process's log records are made as before afterwards."""
    previous = logging.getLogRecordFactory()
    yield install
    logging.setLogRecordFactory(previous)


def test_the_provider_error_log_does_not_show_the_number(engine, aliyun, twilio, redacting, caplog):  # noqa: F811
    settings = notify_settings(twilio, aliyun, free_port(), sms_routes={"+86": ["aliyun"]})
    redacting(settings)
    aliyun.behave(CN[3:], "invalid")                     # Aliyun: isv.MOBILE_NUMBER_ILLEGAL 非法手机号 13800138000
    notice_id = queue(engine, CN)
    with caplog.at_level(logging.WARNING, logger="esupervision.notify.gateway"):
        Gateway(engine, settings).deliver(notice_id)
    assert notice(engine, notice_id).error_code == "isv.MOBILE_NUMBER_ILLEGAL"
    [line] = [r.getMessage() for r in caplog.records if "MOBILE_NUMBER_ILLEGAL" in r.getMessage()]
    assert "非法手机号 +86 138****8000" in line and "13800138000" not in line


def test_aliyun_quoting_the_access_key_and_the_number_is_scrubbed(redacting, caplog):
    """Aliyun's SignatureDoesNotMatch quotes the string it signed: our AccessKeyId and the number,
    percent-encoded. Logged by the SDK or by us, neither shows."""
    settings = Settings(aliyun_access_key_id="LTAI5tExampleKeyId0001", aliyun_access_key_secret="example-secret-0001")
    redacting(settings)
    quoted = string_to_sign("POST", {"AccessKeyId": "LTAI5tExampleKeyId0001", "Action": "SingleCallByTts",
                                     "CalledNumber": "13800138000", "SignatureNonce": "5f0c4f7e2b9a"})
    with caplog.at_level(logging.ERROR, logger="aliyunsdkcore.client"):
        logging.getLogger("aliyunsdkcore.client").error(
            "ServerException occurred. ServerException:HTTP Status: 400 Error:SignatureDoesNotMatch Specified "
            "signature is not matched with our calculation. server string to sign is:%s", quoted)
    assert "LTAI5tExampleKeyId0001" not in caplog.text and "13800138000" not in caplog.text
    assert "AccessKeyId%3D***" in caplog.text
    assert "138****8000" in caplog.text and "SingleCallByTts" in caplog.text


def test_the_access_log_hides_the_receipt_secret_and_signed_links(redacting, caplog):
    redacting(Settings(aliyun_report_token=PUSH_SECRET))
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:53422", "POST",
                    f"/webhooks/aliyun/voice-report/{PUSH_SECRET}", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:53422", "GET",
                    "/reports/5f0c4f7e-2b9a-4c55-8d1e-0a6b3c2d1e0f.pdf?exp=1798761600&sig=0a1b2c3d4e5f60718293a4b5", "1.1", 200)
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    receipt, report = (formatter.format(r) for r in caplog.records)
    assert receipt == '127.0.0.1:53422 - "POST /webhooks/aliyun/voice-report/*** HTTP/1.1" 200 OK'
    assert report.endswith('5f0c4f7e-2b9a-4c55-8d1e-0a6b3c2d1e0f.pdf?exp=1798761600&sig=*** HTTP/1.1" 200 OK')
    assert PUSH_SECRET not in caplog.text


def test_secrets_and_numbers_are_scrubbed_from_any_text():
    settings = Settings(jwt_secret="a-jwt-secret-nobody-may-read-0123456789", metrics_token="metrics-token-0123456789")
    scrub = Redactor.from_settings(settings).text
    assert scrub("signing with a-jwt-secret-nobody-may-read-0123456789") == "signing with ***"
    assert scrub("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc") == "Authorization: Bearer ***"
    assert scrub("Authorization: ApiKey esv_demo_department_system_key") == "Authorization: ApiKey ***"
    assert scrub("postgresql://esv:pa55word@db.internal/esv") == "postgresql://esv:***@db.internal/esv"
    assert scrub("scrape with metrics-token-0123456789") == "scrape with ***"
    assert scrub("短信 → 13912345678：您的验证码") == "短信 → +86 139****5678：您的验证码"
    assert scrub("to +8613800138000 and +14155552671") == "to +86 138****8000 and +1 415***2671"
    # what only looks like a number is left alone: ids, case numbers, instants
    for text in ("notice 3f2a1b2c-0000-4000-8000-a13800138000", "case QH202611170004", "at 1733612345678 ms",
                 "call 116012354148^102125811006"):
        assert scrub(text) == text
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "to %s: %s (%d tries)",
                               ("+8613800138000", ValueError("token=abc123def456"), 3), None)
    Redactor().record(record)
    assert record.getMessage() == "to +86 138****8000: token=*** (3 tries)"
