"""A local Aliyun for Dysmsapi (SendSms, SendBatchSms, QuerySendDetails) and Dyvmsapi
(SingleCallByTts), RPC style: ``POST /`` with every parameter in the query string, signed with
HMAC-SHA1 over the canonical query (checked here), answers as JSON with a ``Code``.

Business errors come back as HTTP 200 with a ``Code`` other than ``OK``, as Aliyun does.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from esupervision.models.clocks import timesource
from esupervision.notify.mocks import MockServer, Reply, Request, post_later
from esupervision.notify.templates import TEMPLATES

# Receipts go straight to the receiver on loopback, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
CHINA = timezone(timedelta(hours=8))


def registered_templates() -> tuple[dict[str, str], dict[str, str]]:
    """A TemplateCode (SMS_...) and TtsCode (TTS_...) for each of our templates, as a real account
    would have them registered; tests and benchmarks put these in settings and in the mock."""
    sms = {code: f"SMS_{100000 + i}" for i, code in enumerate(sorted(TEMPLATES))}
    tts = {code: f"TTS_{200000 + i}" for i, code in enumerate(sorted(TEMPLATES))}
    return sms, tts


def percent(value: str) -> str:
    return quote(str(value), safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    """METHOD&%2F&the percent-encoded canonical query (every parameter, the AccessKeyId too)."""
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent('/')}&{percent(canonical)}"


def signature(method: str, params: dict[str, str], secret: str) -> str:
    """Aliyun's RPC signature: HMAC-SHA1 (key: secret + "&") over ``string_to_sign``."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Accepted:
    """One SMS or call the mock accepted."""

    biz_id: str
    action: str                 # SendSms / SingleCallByTts
    phone: str
    sign_name: str | None
    template_code: str
    params: dict[str, Any]
    out_id: str | None
    sent_at: datetime
    status: int = 1             # 1 waiting for receipt, 2 failed, 3 delivered
    err_code: str = ""
    content: str = ""
    call_id: str = ""           # SingleCallByTts: the CallId answered


@dataclass
class _Limits:
    per_minute: int = 0         # 0: none (Aliyun's per-number flow control, off unless a test asks)
    seen: dict[str, list[float]] = field(default_factory=dict)


