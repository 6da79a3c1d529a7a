"""The case-status line for a mainland phone number, through the center's CTI gateway.

Aliyun's voice service (Dyvmsapi) places calls (SingleCallByTts, IvrCall with a fixed menu,
SmartCall) but answers none: a hotline people dial in to (a 0xxx number, the 12345 line) ends at
a CTI gateway: the center's PBX or call-center platform (FreeSWITCH, Asterisk, Aliyun's Cloud
Call Center IVR flow …). It plays the greeting, collects the case number by keypad and asks here
what to say: ``POST /webhooks/cti/case/<ESV_CTI_TOKEN>`` with ``{"caller": "13800138000",
"digits": "2026112600001"}``, answered ``{"code": 0, "text": "办件…正在办理…"}`` for its TTS. The
words are those of the Twilio line and the SMS answer (``notify/enquiry.py``): only the
applicant's own phone hears the status.

The secret is the last path segment (a gateway's HTTP node rarely signs requests); the log
redaction masks it. Unset: the line is not served (404).
"""
from __future__ import annotations

import hmac
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from esupervision.models.clocks import timesource
from esupervision.notify.enquiry import status_reply
from esupervision.settings import Settings

CTI_PATH = "/webhooks/cti/case"
# What the gateway says before it collects the number (for its own configuration).
GREETING = "您好，这里是行政服务中心办件查询。请输入办件编号中的数字，以井号键结束。"


def cti_routes(engine: Engine, settings: Settings) -> list[Route]:
    """The status endpoint a CTI gateway asks (none without the setting ``cti_token``)."""

    async def case(request: Request) -> JSONResponse:
        token = settings.cti_token
        if not token or not hmac.compare_digest(request.path_params.get("token", "").encode(), token.encode()):
            return JSONResponse({"code": 403, "msg": "forbidden"}, status_code=403)
        try:
            asked = json.loads(await request.body())
        except ValueError:
            asked = None
        if not isinstance(asked, dict) or not isinstance(asked.get("digits", ""), str):
            return JSONResponse({"code": 400, "msg": "expected {\"caller\": …, \"digits\": …}"}, status_code=400)
        caller, digits = str(asked.get("caller") or ""), asked.get("digits") or ""

        def answer() -> str:
            words = digits.strip().rstrip("#").split()
            with Session(engine) as session:
                return status_reply(session, words[-1] if words else "", caller, now=timesource.now(),
                                    tz=settings.timezone, region=settings.default_region)
        return JSONResponse({"code": 0, "text": await run_in_threadpool(answer)})

    return [Route(CTI_PATH + "/{token}", case, methods=["POST"])] if settings.cti_token else []
