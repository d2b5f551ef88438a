"""Every webhook refuses unsigned, mis-signed and malformed requests, and writes nothing."""

import logging

import pytest
from django.db.models import Model

from telephony.models import CallLog
from tests.telephony.conftest import BASE, CALLER, SUPPORT_LINE, sid, signed_url, twiml
from tickets.models import Contact, Message, Ticket

pytestmark = pytest.mark.django_db

MODELS: list[type[Model]] = [CallLog, Ticket, Message, Contact]

VALID = {
    "/webhooks/twilio/voice": ({"CallSid": sid("CA"), "From": CALLER, "To": SUPPORT_LINE}, ""),
    "/webhooks/twilio/voice/dial": ({"CallSid": sid("CA"), "DialCallStatus": "no-answer"}, "attempt=0"),
    "/webhooks/twilio/voice/status": ({"CallSid": sid("CA"), "CallStatus": "ringing"}, ""),
    "/webhooks/twilio/voice/recording": (
        {"CallSid": sid("CA"), "RecordingSid": sid("RE"), "RecordingUrl": "https://api.twilio.com/r"},
        "",
    ),
    "/webhooks/twilio/voice/transcription": (
        {"CallSid": sid("CA"), "TranscriptionSid": sid("TR"), "TranscriptionStatus": "completed"},
        "",
    ),
    "/webhooks/twilio/sms": ({"MessageSid": sid("SM"), "From": CALLER, "To": SUPPORT_LINE, "Body": "hi"}, ""),
    "/webhooks/twilio/page": ({"Digits": "1"}, "delivery=7"),
}


def counts() -> list[int]:
    return [model.objects.count() for model in MODELS]


@pytest.mark.parametrize("path", VALID)
def test_a_request_without_a_signature_is_refused(twilio, path):
    params, query = VALID[path]
    response = twilio.post(path, params, query=query, signature="")
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert counts() == [0, 0, 0, 0]


@pytest.mark.parametrize("path", VALID)
def test_a_request_signed_with_another_token_is_refused(twilio, path):
    params, query = VALID[path]
    response = twilio.post(path, params, query=query, token="not-our-token")
    assert response.status_code == 403
    assert counts() == [0, 0, 0, 0]


def test_the_query_string_is_part_of_the_signature(twilio):
    params, _ = VALID["/webhooks/twilio/voice/dial"]
    path = "/webhooks/twilio/voice/dial"
    response = twilio.post(path, params, query="attempt=1", sign_url=signed_url(path, "attempt=0"))
    assert response.status_code == 403


def test_a_tampered_parameter_breaks_the_signature(twilio):
    path = "/webhooks/twilio/voice"
    params = {"CallSid": sid("CA"), "From": CALLER, "To": SUPPORT_LINE}
    from twilio.request_validator import RequestValidator

    from tests.telephony.conftest import TOKEN

    signature = RequestValidator(TOKEN).compute_signature(
        signed_url(path), {**params, "From": "+14155550188"}
    )
    assert twilio.post(path, params, signature=signature).status_code == 403
    assert counts() == [0, 0, 0, 0]


def test_a_signature_over_the_internal_url_fails_when_twilio_calls_the_public_one(twilio):
    path = "/webhooks/twilio/voice"
    params, _ = VALID[path]
    response = twilio.post(path, params, sign_url=f"http://testserver{path}")
    assert response.status_code == 403


def test_the_public_url_may_carry_a_port_as_twilio_sometimes_signs_it(twilio):
    path = "/webhooks/twilio/voice"
    params = {"CallSid": sid("CA"), "From": CALLER, "To": SUPPORT_LINE}
    response = twilio.post(path, params, sign_url=f"{BASE}:443{path}")
    twiml(response)


def test_webhooks_refuse_everything_with_a_clear_log_line_when_no_token_is_configured(
    twilio, settings, caplog
):
    settings.TWILIO_AUTH_TOKEN = ""
    params, _ = VALID["/webhooks/twilio/voice"]
    with caplog.at_level(logging.ERROR):
        response = twilio.post("/webhooks/twilio/voice", params)
    assert response.status_code == 403
    assert response.json()["code"] == "webhooks_disabled"
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text
    assert counts() == [0, 0, 0, 0]


