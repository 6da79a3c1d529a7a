"""A local Twilio: the Messages and Calls resources of API 2010-04-01, with Basic auth, Twilio's
error documents and status callbacks signed with ``X-Twilio-Signature`` as Twilio signs them."""
from __future__ import annotations

import base64
import http.client
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from esupervision.models.clocks import timesource
from esupervision.notify.mocks import MockServer, Reply, Request, post_later

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
RESOURCE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<kind>Messages|Calls)(?:/(?P<sid>[^/.]+))?\.json$")


@dataclass
class Sent:
    """One message or call the mock accepted."""

    sid: str
    kind: str                     # "sms" / "voice"
    to: str
    from_: str
    body: str                     # the SMS text, or the call's TwiML
    status_callback: str | None
    created_at: datetime
    status: str = "queued"
    error_code: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    def resource(self, account: str) -> dict[str, Any]:
        stamp = format_datetime(self.created_at)
        if self.kind == "sms":
            return {"sid": self.sid, "account_sid": account, "to": self.to, "from": self.from_,
                    "body": self.body, "status": self.status, "direction": "outbound-api",
                    "date_created": stamp, "date_updated": stamp, "date_sent": stamp,
                    "error_code": self.error_code, "error_message": None, "num_segments": "1",
                    "num_media": "0", "price": None, "price_unit": "USD", "api_version": "2010-04-01",
                    "messaging_service_sid": None,
                    "uri": f"/2010-04-01/Accounts/{account}/Messages/{self.sid}.json", "subresource_uris": {}}
        return {"sid": self.sid, "account_sid": account, "to": self.to, "from": self.from_,
                "status": self.status, "direction": "outbound-api", "date_created": stamp,
                "date_updated": stamp, "start_time": None, "end_time": None, "duration": None,
                "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{account}/Calls/{self.sid}.json",
                "subresource_uris": {}}


def _error(status: int, code: int, message: str) -> Reply:
    return Reply.json(status, {"code": code, "message": message, "status": status,
                               "more_info": f"https://www.twilio.com/docs/errors/{code}"})


