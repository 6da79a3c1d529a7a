"""Phone numbers as the providers want them: parsed, checked and written in E.164."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers


class PhoneError(ValueError):
    """A number that cannot be a real phone number; ``code`` is ``INVALID_PHONE``."""

    code = "INVALID_PHONE"


def to_e164(raw: str, *, region: str = "CN") -> str:
    """``raw`` in E.164 (``+8613800138000``); national numbers are read in ``region``.

    Raises ``PhoneError`` for text that is not a possible, valid number of its country.
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneError("手机号为空 (empty phone number)")
    return _e164(text, region, raw)


@lru_cache(maxsize=65536)
def _e164(text: str, region: str, raw: str) -> str:
    # Parsing costs about 0.2 ms, and a case's events notify the same applicant again and again
    # (a batch of a department's reports, the demo's thousands). Refusals raise, so only valid
    # numbers are remembered.
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"无法识别的电话号码 {raw!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"无效的电话号码 {raw!r} (not a valid number)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mainland(e164: str) -> bool:
    """Whether an E.164 number is a mainland China number (+86)."""
    return e164.startswith("+86")


def national(e164: str) -> str:
    """The national significant number (what Aliyun takes for a mainland number)."""
    return str(phonenumbers.parse(e164).national_number)


def mask(e164: str | None) -> str | None:
    """+86 138****8000: country code and the last four digits only."""
    if not e164:
        return e164
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "*" * len(e164)
    digits = str(number.national_number)
    shown = digits[:3] if len(digits) > 8 else ""
    return f"+{number.country_code} {shown}{'*' * (len(digits) - len(shown) - 4)}{digits[-4:]}"