def test_webhooks_take_only_post(client):
    assert client.get("/webhooks/twilio/voice").status_code == 405


MALFORMED = [
    ("/webhooks/twilio/voice", {"From": CALLER, "To": SUPPORT_LINE}, "", "CallSid"),
    ("/webhooks/twilio/voice", {"CallSid": "CA123", "From": CALLER, "To": SUPPORT_LINE}, "", "CallSid"),
    ("/webhooks/twilio/voice", {"CallSid": sid("CA"), "From": "not a number", "To": SUPPORT_LINE}, "", "From"),
    ("/webhooks/twilio/voice", {"CallSid": sid("CA"), "From": CALLER, "To": "4155550100"}, "", "To"),
    ("/webhooks/twilio/voice", {"CallSid": sid("CA"), "From": CALLER, "To": SUPPORT_LINE, "CallerName": "a\x00b"},
     "", "CallerName"),
    ("/webhooks/twilio/voice/dial", {"CallSid": sid("CA"), "DialCallStatus": "no-answer"}, "", "attempt"),
    ("/webhooks/twilio/voice/dial", {"CallSid": sid("CA"), "DialCallStatus": "no-answer"}, "attempt=x", "attempt"),
    ("/webhooks/twilio/voice/dial", {"CallSid": sid("CA"), "DialCallStatus": "maybe"}, "attempt=0",
     "DialCallStatus"),
    ("/webhooks/twilio/voice/status", {"CallSid": sid("CA"), "CallStatus": "exploded"}, "", "CallStatus"),
    ("/webhooks/twilio/voice/status", {"CallSid": sid("CA"), "CallStatus": "completed", "CallDuration": "-4"},
     "", "CallDuration"),
    ("/webhooks/twilio/voice/recording", {"CallSid": sid("CA"), "RecordingSid": sid("RE"),
     "RecordingUrl": "http://evil.example/r"}, "", "RecordingUrl"),
    ("/webhooks/twilio/voice/transcription", {"CallSid": sid("CA"), "TranscriptionSid": "TRx",
     "TranscriptionStatus": "completed"}, "", "TranscriptionSid"),
    ("/webhooks/twilio/sms", {"MessageSid": sid("SM"), "From": "12345", "To": SUPPORT_LINE}, "", "From"),
    ("/webhooks/twilio/sms", {"MessageSid": sid("SM"), "From": CALLER, "To": SUPPORT_LINE, "NumMedia": "1",
     "MediaUrl0": "not a url"}, "", "MediaUrl0"),
    ("/webhooks/twilio/page", {"Digits": "1"}, "delivery=abc", "delivery"),
    ("/webhooks/twilio/page", {"Digits": "1; drop"}, "delivery=3", "Digits"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "params", "query", "field"), MALFORMED)
def test_malformed_parameters_get_a_400_naming_the_field_and_write_nothing(
    twilio, path, params, query, field
):
    response = twilio.post(path, params, query=query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert counts() == [0, 0, 0, 0]


def test_a_nul_byte_in_a_parameter_we_do_not_read_is_stored_without_it(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid, FromCity="SAN\x00FRANCISCO"))
    assert CallLog.objects.get(call_sid=call_sid).last_payload["FromCity"] == "SANFRANCISCO"


def test_a_path_prefix_stripped_by_the_proxy_lives_in_public_base_url(twilio, settings):
    settings.PUBLIC_BASE_URL = "https://example.com/support"
    path = "/webhooks/twilio/voice"
    params = {"CallSid": sid("CA"), "From": CALLER, "To": SUPPORT_LINE}
    root = twiml(twilio.post(path, params, sign_url=f"https://example.com/support{path}"))
    assert (
        root.find("Dial").get("action") == "https://example.com/support/webhooks/twilio/voice/dial?attempt=0"
    )
