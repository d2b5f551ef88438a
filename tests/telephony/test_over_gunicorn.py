"""The call flow through a real gunicorn behind a pretend TLS proxy (PUBLIC_BASE_URL differs)."""

import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from twilio.request_validator import RequestValidator

from telephony.models import CallLog
from tests.services import EVENTUALLY, REQUEST_TIMEOUT, celery_worker, gunicorn_server
from tests.telephony.conftest import (
    ACCOUNT_SID,
    BASE,
    CALLER,
    COMMITTING,
    ON_CALL,
    SUPPORT_LINE,
    TOKEN,
    parse_twiml,
    sid,
)
from tickets.models import Message

pytestmark = [pytest.mark.integration, COMMITTING]


def twilio_post(server: str, path: str, params: dict[str, str], token: str = TOKEN) -> tuple[int, bytes]:
    """POST as Twilio would: to the server, signed over the public URL Twilio was given."""
    signature = RequestValidator(token).compute_signature(BASE + path, params)
    request = urllib.request.Request(
        server + path,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


ENV = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": BASE,
       "SUPPORT_FORWARD_NUMBER": ON_CALL}  # fmt: skip


def test_a_signed_call_flow_runs_end_to_end_over_http(tmp_path):
    call_sid = sid("CA")
    with gunicorn_server(tmp_path, **ENV) as server:
        status, body = twilio_post(server, "/webhooks/twilio/voice", {"CallSid": call_sid, "From": CALLER,
                                                                       "To": SUPPORT_LINE})  # fmt: skip
        assert status == 200, body
        dial = parse_twiml(body).find("Dial")
        assert dial.find("Number").text == ON_CALL
        action = urllib.parse.urlsplit(dial.get("action"))
        dial_path = f"{action.path}?{action.query}"
        status, body = twilio_post(server, dial_path, {"CallSid": call_sid, "DialCallStatus": "completed"})
        assert status == 200, body
        assert [verb.tag for verb in parse_twiml(body)] == ["Say", "Hangup"]
        status, _ = twilio_post(server, "/webhooks/twilio/voice/status",
                                {"CallSid": call_sid, "CallStatus": "completed", "CallDuration": "9"})  # fmt: skip
        assert status == 200
        forged, _ = twilio_post(server, "/webhooks/twilio/voice/status",
                                {"CallSid": sid("CA"), "CallStatus": "ringing"}, token="guess")  # fmt: skip
        assert forged == 403
    call = CallLog.objects.get()
    assert (call.status, call.outcome, call.duration) == ("completed", "answered", 9)


def test_a_worker_books_the_call_on_its_ticket_a_moment_after_it_is_answered(tmp_path):
    call_sid = sid("CA")
    with (
        celery_worker(tmp_path, concurrency=1),
        gunicorn_server(tmp_path, **ENV) as server,
    ):
        status, body = twilio_post(server, "/webhooks/twilio/voice", {"CallSid": call_sid, "From": CALLER,
                                                                       "To": SUPPORT_LINE})  # fmt: skip
        assert status == 200, body
        deadline = time.monotonic() + EVENTUALLY
        while time.monotonic() < deadline and CallLog.objects.filter(call_sid=call_sid, ticket=None).exists():
            time.sleep(0.1)
    call = CallLog.objects.get(call_sid=call_sid)
    assert call.ticket is not None, (tmp_path / "worker.log").read_text()[-3000:]
    assert not call.ticket_pending
    assert Message.objects.get(external_id=call_sid).ticket == call.ticket
