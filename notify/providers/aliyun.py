"""Aliyun: SMS through Dysmsapi (SendSms, SendBatchSms, QuerySendDetails) and voice through
Dyvmsapi (SingleCallByTts), with the registered SignName and each template's TemplateCode.

Aliyun answers business errors as HTTP 200 with a ``Code`` other than ``OK`` and the SDK raises
nothing for them: every answer's ``Code`` is checked here.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkdysmsapi.request.v20170525.QuerySendDetailsRequest import QuerySendDetailsRequest
from aliyunsdkdysmsapi.request.v20170525.SendBatchSmsRequest import SendBatchSmsRequest
from aliyunsdkdysmsapi.request.v20170525.SendSmsRequest import SendSmsRequest
from aliyunsdkdyvmsapi.request.v20170525.QueryCallDetailByCallIdRequest import QueryCallDetailByCallIdRequest
from aliyunsdkdyvmsapi.request.v20170525.SingleCallByTtsRequest import SingleCallByTtsRequest

from esupervision.models.clocks import timesource
from esupervision.models.notices.phones import is_mainland, national
from esupervision.notify.providers import ErrorKind, Outgoing, ProviderError, Receipt
from esupervision.settings import Settings

CHINA = ZoneInfo("Asia/Shanghai")
# How long after its claim an attempt can reach Aliyun: the claim lease (two minutes by default),
# a slow request and the two clocks' skew, with room to spare.
SEND_WINDOW = timedelta(minutes=10)
VOICE_NOTICE_PRODUCT = 11000000300006   # Dyvmsapi's ProdId of voice notifications (SingleCallByTts)
PERMANENT = frozenset({
    "isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.INVALID_PARAMETERS", "isv.PARAM_LENGTH_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_JSON_PARAM", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
    "isv.PARAM_NOT_SUPPORT_URL", "isv.EXTEND_CODE_ERROR", "isv.SMS_SIGN_ILLEGAL",
})
# Aliyun's own per-number flow control: the same message may go later, not elsewhere.
TRANSIENT = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling.User",
                       "Throttling", "isv.OUT_OF_SERVICE_LIMIT"})


def check(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` if its Code is OK; else the ProviderError its Code means."""
    code = str(answer.get("Code") or "")
    if code == "OK":
        return answer
    message = str(answer.get("Message") or code or "no Code in answer")
    if code in PERMANENT:
        raise ProviderError(ErrorKind.PERMANENT, code, message)
    if code in TRANSIENT:
        raise ProviderError(ErrorKind.TRANSIENT, code, message)
    raise ProviderError(ErrorKind.FAULT, code or "PROVIDER_GARBAGE", message)