class TwilioMock(MockServer):
    """Accepts what a real account would; ``behave(to, ...)`` makes one number misbehave:
    invalid (21211), limit (429, 20429), fault (500), garbage (200, not JSON), timeout (stalls),
    undelivered (accepted, then an ``undelivered`` callback with 30003)."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "mock-auth-token",
                 port: int = 0, callback_delay: float = 0.0, send_callbacks: bool = True) -> None:
        super().__init__(port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.send_callbacks = send_callbacks
        self.sent: list[Sent] = []
        self.callbacks: list[tuple[str, dict[str, str], int]] = []   # url, params, answer status
        self.validator = RequestValidator(auth_token)

    # --------------------------------------------------------------------------- reading
    def messages(self, kind: str = "sms") -> list[Sent]:
        with self.state.lock:
            return [s for s in self.sent if s.kind == kind]

    def count(self) -> int:
        with self.state.lock:
            return len(self.sent)

    # --------------------------------------------------------------------------- serving
    def handle(self, request: Request) -> Reply:
        if self.state.down:
            return _error(503, 20503, "Service Unavailable")
        match = RESOURCE.match(request.path)
        if not match:
            return _error(404, 20404, "The requested resource was not found")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected or match["account"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        kind = "sms" if match["kind"] == "Messages" else "voice"
        if request.method == "GET":
            return self._list(kind, request.query, match["sid"])
        if request.method == "POST" and not match["sid"]:
            return self._create(kind, request.form)
        return _error(405, 20004, "Method not allowed")

    def _list(self, kind: str, query: dict[str, str], sid: str | None) -> Reply:
        with self.state.lock:
            found = [s for s in self.sent if s.kind == kind and (sid is None or s.sid == sid)
                     and ("To" not in query or s.to == query["To"])]
        if sid is not None:
            return Reply.json(200, found[0].resource(self.account_sid)) if found else \
                _error(404, 20404, "The requested resource was not found")
        key = "messages" if kind == "sms" else "calls"
        return Reply.json(200, {key: [s.resource(self.account_sid) for s in found], "end": max(0, len(found) - 1),
                                "first_page_uri": "", "next_page_uri": None, "page": 0,
                                "page_size": max(50, len(found)), "previous_page_uri": None, "start": 0, "uri": ""})

    def _create(self, kind: str, form: dict[str, str]) -> Reply:
        to, from_ = form.get("To", ""), form.get("From", "")
        body = form.get("Body", "") if kind == "sms" else form.get("Twiml", form.get("Url", ""))
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not from_:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602 if kind == "sms" else 21205, "Message body is required." if kind == "sms"
                          else "Url parameter is required.")
        behaviour = self.behaviour(to)
        if behaviour == "invalid" or not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if behaviour == "limit":
            return _error(429, 20429, "Too Many Requests")
        if behaviour == "fault":
            return _error(500, 20500, "Internal Server Error")
        if behaviour == "garbage":
            return Reply(200, b"<html>upstream gateway says hello</html>", "text/html")
        if behaviour == "timeout":
            self.stall()
        sent = Sent(sid=("SM" if kind == "sms" else "CA") + secrets.token_hex(16), kind=kind, to=to,
                    from_=from_, body=body, status_callback=form.get("StatusCallback"),
                    created_at=timesource.now(), params=dict(form))
        with self.state.lock:
            self.sent.append(sent)
        if sent.status_callback and self.send_callbacks:
            final = ("undelivered" if kind == "sms" else "failed") if behaviour == "undelivered" else \
                ("delivered" if kind == "sms" else "completed")
            post_later(lambda: self._callbacks(sent, final), self.callback_delay)
        return Reply.json(201, sent.resource(self.account_sid))

    # --------------------------------------------------------------------------- callbacks
    def _callbacks(self, sent: Sent, final: str) -> None:
        steps = ["sent", final] if sent.kind == "sms" else ["ringing", final]
        for status in steps:
            sent.status = status
            if status in ("undelivered", "failed"):
                sent.error_code = 30003
            self.callback(sent, status)

    def callback_params(self, sent: Sent, status: str) -> dict[str, str]:
        if sent.kind == "sms":
            params = {"AccountSid": self.account_sid, "MessageSid": sent.sid, "SmsSid": sent.sid,
                      "MessageStatus": status, "SmsStatus": status, "To": sent.to, "From": sent.from_,
                      "ApiVersion": "2010-04-01"}
        else:
            params = {"AccountSid": self.account_sid, "CallSid": sent.sid, "CallStatus": status,
                      "To": sent.to, "From": sent.from_, "ApiVersion": "2010-04-01", "Direction": "outbound-api"}
        if sent.error_code and status in ("undelivered", "failed"):
            params["ErrorCode"] = str(sent.error_code)
        return params

    def callback(self, sent: Sent, status: str, *, signature: str | None = None) -> int:
        """POST a status callback for ``sent``, signed unless ``signature`` says otherwise."""
        assert sent.status_callback
        params = self.callback_params(sent, status)
        return self.post_signed(sent.status_callback, params, signature=signature)

    def post_signed(self, url: str, params: dict[str, str], *, signature: str | None = None) -> int:
        """POST ``params`` to ``url`` as Twilio does: form-encoded, with X-Twilio-Signature."""
        signed = signature if signature is not None else self.validator.compute_signature(url, params)
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signed,
                       "I-Twilio-Idempotency-Token": str(uuid.uuid4()), "User-Agent": "TwilioProxy/1.1"}
            connection.request("POST", path, body=urlencode(params), headers=headers)
            status = connection.getresponse().status
        finally:
            connection.close()
        with self.state.lock:
            self.callbacks.append((url, params, status))
        return status
