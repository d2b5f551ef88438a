"""Twilio as the webhooks see it: signed form posts, TwiML parsed as XML.

Requests are signed with the twilio library's own RequestValidator over the public URL
(PUBLIC_BASE_URL + path + query string) and the parameters, exactly as Twilio signs them.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client, TestCase
from twilio.request_validator import RequestValidator

import telephony.tasks  # noqa: F401 - registers the booking run here, so `incoming_call` runs it inline
from escalation.models import EscalationPolicy, EscalationStep
from tests.escalation.conftest import make_oncall_user
from tests.notifications.fakes import FakeTwilio as FakeTwilioApi

TOKEN = "twilio-test-auth-token-0123456789"
ACCOUNT_SID = "AC" + "a" * 32
BASE = "https://support.example.com"  # what Twilio calls: a TLS proxy in front of the app
SUPPORT_LINE = "+14155550100"
ON_CALL = "+14155550111"
NEXT_ON_CALL = "+14155550122"
CALLER = "+14155550199"
DANA = "+14155550101"
ELI = "+14155550102"


# For tests whose transactions really commit. With serialized_rollback the flush after each
# skips post_migrate, which would recreate the auth groups under new ids and break the next
# serialized test's reload of the migrated rows (tests/escalation); those rows are reloaded
# before each of these tests instead.
COMMITTING = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def signed_url(path: str, query: str = "") -> str:
    return f"{BASE}{path}" + (f"?{query}" if query else "")


class FakeTwilio:
    """Posts to the webhooks the way Twilio does."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(
        self,
        path: str,
        params: dict[str, Any],
        *,
        query: str = "",
        token: str = TOKEN,
        sign_url: str | None = None,
        signature: str | None = None,
    ) -> Any:
        params = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", **params}
        if signature is None:
            signature = RequestValidator(token).compute_signature(sign_url or signed_url(path, query), params)
        headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
        target = f"{path}?{query}" if query else path
        return self.client.post(target, params, **headers)

    # The requests of one call, with the parameters Twilio sends.
    def incoming_call(self, call_sid: str, caller: str = CALLER, *, attach: bool = True, **extra: Any) -> Any:
        """The inbound-call webhook, then (attach=True) the worker running the booking run it
        queued on commit. attach=False leaves the run unqueued, as if later callbacks overtook
        it or it was lost."""
        params = {"CallSid": call_sid, "From": caller, "To": SUPPORT_LINE, "Caller": caller,
                  "Called": SUPPORT_LINE, "CallStatus": "ringing", "Direction": "inbound", **extra}  # fmt: skip
        with TestCase.captureOnCommitCallbacks() as queued:
            response = self.post("/webhooks/twilio/voice", params)
        if attach:
            with celery_inline():
                for publish in queued:
                    publish()
        return response

    def dial_result(self, call_sid: str, attempt: int, status: str, **extra: Any) -> Any:
        params = {"CallSid": call_sid, "DialCallStatus": status, "DialCallSid": sid("CA"),
                  "CallStatus": "in-progress", "From": CALLER, "To": SUPPORT_LINE, **extra}  # fmt: skip
        return self.post("/webhooks/twilio/voice/dial", params, query=f"attempt={attempt}")

    def status(self, call_sid: str, status: str, **extra: Any) -> Any:
        params = {"CallSid": call_sid, "CallStatus": status, "From": CALLER, "To": SUPPORT_LINE, **extra}
        return self.post("/webhooks/twilio/voice/status", params)

    def recording(
        self, call_sid: str, recording_sid: str, *, status: str | None = "completed", duration: int = 42
    ) -> Any:
        params = {"CallSid": call_sid, "RecordingSid": recording_sid, "RecordingDuration": str(duration),
                  "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"}  # fmt: skip
        if status is not None:
            params["RecordingStatus"] = status
        return self.post("/webhooks/twilio/voice/recording", params)

    def transcription(
        self, call_sid: str, transcription_sid: str, text: str, status: str = "completed"
    ) -> Any:
        params = {"CallSid": call_sid, "TranscriptionSid": transcription_sid, "TranscriptionText": text,
                  "TranscriptionStatus": status, "RecordingSid": sid("RE")}  # fmt: skip
        return self.post("/webhooks/twilio/voice/transcription", params)

    def sms(self, message_sid: str, body: str, sender: str = CALLER, **extra: Any) -> Any:
        params = {"MessageSid": message_sid, "SmsSid": message_sid, "From": sender, "To": SUPPORT_LINE,
                  "Body": body, "NumMedia": "0", **extra}  # fmt: skip
        return self.post("/webhooks/twilio/sms", params)


@contextmanager
def celery_inline() -> Iterator[None]:
    """Tasks published inside run at once in this process (errors raised), as a worker would."""
    from supporthub.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def parse_twiml(content: bytes) -> ET.Element:
    return ET.fromstring(content)  # noqa: S314 - our own server's answer


def twiml(response: Any) -> ET.Element:
    """The response's TwiML document, checked to be a 200 text/xml <Response>."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = parse_twiml(response.content)
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE
    settings.SUPPORT_FORWARD_NUMBER = ON_CALL
    settings.TELEPHONY_RING_SECONDS = 20
    settings.TELEPHONY_DIAL_ATTEMPTS = 2
    return settings


@pytest.fixture
def twilio(db, client) -> FakeTwilio:
    return FakeTwilio(client)


@pytest.fixture
def queued_bookings(monkeypatch) -> list[str]:
    """One entry per booking run queued, in tests whose transactions really commit (the webhook
    publishes at once there); nothing reaches the broker."""
    from telephony.tasks import calls_book_pending

    queued: list[str] = []
    monkeypatch.setattr(calls_book_pending, "apply_async", lambda *_, **__: queued.append("run"))
    return queued


@pytest.fixture
def on_call_chain(monkeypatch):
    """Set who is on call, in order. Stands in for escalation's schedule until it is merged."""

    def set_chain(*numbers: str) -> None:
        monkeypatch.setattr("telephony.oncall._phone_chain", lambda: list(numbers))

    return set_chain


@pytest.fixture
def twilio_api(settings):
    """The Twilio REST API the real client places calls with."""
    with FakeTwilioApi().running() as server:
        settings.TWILIO_FROM_NUMBER = "+14155550100"
        settings.TWILIO_API_BASE_URL = server.url
        yield server


@pytest.fixture
def policy(db, settings):
    """Call dana, wait 10 minutes, then call eli."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    dana, eli = make_oncall_user("dana", DANA), make_oncall_user("eli", ELI)
    policy = EscalationPolicy.objects.create(name="Calls")
    EscalationStep.objects.create(policy=policy, position=1, kind="user", user=dana, wait_minutes=10)
    EscalationStep.objects.create(policy=policy, position=2, kind="user", user=eli, wait_minutes=10)
    return policy