class AliyunProvider:
    name = "aliyun"
    channels = frozenset({"sms", "voice"})

    def __init__(self, settings: Settings) -> None:
        if not (settings.aliyun_access_key_id and settings.aliyun_access_key_secret):
            raise ValueError("Aliyun needs ESV_ALIYUN_ACCESS_KEY_ID and ESV_ALIYUN_ACCESS_KEY_SECRET")
        timeout = max(1, round(settings.provider_timeout_s))
        # proxy: the SDK ignores NO_PROXY, so name "no proxy" explicitly.
        self.client = AcsClient(settings.aliyun_access_key_id, settings.aliyun_access_key_secret,
                                settings.aliyun_region, auto_retry=False, connect_timeout=timeout,
                                timeout=timeout, proxy={"http": None, "https": None})
        if settings.aliyun_endpoint:
            for product in ("Dysmsapi", "Dyvmsapi"):
                self.client.add_endpoint(settings.aliyun_region, product, settings.aliyun_endpoint)
        self.sign_name = settings.aliyun_sign_name
        self.sms_templates = settings.aliyun_sms_templates
        self.tts_templates = settings.aliyun_tts_templates
        self.show_number = settings.aliyun_called_show_number
        self.report_wait_s = settings.aliyun_call_report_wait_s

    # --------------------------------------------------------------------------- calling
    def _call(self, request: Any) -> dict[str, Any]:
        try:
            raw = self.client.do_action_with_exception(request)
        except ServerException as exc:
            code = exc.get_error_code()
            if code in PERMANENT:
                raise ProviderError(ErrorKind.PERMANENT, code, exc.get_error_msg()) from exc
            raise ProviderError(ErrorKind.FAULT, code or "PROVIDER_ERROR", exc.get_error_msg()) from exc
        except ClientException as exc:
            text = exc.get_error_msg()
            kind = ErrorKind.UNCERTAIN if "timed out" in text.lower() else ErrorKind.FAULT
            raise ProviderError(kind, "PROVIDER_TIMEOUT" if kind is ErrorKind.UNCERTAIN else "PROVIDER_UNREACHABLE",
                                f"阿里云无法连接或超时: {text}") from exc
        try:
            answer = json.loads(raw)
        except (ValueError, TypeError) as exc:
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE",
                                f"阿里云返回无法解析的应答: {str(raw)[:80]!r}") from exc
        if not isinstance(answer, dict):
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE", "阿里云应答不是 JSON 对象")
        return check(answer)

    @staticmethod
    def _phone(e164: str) -> str:
        if not is_mainland(e164):
            raise ProviderError(ErrorKind.FAULT, "ALIYUN_MAINLAND_ONLY", f"阿里云只发大陆号码 (not +86: {e164})")
        return national(e164)

    def _template(self, codes: dict[str, str], template: str) -> str:
        code = codes.get(template)
        if not code:
            raise ProviderError(ErrorKind.FAULT, "ALIYUN_TEMPLATE_UNMAPPED",
                                f"模板 {template} 未配置阿里云 TemplateCode (ESV_ALIYUN_*_TEMPLATES)")
        return code

    @staticmethod
    def _values(params: dict[str, Any]) -> str:
        # Aliyun takes string values only.
        return json.dumps({k: str(v) for k, v in params.items()}, ensure_ascii=False)

    def send(self, message: Outgoing) -> str:
        phone = self._phone(message.to)
        if message.channel == "voice":
            request = SingleCallByTtsRequest()
            request.set_CalledNumber(phone)
            if self.show_number:
                request.set_CalledShowNumber(self.show_number)
            request.set_TtsCode(self._template(self.tts_templates, message.template))
            request.set_TtsParam(self._values(message.params))
            request.set_OutId(message.notice_id)
            answer = self._call(request)
            key = "CallId"
        else:
            request = SendSmsRequest()
            request.set_PhoneNumbers(phone)
            request.set_SignName(self.sign_name)
            request.set_TemplateCode(self._template(self.sms_templates, message.template))
            request.set_TemplateParam(self._values(message.params))
            request.set_OutId(message.notice_id)
            answer = self._call(request)
            key = "BizId"
        if not answer.get(key):
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE", f"阿里云应答缺少 {key}")
        return str(answer[key])

    def send_batch(self, messages: Sequence[Outgoing]) -> str:
        """One SendBatchSms for messages of the same template (Aliyun takes up to 100)."""
        templates = {m.template for m in messages}
        if len(templates) != 1 or any(m.channel != "sms" for m in messages) or not 0 < len(messages) <= 100:
            raise ValueError("a batch is 1 to 100 SMS of one template")
        request = SendBatchSmsRequest()
        request.set_PhoneNumberJson(json.dumps([self._phone(m.to) for m in messages]))
        request.set_SignNameJson(json.dumps([self.sign_name] * len(messages), ensure_ascii=False))
        request.set_TemplateCode(self._template(self.sms_templates, templates.pop()))
        request.set_TemplateParamJson(json.dumps([{k: str(v) for k, v in m.params.items()} for m in messages],
                                                 ensure_ascii=False))
        return str(self._call(request)["BizId"])

    def details(self, e164: str, day: datetime, *, biz_id: str | None = None) -> list[dict[str, Any]]:
        """Every SMS receipt Aliyun holds for a number on a (China) day, all pages."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            request = QuerySendDetailsRequest()
            request.set_PhoneNumber(self._phone(e164))
            request.set_SendDate(day.astimezone(CHINA).strftime("%Y%m%d"))
            request.set_PageSize(50)
            request.set_CurrentPage(page)
            if biz_id:
                request.set_BizId(biz_id)
            answer = self._call(request)
            rows = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            found.extend(rows)
            if not rows or len(found) >= int(answer.get("TotalCount") or 0):
                return found
            page += 1

    def receipts(self, e164: str, day: datetime) -> dict[str, Receipt]:
        """Receipts of a number's SMS of a day, keyed by OutId (our notice id)."""
        status = {1: "sent", 2: "undelivered", 3: "delivered"}
        return {row["OutId"]: Receipt("", status.get(int(row.get("SendStatus") or 1), "sent"),
                                      row.get("ErrCode") or None)
                for row in self.details(e164, day) if row.get("OutId")}

    def find(self, message: Outgoing) -> str | None:
        if message.channel == "voice":
            return self._find_call(message)
        # Aliyun files a message under the China day it was sent: an attempt claimed just before
        # midnight may be filed under the next day, so both are searched then.
        days = [message.claimed_at]
        if (message.claimed_at + SEND_WINDOW).astimezone(CHINA).date() != message.claimed_at.astimezone(CHINA).date():
            days.append(message.claimed_at + SEND_WINDOW)
        for day in days:
            for row in self.details(message.to, day):
                if row.get("OutId") == message.notice_id:
                    return f"out:{message.notice_id}"
        return None

    def call_detail(self, call_id: str, placed_at: datetime) -> dict[str, Any] | None:
        """QueryCallDetailByCallId: the call's record (``state`` is its status code), or None while
        Aliyun has none (the day after ``placed_at`` is searched)."""
        request = QueryCallDetailByCallIdRequest()
        request.set_CallId(call_id)
        request.set_ProdId(VOICE_NOTICE_PRODUCT)
        request.set_QueryDate(int(placed_at.timestamp() * 1000))
        data = self._call(request).get("Data")
        if not data:
            return None
        try:
            detail = json.loads(data) if isinstance(data, str) else data
        except ValueError as exc:
            raise ProviderError(ErrorKind.FAULT, "PROVIDER_GARBAGE", "阿里云呼叫详情无法解析") from exc
        return detail if isinstance(detail, dict) else None

    def _find_call(self, message: Outgoing) -> str | None:
        """Whether an earlier attempt placed this call. Dyvmsapi has no lookup by our OutId; the
        call's receipts (VoiceCallReport, VoiceReport) carry it and are recorded on the notice as
        they arrive (``notify/aliyun_reports.py``), so a notice still claimed has none yet. Within
        the push horizon after the attempt that says nothing: UNCERTAIN (ask again later); past
        it, the call was never placed."""
        waited = (timesource.now() - message.claimed_at).total_seconds()
        if waited < self.report_wait_s:
            raise ProviderError(ErrorKind.UNCERTAIN, "ALIYUN_CALL_UNCONFIRMED",
                                f"阿里云尚未回执此前的呼叫，{round(self.report_wait_s - waited)} 秒内不重拨"
                                f" (no receipt for OutId {message.notice_id} yet)")
        return None
