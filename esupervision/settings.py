"""Configuration in one place, read once at start (environment variables prefixed ``ESV_``,
plus ``DATABASE_URL`` and ``REDIS_URL`` under their usual names)."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Fixed secrets so the demo and tests work out of the box; production refuses to start with
# them (``secret_problems``) and sets its own (``esv keys generate``).
DEMO_SIGNING_KEY = "ZXN1cGVydmlzaW9uLWRlbW8tbGVkZ2VyLWtleS0wMDE="
DEMO_JWT_SECRET = "esupervision-demo-jwt-secret-change-me-in-production"
# A window of ``notice_hours`` (the gateway reads it: ``notify/limits.py``).
HOURS = re.compile(r"^\s*(workdays\s+)?([01]?\d|2[0-3]):[0-5]\d\s*-\s*([01]?\d|2[0-3]):[0-5]\d\s*$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESV_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///esupervision.db",
        validation_alias=AliasChoices("DATABASE_URL", "ESV_DATABASE_URL"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "ESV_REDIS_URL"),
    )
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("RABBITMQ_URL", "ESV_RABBITMQ_URL"),
    )
    # "inprocess" is the embedded default; production uses "redis" or "rabbitmq".
    broker: Literal["inprocess", "redis", "rabbitmq"] = "inprocess"
    timezone: str = "Asia/Shanghai"
    # Ed25519 private key seed, 32 bytes base64; signs ledger checkpoints.
    ledger_signing_key: str = DEMO_SIGNING_KEY
    # Transparency log: the name in each head's origin and signature line; the verifier key file
    # (`esv ledger public-key`) that `esv ledger verify` reads, so it needs no signing seed; the
    # witness that signed heads are published to (a directory); a head signed at least this many
    # seconds apart while events arrive, and once a burst of commits ends; the nightly check
    # (local time; projections compared too).
    ledger_log_name: str = "esupervision"
    ledger_public_key_file: str | None = None
    ledger_witness: str = "ledger-witness"
    ledger_head_interval_s: float = 5.0
    ledger_verify_at: str = "02:30"
    # County deployments (docs/counties.md): at a county, the bearer token its raw events route
    # wants from the city (unset: not served); at the city, how often each county is pulled.
    replication_token: str | None = None
    county_pull_interval_s: float = 2.0
    # Reports whose occurred_at is older than this many hours when recorded are flagged late.
    late_report_hours: float = 24.0
    # Statistics: an event recorded at most this many minutes after it happened was reported
    # electronically as it happened (coverage of real-time reporting), not entered afterwards.
    realtime_report_minutes: float = 10.0
    # Demo clock speed: 1 is real time; 60 runs a minute of case time per second.
    speed: float = 1.0
    # Files of GraphQL case-page documents (the screens' and dashboards' own) that `esv serve`
    # reads at start-up besides the client's, so their first pages after a restart are as fast
    # as later ones (api/warmup.py); JSON list of paths.
    warm_documents: list[str] = []
    environment: Literal["development", "production", "test"] = "development"
    # The pages' project (web/: console, big screen, window board); `esv serve` serves its dist/
    # and builds it when missing or stale. Default: web/ beside the package (a source checkout).
    web_dir: str | None = None
    # `esv serve` builds stale pages with npm; 0 serves whatever dist/ holds (or the API alone).
    web_build: bool = True
    # HS256 secret for access tokens and signed download links; production sets its own.
    jwt_secret: str = DEMO_JWT_SECRET
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    max_page_size: int = 100
    # One-time SMS codes of applicants: lifetime and wrong tries before the code is dead.
    login_code_minutes: int = 5
    login_code_max_attempts: int = 5
    # Sliding-window limits on login, loginWithCode and requestLoginCode: per username or phone
    # (each mutation counted apart) and per client IP (all three together).
    rate_limit_per_minute: int = 5
    rate_limit_per_hour: int = 20
    rate_limit_ip_per_minute: int = 30
    # Request limits: estimated query cost (list fields count `first` x their selection) and
    # tokens a query may have before it is parsed at all.
    max_query_cost: int = 20_000
    max_query_tokens: int = 10_000
    # A request body larger than this is refused (413) before it is read; GraphQL variables may
    # nest this deep and hold lists this long (reportCaseEvents takes 1,000 events a call).
    max_body_bytes: int = 1_048_576
    max_variable_depth: int = 20
    max_variable_list: int = 1000
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses
    # or networks, as uvicorn's forwarded_allow_ips); none by default: the peer is the client.
    trusted_proxies: str = ""
    # Bearer token that /metrics asks for; unset: /metrics is not served.
    metrics_token: str | None = None
    # Days the PDF link of a report's SMS opens the report (the console's links last 10 minutes).
    report_link_days: float = 7.0
    # 电子眼: a folder whose HLS streams and recordings `esv serve` serves at /video/… (a camera's
    # URL /video/<camera>/index.m3u8 is read from <folder>/<camera>/index.m3u8); unset: not served.
    video_dir: str | None = None

    # --- notification gateway (notify/) ----------------------------------------------------
    # Providers tried in order, by the recipient's country prefix ("*": any other number).
    # Only providers with credentials take part; none left: the console (embedded default).
    sms_routes: dict[str, list[str]] = {"+86": ["aliyun", "twilio"], "*": ["twilio"]}
    voice_routes: dict[str, list[str]] = {"+86": ["aliyun", "twilio"], "*": ["twilio"]}
    # On a provider fault (outage, timeout, garbage answer) try the next provider of the route.
    notify_fallback: bool = True
    # Where the phone numbers of a center are if written without a country code.
    default_region: str = "CN"
    # Channels each notice goes out on, by template ("sms", "voice").
    notice_channels: dict[str, list[str]] = {"overdue": ["sms", "voice"]}
    # Light changes of these clock subjects notify staff (case, step, acceptance).
    light_notice_subjects: list[str] = ["case"]
    # Per recipient and template: [per minute, per hour, per day]; over the limit is held,
    # except templates in notify_limit_drop, which fail with RATE_LIMITED.
    notify_limits: dict[str, list[int]] = {"login_code": [1, 5, 10]}
    notify_limit_drop: list[str] = ["login_code"]
    # Ledger events older than this when recorded (imports, replays, late reports) notify nobody.
    notify_max_event_age_hours: float = 48.0
    # New red flags are told by SMS to accounts of these roles that have a staff member with a
    # phone (supervisor: all tenders; center_admin: their center's): one SMS per tender per pass,
    # or a single summary when a pass raises flags on more tenders than this.
    redflag_notice_roles: list[str] = ["supervisor"]
    redflag_notice_max_tenders: int = 10
    # When each category of notice goes out (``models/notices/templates.py`` names each template's):
    # "HH:MM-HH:MM" local every day, "workdays HH:MM-HH:MM" on the center's working days (its
    # calendar); a category not listed (login codes, replies, alarms) goes at any hour. "voice"
    # holds every call, urgent or not. A held notice goes at its window's start, in the order written.
    notice_hours: dict[str, str] = {"applicant": "08:00-21:00", "staff": "workdays 08:30-17:30",
                                    "voice": "08:00-21:00"}
    # Sends per second per provider (each worker process), 0: no limit.
    provider_rate: dict[str, float] = {}
    # Delivery attempts for transient errors, with a doubling backoff between these bounds.
    notify_max_attempts: int = 6
    notify_min_backoff_ms: int = 2000
    notify_max_backoff_ms: int = 300_000
    # A claimed notice whose worker died is looked up at the provider after this many seconds.
    notify_claim_lease_s: float = 120.0
    # A queued notice whose broker message vanished (outage) is enqueued again after this.
    notify_requeue_after_s: float = 300.0
    notify_relay_interval_s: float = 0.5
    # Notices per broker message: one claim and one record transaction per batch.
    notify_batch: int = 20
    notify_status_poll_s: float = 60.0
    provider_timeout_s: float = 10.0
    # Public base URL of this API, for provider callbacks (Twilio status, voice).
    public_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    # Test and staging only: the API base instead of Twilio's.
    twilio_base_url: str | None = None
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: str | None = None
    aliyun_region: str = "cn-hangzhou"
    # Test and staging only: host:port serving Dysmsapi and Dyvmsapi instead of Aliyun's.
    aliyun_endpoint: str | None = None
    aliyun_sign_name: str = "清河市政务服务"
    # Our template code -> the TemplateCode registered at Aliyun (SMS_...) and TtsCode (TTS_...).
    aliyun_sms_templates: dict[str, str] = {}
    aliyun_tts_templates: dict[str, str] = {}
    aliyun_called_show_number: str | None = None
    # Aliyun voice receipts (VoiceCallReport / VoiceReport, HTTP batch push) are posted to
    # /webhooks/aliyun/voice-report/<this> (a path secret, masked in the logs); unset: refused.
    # Dyvmsapi has no lookup by our OutId, so a call whose worker died is known placed only by its
    # receipt: without one it is not called again before this many seconds (Aliyun retries a
    # push after 1, 5 and 10 min).
    aliyun_report_token: str | None = None
    aliyun_call_report_wait_s: float = 1200.0
    # The case-status line of a mainland number is the center's CTI gateway, which asks
    # /webhooks/cti/case/<this> what to say (a path secret, masked in the logs); unset: not served.
    cti_token: str | None = None
    # --- complaints, consultations and evaluations (投诉、咨询、好差评) -------------------------
    # Working days a department has to answer a complaint / a consultation.
    complaint_answer_days: int = 5
    consultation_answer_days: int = 2
    # Complaints and consultations one phone may file in 24 hours (an SMS flood files no more).
    complaint_daily_limit: int = 10
    # Where a complaint naming no case is filed (a center code); None: the top-level center.
    complaint_default_center_code: str | None = None
    # Natural days after completion to rate a case; then it counts as ``evaluation_deemed_score``.
    evaluation_deem_days: int = 7
    evaluation_deemed_score: int = 3          # 基本满意
    # Scores at or below this are bad ratings (差评) and open a follow-up; at or above praise.
    evaluation_bad_max_score: int = 2
    evaluation_praise_min_score: int = 3
    # Working days a department has for a bad rating's follow-up (核实、整改、回访).
    follow_up_days: int = 15
    # How the evaluation request tells the applicant to rate (the {link} of evaluation_request).
    evaluation_link: str = "回复数字1-5（5非常满意，1非常不满意），或登录政务服务网评价"
    # A TrueType CJK font (.ttf / .ttc) embedded in report PDFs; unset: the first usual system
    # font found (see ``report_pdf.SYSTEM_FONTS``).
    pdf_font: str | None = None
    # Dramatiq: Redis heartbeat after which a dead worker's messages are requeued.
    dramatiq_heartbeat_ms: int = 60_000
    dramatiq_namespace: str = "esv"

    @field_validator("notice_hours")
    @classmethod
    def _hours_are_windows(cls, value: dict[str, str]) -> dict[str, str]:
        for category, text in value.items():
            if not HOURS.match(text or ""):
                raise ValueError(f"ESV_NOTICE_HOURS[{category!r}] = {text!r}: 应写作 08:00-21:00 或 workdays 08:30-17:30")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()


# ----------------------------------------------------------------------------- secrets

@dataclass(frozen=True)
class SecretProblem:
    """A secret production cannot start with: the variable to set and why, in Chinese and English."""

    variable: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.zh} / {self.en}"


MIN_SECRET_LENGTH = 32


def secret_problems(settings: Settings) -> list[SecretProblem]:
    """What is wrong with the secrets of these settings for production: missing, too short, not a
    key at all, or the demo's published value (``esv keys generate`` makes good ones)."""
    problems: list[SecretProblem] = []
    jwt_secret = settings.jwt_secret.strip()
    if not jwt_secret:
        problems.append(SecretProblem("ESV_JWT_SECRET", "未设置访问令牌密钥", "the access-token secret is not set"))
    elif jwt_secret == DEMO_JWT_SECRET:
        problems.append(SecretProblem("ESV_JWT_SECRET", "仍是演示用的公开密钥，任何人都能签发监察人员令牌",
                                      "is the published demo secret: anyone could sign a supervisor's token"))
    elif len(jwt_secret) < MIN_SECRET_LENGTH:
        problems.append(SecretProblem("ESV_JWT_SECRET", f"太短（至少 {MIN_SECRET_LENGTH} 个字符）",
                                      f"is too short (at least {MIN_SECRET_LENGTH} characters)"))
    key = settings.ledger_signing_key.strip()
    if not key:
        problems.append(SecretProblem("ESV_LEDGER_SIGNING_KEY", "未设置账本签名密钥", "the ledger signing key is not set"))
    elif key == DEMO_SIGNING_KEY:
        problems.append(SecretProblem("ESV_LEDGER_SIGNING_KEY", "仍是演示用的公开密钥，任何人都能伪造账本签名",
                                      "is the published demo key: anyone could sign forged checkpoints"))
    elif not _is_seed(key):
        problems.append(SecretProblem("ESV_LEDGER_SIGNING_KEY", "不是 32 字节的 Base64 Ed25519 种子",
                                      "is not a 32-byte Ed25519 seed in base64"))
    for variable, value in (("ESV_ALIYUN_REPORT_TOKEN", settings.aliyun_report_token),
                            ("ESV_METRICS_TOKEN", settings.metrics_token), ("ESV_CTI_TOKEN", settings.cti_token)):
        if value is not None and len(value.strip()) < MIN_SECRET_LENGTH:
            problems.append(SecretProblem(variable, f"太短（至少 {MIN_SECRET_LENGTH} 个字符）",
                                          f"is too short (at least {MIN_SECRET_LENGTH} characters)"))
    return problems


def _is_seed(key: str) -> bool:
    try:
        return len(base64.b64decode(key, validate=True)) == 32
    except (ValueError, binascii.Error):
        return False
