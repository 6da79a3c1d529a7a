"""Twilio: SMS through the Messages resource, voice calls that say the text in Chinese
(TwiML ``<Say language="zh-CN">``), each with a status callback to our webhook."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from esupervision.notify.providers import ErrorKind, Outgoing, ProviderError
from esupervision.settings import Settings

# Twilio error codes that no retry or other provider will fix.
PERMANENT_CODES = frozenset({21211, 21214, 21217, 21219, 21401, 21407, 21408, 21421, 21602, 21603, 21604,
                             21605, 21606, 21610, 21612, 21614, 21617, 21635, 13224, 13223})
# Twilio's words for a message or call -> ours.
SMS_STATUS = {"accepted": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
              "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed"}
CALL_STATUS = {"queued": "sent", "initiated": "sent", "ringing": "sent", "in-progress": "sent",
               "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
               "canceled": "undelivered", "failed": "failed"}
# A lookup after a lost answer accepts what the provider dates within this of our claim.
CLOCK_SKEW = timedelta(minutes=2)


def say(text: str) -> str:
    """The TwiML of a call that reads ``text`` in Mandarin, twice."""
    response = VoiceResponse()
    response.say(text, language="zh-CN")
    response.pause(length=1)
    response.say(text, language="zh-CN")
    return str(response)


class TwilioProvider:
    name = "twilio"
    channels = frozenset({"sms", "voice"})

    def __init__(self, settings: Settings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
            raise ValueError("Twilio needs ESV_TWILIO_ACCOUNT_SID, ESV_TWILIO_AUTH_TOKEN and ESV_TWILIO_FROM")
        self.sender = settings.twilio_from
        self.public_url = settings.public_url.rstrip("/")
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                             http_client=TwilioHttpClient(timeout=settings.provider_timeout_s),
                             environment={})
        self.client.region = self.client.edge = None
        if settings.twilio_base_url:
            self.client.api.base_url = settings.twilio_base_url.rstrip("/")

    def callback_url(self, message: Outgoing) -> str:
        return f"{self.public_url}/webhooks/twilio/status?{urlencode({'notice': message.notice_id})}"

    def send(self, message: Outgoing) -> str:
        try:
            if message.channel == "voice":
                call = self.client.calls.create(
                    to=message.to, from_=self.sender, twiml=say(message.text),
                    status_callback=self.callback_url(message),
                    status_callback_event=["initiated", "ringing", "answered", "completed"])
                sid = call.sid
            else:
                sms = self.client.messages.create(to=message.to, from_=self.sender, body=message.text,
                                                  status_callback=self.callback_url(message))
                sid = sms.sid
        except TwilioRestException as exc:
            raise classify(exc) from exc
        except TwilioException as exc:
            raise _transport(exc) from exc
        except ValueError as exc:   # an answer that is not JSON
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE", f"Twilio 返回无法解析的应答: {exc}") from exc
        except Exception as exc:  # requests' own errors surface here when the SDK does not wrap them
            raise _transport(exc) from exc
        if not sid:
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE", "Twilio 应答没有 sid")
        return str(sid)

    def find(self, message: Outgoing) -> str | None:
        since = message.claimed_at - CLOCK_SKEW
        try:
            if message.channel == "voice":
                for call in self.client.calls.list(to=message.to, start_time_after=since.date(), limit=50):
                    if call.date_created and call.date_created >= since:
                        return str(call.sid)
                return None
            for sms in self.client.messages.list(to=message.to, date_sent_after=since.date(), limit=200):
                if sms.body == message.text and (sms.date_created is None or sms.date_created >= since):
                    return str(sms.sid)
        except Exception as exc:
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_LOOKUP_FAILED", f"Twilio 查询失败: {exc}") from exc
        return None


def classify(exc: TwilioRestException) -> ProviderError:
    """What a Twilio error answer means for this notice."""
    code = f"twilio.{exc.code or exc.status}"
    message = exc.msg or str(exc)
    if exc.status == 429:
        return ProviderError(ErrorKind.TRANSIENT, code, message)
    if exc.status >= 500 or exc.status in (401, 403):
        return ProviderError(ErrorKind.FAULT, code, message)
    if exc.code in PERMANENT_CODES or 400 <= exc.status < 500:
        return ProviderError(ErrorKind.PERMANENT, code, message)
    return ProviderError(ErrorKind.FAULT, code, message)


def _transport(exc: Exception) -> ProviderError:
    text = str(exc)
    if "Read timed out" in text or "ReadTimeout" in type(exc).__name__:
        return ProviderError(ErrorKind.UNCERTAIN, "PROVIDER_TIMEOUT", f"Twilio 应答超时: {text}")
    return ProviderError(ErrorKind.FAULT, "PROVIDER_UNREACHABLE", f"Twilio 无法连接: {text}")
