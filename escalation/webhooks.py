"""Answers to test pages that arrive outside the SMS webhook: a key press on a test call
(signed by Twilio) and the link in a test email."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from escalation import reachability
from telephony import twilio as twiml
from telephony.webhooks import twilio_webhook


@twilio_webhook
def verify_call(request: HttpRequest) -> HttpResponse:
    """The key press on a test call: 1 verifies the voice method named in the (signed) URL,
    `?method=<id>&code=<code>`."""
    method, code = request.GET.get("method", ""), request.GET.get("code", "")
    if (
        request.POST.get("Digits", "").strip() == "1"
        and method.isdigit()
        and reachability.contact_method_verify(method_id=int(method), code=code)
    ):
        text = "Confirmed. Calls reach you. Goodbye."
    else:
        text = "Not confirmed. Send a new test page from the admin. Goodbye."
    return HttpResponse(twiml.voice_goodbye(text), content_type="text/xml; charset=utf-8")


@require_GET
def verify_link(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    """The link in a test email: opening it verifies the email method."""
    method = reachability.contact_method_verify(method_id=pk, code=code)
    if method is None:
        return HttpResponse(
            "This link is not that of the last test page, or is over a day old; send a new test page.\n",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(
        f"Confirmed: pages to {method.address} reach you.\n", content_type="text/plain; charset=utf-8"
    )
