"""An inbound SMS through the real Twilio webhook, signed the way Twilio signs it: what an
applicant's or the public's text reaches, for tests of complaints, ratings and status replies."""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from esupervision.api.webhooks import twilio_routes
from esupervision.settings import Settings

TOKEN = "webhook-test-token"
SMS_URL = "http://testserver/webhooks/twilio/sms"


def sms_sender(engine: Engine) -> Callable[[str, str], str]:
    """``send(sender, body)`` posts a signed inbound SMS and returns the TwiML answer."""
    client = TestClient(Starlette(routes=twilio_routes(engine, Settings(twilio_auth_token=TOKEN,
                                                                         public_url="http://testserver"))))

    def send(sender: str, body: str) -> str:
        form = {"From": sender, "Body": body}
        signature = RequestValidator(TOKEN).compute_signature(SMS_URL, form)
        answer = client.post("/webhooks/twilio/sms", content=urlencode(form), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        assert answer.status_code == 200
        return answer.text
    return send
