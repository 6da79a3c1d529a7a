"""Log lines never carry secrets or full phone numbers, whoever writes them (our code, uvicorn's
access log, a provider SDK's error text): every log record is scrubbed as it is made.

- the configured secrets (JWT secret, ledger key, provider credentials, push and metrics tokens)
  wherever they appear, and the password of a database URL;
- credentials in URLs and texts: ``token=``, ``sig=``, ``Signature=``, ``AccessKeyId=`` … (also
  percent-encoded, as Aliyun quotes its string-to-sign), ``Authorization`` values, and the push
  secret that ends the Aliyun receipt path;
- phone numbers, masked as ``models.notices.phones.mask`` shows them (``+86 138****8000``).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from esupervision.models.notices.phones import mask
from esupervision.settings import Settings

HIDDEN = "***"
# Mainland mobiles with or without +86 (not inside a hex id such as a UUID, but after an
# encoded "="), and other numbers written in E.164.
_MOBILE = re.compile(r"(?:(?<=%3D)|(?<![\dA-Fa-f+-]))(?:\+?86[- ]?)?(1[3-9]\d{9})(?![\dA-Fa-f])")
_E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\d)")
# name=value in URLs, forms and SDK messages, plain (=) or percent-encoded (%3D).
_PARAMETER = re.compile(
    r"(?i)\b(token|sig|signature|signaturenonce|accesskeyid|accesskeysecret|access_key_id|access_key_secret"
    r"|password|auth_token|authtoken|api_?key|secret)(=|%3D)([^&\s\"',;]+?)(?=%26|[&\s\"',;]|$)")
_AUTHORIZATION = re.compile(r"(?i)\b(Bearer|ApiKey|Basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)")
_RECEIPT_PATH = re.compile(r"(/webhooks/aliyun/voice-report/)[^\s/?#\"']+")


def _mask_mobile(match: re.Match[str]) -> str:
    return str(mask("+86" + match.group(1)))


def _mask_e164(match: re.Match[str]) -> str:
    return str(mask(match.group(0)))


class Redactor:
    """Scrubs text of the given secret values and of the patterns above."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret containing another is hidden whole; short values are not
        # secrets worth the false hits.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        return cls([settings.jwt_secret, settings.ledger_signing_key, settings.aliyun_access_key_id,
                    settings.aliyun_access_key_secret, settings.aliyun_report_token, settings.twilio_auth_token,
                    settings.metrics_token, settings.cti_token])

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, HIDDEN)
        if "=" in value or "%3" in value:
            value = _PARAMETER.sub(lambda m: f"{m.group(1)}{m.group(2)}{HIDDEN}", value)
        value = _AUTHORIZATION.sub(lambda m: f"{m.group(1)} {HIDDEN}", value)
        value = _URL_PASSWORD.sub(rf"\1{HIDDEN}\2", value)
        value = _RECEIPT_PATH.sub(rf"\1{HIDDEN}", value)
        value = _MOBILE.sub(_mask_mobile, value)
        return _E164.sub(_mask_e164, value)

    def value(self, value: Any) -> Any:
        """A log argument scrubbed: text as text, numbers as they are, anything else as its text."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(value if isinstance(value, str) else str(value))

    def record(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str):
            record.msg = self.text(record.msg)
        elif record.msg is not None and not isinstance(record.msg, (bool, int, float)):
            record.msg = self.text(str(record.msg))
        if isinstance(record.args, Mapping):
            record.args = {k: self.value(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(self.value(v) for v in record.args)
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self.text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.text(record.stack_info)


_REDACTING = "_esv_redactor"


def install(settings: Settings) -> Redactor:
    """Scrub every log record of this process from now on (idempotent: a second call replaces
    the secrets known, not the factory)."""
    redactor = Redactor.from_settings(settings)
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    made = getattr(current, _REDACTING, None)
    if made is not None:
        made[0] = redactor
        return redactor
    holder = [redactor]

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        holder[0].record(record)
        return record

    setattr(factory, _REDACTING, holder)
    logging.setLogRecordFactory(factory)
    return redactor