class AliyunMock(MockServer):
    """``behave(phone, ...)`` with the 11-digit mainland number: invalid
    (isv.MOBILE_NUMBER_ILLEGAL), limit (isv.BUSINESS_LIMIT_CONTROL), fault (HTTP 503), garbage,
    timeout (answers late, but the message or call goes), undelivered (receipt SendStatus 2; a
    call not answered).

    Calls' receipts are pushed as Aliyun's HTTP batch push does when ``report_url`` is set (the
    URL configured at Aliyun: ``aliyun_reports.receipt_url``, the push secret its last path
    segment; Aliyun adds no header of ours): a VoiceCallReport (call started) and then a
    VoiceReport (its result), each a JSON array with the ``out_id`` given to SingleCallByTts and
    the ``call_id``; a push the receiver does not take (not HTTP 200) is tried again, as Aliyun
    does (here after ``report_retry_s``). QueryCallDetailByCallId answers for the calls it placed,
    with the ``callee`` as it was dialled.

    Upstream SMS (SmsUp): ``text_back(phone, content)`` is a person answering one of our SMS;
    the mock pushes it to ``upstream_url`` as Aliyun's HTTP batch push does (a JSON array of
    ``phone_number, content, send_time, dest_code, sequence_id, sign_name``; pushed again, as
    Aliyun does, while the receiver does not answer HTTP 200), and ``push_upstream`` pushes any
    batch as it is (a repeat of a sequence id, say)."""

    def __init__(self, access_key_id: str = "mock-access-key", secret: str = "mock-secret", port: int = 0,
                 sign_names: set[str] | None = None, sms_templates: dict[str, str] | None = None,
                 tts_templates: dict[str, str] | None = None) -> None:
        super().__init__(port)
        self.access_key_id = access_key_id
        self.secret = secret
        self.sign_names = sign_names or {"清河市政务服务"}
        sms, tts = registered_templates()
        # TemplateCode -> the parameter names registered with it.
        self.templates = {code: TEMPLATES[ours].params for ours, code in (sms_templates or sms).items()}
        self.templates.update({code: TEMPLATES[ours].params for ours, code in (tts_templates or tts).items()})
        self.accepted: list[Accepted] = []
        self.refused: list[tuple[str, str]] = []   # (action, code)
        self.nonces: set[str] = set()
        self.limits = _Limits()
        self.requests = 0
        self.report_url: str | None = None
        self.report_retry_s = 0.5
        self.pushed: list[dict[str, Any]] = []     # receipts the receiver took
        self.upstream_url: str | None = None
        self.upstream_answers: list[tuple[int, Any]] = []   # (HTTP status, answer) of each upstream push
        self._sequence = 1_000_000_000

    def sms(self) -> list[Accepted]:
        with self.state.lock:
            return [a for a in self.accepted if a.action in ("SendSms", "SendBatchSms")]

    def calls(self) -> list[Accepted]:
        with self.state.lock:
            return [a for a in self.accepted if a.action == "SingleCallByTts"]

    def count(self) -> int:
        with self.state.lock:
            return len(self.accepted)

    # --------------------------------------------------------------------------- serving
    def _answer(self, code: str, message: str, status: int = 200, **extra: Any) -> Reply:
        if code != "OK":
            with self.state.lock:
                self.refused.append((extra.pop("_action", ""), code))
        return Reply.json(status, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper(), **extra})

    def handle(self, request: Request) -> Reply:
        with self.state.lock:
            self.requests += 1
        if self.state.down:
            return self._answer("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503)
        if request.method != "POST" or request.path != "/":
            return self._answer("InvalidAction.NotFound", "Specified api is not found.", 404)
        params = {**request.query, **request.form}
        given = params.pop("Signature", None)
        if params.get("AccessKeyId") != self.access_key_id:
            return self._answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        if given is None or not hmac.compare_digest(given, signature("POST", params, self.secret)):
            # As Aliyun answers it: with the string it signed, AccessKeyId and phone number included.
            return self._answer("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. "
                                f"server string to sign is:{string_to_sign('POST', params)}", 400)
        nonce = params.get("SignatureNonce", "")
        with self.state.lock:
            if not nonce or nonce in self.nonces:
                return self._answer("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
            self.nonces.add(nonce)
        action = params.get("Action")
        if action == "SendSms":
            return self._send(action, params.get("PhoneNumbers", "").split(","), [params.get("SignName")],
                              params.get("TemplateCode", ""), [params.get("TemplateParam") or "{}"],
                              params.get("OutId"))
        if action == "SendBatchSms":
            try:
                phones = json.loads(params.get("PhoneNumberJson", "[]"))
                signs = json.loads(params.get("SignNameJson", "[]"))
                values = [json.dumps(v) for v in json.loads(params.get("TemplateParamJson", "[]"))]
            except ValueError:
                return self._answer("isv.INVALID_JSON_PARAM", "JSON参数不合法", _action=action)
            if not (len(phones) == len(signs) == len(values)):
                return self._answer("isv.INVALID_PARAMETERS", "参数数量不一致", _action=action)
            return self._send(action, phones, signs, params.get("TemplateCode", ""), values, params.get("OutId"))
        if action == "SingleCallByTts":
            return self._send(action, [params.get("CalledNumber", "")], [None], params.get("TtsCode", ""),
                              [params.get("TtsParam") or "{}"], params.get("OutId"))
        if action == "QuerySendDetails":
            return self._query(params)
        if action == "QueryCallDetailByCallId":
            return self._call_detail(params)
        return self._answer("InvalidAction.NotFound", f"Specified api {action} is not found.", 404)

    def _send(self, action: str, phones: list[str], signs: list[str | None], template_code: str,
              values: list[str], out_id: str | None) -> Reply:
        for phone in phones:
            behaviour = self.behaviour(phone)
            if behaviour == "fault":
                return self._answer("ServiceUnavailable", "The request has failed due to a temporary failure.", 503)
            if behaviour == "garbage":
                return Reply(200, b"<html>502 Bad Gateway</html>", "text/html")
            if behaviour == "timeout":
                self.stall()
            if behaviour == "invalid" or not MOBILE.match(phone):
                return self._answer("isv.MOBILE_NUMBER_ILLEGAL", f"非法手机号 {phone}", _action=action)
            if behaviour == "limit" or not self._within_limit(phone):
                return self._answer("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", _action=action)
        if action != "SingleCallByTts" and any(s not in self.sign_names for s in signs):
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", _action=action)
        if template_code not in self.templates:
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", _action=action)
        parsed = []
        for value in values:
            try:
                given = json.loads(value)
            except ValueError:
                return self._answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", _action=action)
            if not isinstance(given, dict) or set(given) != set(self.templates[template_code]):
                return self._answer("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量", _action=action)
            parsed.append(given)
        biz_id = f"{secrets.randbelow(10**15):015d}^{secrets.randbelow(10**10):010d}"
        now = timesource.now().astimezone(CHINA)
        with self.state.lock:
            for phone, sign, given in zip(phones, signs, parsed, strict=True):
                record = Accepted(biz_id=biz_id, action=action, phone=phone, sign_name=sign,
                                  template_code=template_code, params=given, out_id=out_id, sent_at=now,
                                  content=json.dumps(given, ensure_ascii=False))
                if self.state.behaviours.get(phone) == "undelivered":
                    record.status, record.err_code = 2, "MOBILE_NOT_ON_SERVICE"
                else:
                    record.status, record.err_code = 3, "DELIVERED"
                self.accepted.append(record)
        if action == "SingleCallByTts":
            call_id = f"{biz_id.split('^')[0]}^{secrets.randbelow(10**12)}"
            with self.state.lock:
                record.call_id = call_id
            self._push_reports(record)
            return self._answer("OK", "OK", CallId=call_id)
        return self._answer("OK", "OK", BizId=biz_id)

    def _call_detail(self, params: dict[str, str]) -> Reply:
        call_id, prod, day = params.get("CallId", ""), params.get("ProdId", ""), params.get("QueryDate", "")
        if not call_id or not prod.isdigit() or not day.isdigit():
            return self._answer("isv.INVALID_PARAMETERS", "参数异常", _action="QueryCallDetailByCallId")
        # Aliyun searches the 24 hours from QueryDate (milliseconds since the epoch).
        since = datetime.fromtimestamp(int(day) / 1000, CHINA)
        with self.state.lock:
            call = next((a for a in self.accepted if a.call_id == call_id
                         and since <= a.sent_at < since + timedelta(hours=24)), None)
        if call is None:
            return self._answer("OK", "OK", Data="")
        heard = call.status == 3
        at = call.sent_at.strftime("%Y-%m-%d %H:%M:%S")
        return self._answer("OK", "OK", Data=json.dumps({
            "caller": "057100000000", "callee": call.phone, "state": "200000" if heard else "200003",
            "stateDesc": "用户听完语音" if heard else "用户收到呼叫但未接听", "duration": 12 if heard else 0,
            "gmtCreate": at, "startDate": at if heard else "", "endDate": at}, ensure_ascii=False))

    # --------------------------------------------------------------------------- receipts
    def _push_reports(self, call: Accepted) -> None:
        """The call's VoiceCallReport, then its VoiceReport, to ``report_url`` (if set)."""
        url = self.report_url
        if not url:
            return
        at = call.sent_at.strftime("%Y-%m-%d %H:%M:%S")
        started = {"call_id": call.call_id, "status_code": "200101", "status_time": at, "out_id": call.out_id or ""}
        heard = call.status == 3
        result = {"call_id": call.call_id, "status_code": "200000" if heard else "200003", "callee": call.phone,
                  "caller": "057100000000", "duration": "12" if heard else "0", "voice_type": "voice",
                  "originate_time": at, "start_time": at if heard else "", "end_time": at,
                  "status_msg": "用户听完语音" if heard else "用户收到呼叫但未接听", "out_id": call.out_id or ""}

        def push_both() -> None:
            self._push(url, [started])
            self._push(url, [result])
        post_later(push_both)

    def _push(self, url: str, reports: list[dict[str, Any]], tries: int = 3) -> None:
        body = json.dumps(reports, ensure_ascii=False).encode()
        for attempt in range(tries):
            request = urllib.request.Request(url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with _DIRECT.open(request, timeout=5) as answer:
                    if answer.status == 200:
                        with self.state.lock:
                            self.pushed.extend(reports)
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(self.report_retry_s)

    # --------------------------------------------------------------------------- upstream SMS
    def upstream_message(self, phone: str, content: str, *, dest_code: str = "1234",
                         at: datetime | None = None) -> dict[str, Any]:
        """One SmsUp item as Aliyun writes it: the 11-digit number, China time, a new sequence id."""
        with self.state.lock:
            self._sequence += 1
            sequence = self._sequence
        sent = (at or timesource.now()).astimezone(CHINA)
        return {"phone_number": phone[-11:], "content": content, "send_time": sent.strftime("%Y-%m-%d %H:%M:%S"),
                "dest_code": dest_code, "sequence_id": sequence, "sign_name": next(iter(self.sign_names))}

    def text_back(self, phone: str, content: str, **kwargs: Any) -> dict[str, Any]:
        """A person texts ``content`` from ``phone`` to our SMS number: pushed to ``upstream_url``
        at once (retried as Aliyun does); the item pushed."""
        message = self.upstream_message(phone, content, **kwargs)
        self.push_upstream([message])
        return message

    def push_upstream(self, messages: list[dict[str, Any]], tries: int = 3) -> int:
        """POST ``messages`` to ``upstream_url`` as one batch, again after ``report_retry_s`` while
        the answer is not HTTP 200 (Aliyun: after 1, 5 and 10 minutes); the last HTTP status."""
        if not self.upstream_url:
            raise RuntimeError("no upstream_url: the receiver Aliyun would push to")
        body = json.dumps(messages, ensure_ascii=False).encode()
        status = 0
        for attempt in range(tries):
            request = urllib.request.Request(self.upstream_url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with _DIRECT.open(request, timeout=10) as answer:
                    status, document = answer.status, json.loads(answer.read() or b"null")
            except urllib.error.HTTPError as refused:
                status, document = refused.code, None
            except (urllib.error.URLError, OSError, ValueError):
                status, document = 0, None
            with self.state.lock:
                self.upstream_answers.append((status, document))
            # Aliyun checks only that the answer is HTTP 200 with a numeric code.
            if status == 200 and isinstance(document, dict) and isinstance(document.get("code"), int):
                return status
            if attempt + 1 < tries:
                time.sleep(self.report_retry_s)
        return status

    def _within_limit(self, phone: str) -> bool:
        if not self.limits.per_minute:
            return True
        now = time.monotonic()
        with self.state.lock:
            recent = [t for t in self.limits.seen.get(phone, []) if now - t < 60]
            if len(recent) >= self.limits.per_minute:
                return False
            self.limits.seen[phone] = [*recent, now]
        return True

    def _query(self, params: dict[str, str]) -> Reply:
        phone, day = params.get("PhoneNumber", ""), params.get("SendDate", "")
        if not phone or not re.fullmatch(r"\d{8}", day):
            return self._answer("isv.INVALID_PARAMETERS", "参数异常", _action="QuerySendDetails")
        page, size = int(params.get("CurrentPage", 1)), min(int(params.get("PageSize", 10)), 50)
        with self.state.lock:
            found = [a for a in self.accepted if a.phone == phone and a.sent_at.strftime("%Y%m%d") == day
                     and a.action != "SingleCallByTts"
                     and (not params.get("BizId") or a.biz_id == params["BizId"])]
        chunk = found[(page - 1) * size: page * size]
        details = [{"PhoneNum": a.phone, "SendStatus": a.status, "ErrCode": a.err_code,
                    "TemplateCode": a.template_code, "Content": a.content, "OutId": a.out_id or "",
                    "SendDate": a.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
                    "ReceiveDate": a.sent_at.strftime("%Y-%m-%d %H:%M:%S") if a.status != 1 else ""}
                   for a in chunk]
        return self._answer("OK", "OK", TotalCount=len(found), SmsSendDetailDTOs={"SmsSendDetailDTO": details})
