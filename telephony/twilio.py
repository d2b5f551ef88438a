"""Everything that touches the `twilio` library: signature checks and TwiML documents.

The rest of the app speaks in plain values (URLs, numbers, texts) and gets TwiML back as
a string, so swapping the provider means rewriting this module only.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

SIGNATURE_HEADER = "X-Twilio-Signature"
VOICE = "Polly.Joanna"  # a natural voice; Twilio falls back to its default if unavailable
DIAL_STATUS_EVENTS = "initiated ringing answered completed"


def signature_is_valid(*, auth_token: str, url: str, params: Mapping[str, Any], signature: str) -> bool:
    """True when `signature` is Twilio's HMAC-SHA1 over `url` (with its query string) and `params`.

    The library compares in constant time and tries the URL with and without the default
    port, as Twilio's own signing does. It always computes both signatures; Twilio signs
    the URL as configured, so that one is checked first and the library is asked only when
    it does not match (an HMAC less per callback).
    """
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    if hmac.compare_digest(validator.compute_signature(url, params).encode(), signature.encode()):
        return True
    return bool(validator.validate(url, params, signature))


def compute_signature(*, auth_token: str, url: str, params: Mapping[str, Any]) -> str:
    """The signature Twilio would send for this request (tests and benchmarks sign with it)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


# A pure function of its arguments, asked for the same few documents on every inbound call
# (the chain's first number and our URLs): memoised, it skips building an XML tree per call.
@functools.lru_cache(maxsize=256)
def voice_dial(
    *,
    greeting: str,
    number: str,
    timeout: int,
    action_url: str,
    status_callback_url: str,
    caller_id: str | None = None,
) -> str:
    """Say `greeting` (if any) and ring `number`; Twilio posts the result to `action_url`."""
    response = VoiceResponse()
    if greeting:
        response.say(greeting, voice=VOICE)
    dial = response.dial(action=action_url, method="POST", timeout=timeout, caller_id=caller_id)
    dial.number(
        number,
        status_callback=status_callback_url,
        status_callback_event=DIAL_STATUS_EVENTS,
        status_callback_method="POST",
    )
    return str(response.to_xml())


def voice_voicemail(
    *,
    prompt: str,
    max_length: int,
    action_url: str,
    recording_status_url: str,
    transcribe_url: str,
) -> str:
    """Ask for a message and record it, with transcription and a recording-status callback."""
    response = VoiceResponse()
    response.say(prompt, voice=VOICE)
    response.record(
        action=action_url,
        method="POST",
        max_length=max_length,
        timeout=5,
        finish_on_key="#",
        play_beep=True,
        trim="trim-silence",
        transcribe=True,
        transcribe_callback=transcribe_url,
        recording_status_callback=recording_status_url,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )
    # Reached only when the caller records nothing: Twilio then skips the action.
    response.say("We did not hear a message. Goodbye.", voice=VOICE)
    response.hangup()
    return str(response.to_xml())


def voice_goodbye(text: str = "") -> str:
    """Optionally say `text`, then hang up."""
    response = VoiceResponse()
    if text:
        response.say(text, voice=VOICE)
    response.hangup()
    return str(response.to_xml())


def voice_gather_digit(*, prompt: str, action_url: str, timeout: int = 8, goodbye: str = "") -> str:
    """Ask for one key press that Twilio posts to `action_url`; say `goodbye` if none comes."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=timeout)
    gather.say(prompt, voice=VOICE)
    if goodbye:
        response.say(goodbye, voice=VOICE)
    response.hangup()
    return str(response.to_xml())


def empty_voice() -> str:
    """An empty TwiML document: acknowledges a callback and asks Twilio for nothing."""
    return str(VoiceResponse().to_xml())


def sms_reply(texts: Sequence[str] = ()) -> str:
    """A messaging TwiML document that replies with each of `texts` (none: no reply)."""
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return str(response.to_xml())
