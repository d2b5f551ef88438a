"""Public /oncall/ URLs: answers to test pages (no API key; the code or Twilio's signature is the proof)."""

from django.urls import path

from escalation import webhooks

urlpatterns = [
    path("verify/call", webhooks.verify_call, name="oncall-verify-call"),
    path("verify/<int:pk>/<str:code>", webhooks.verify_link, name="oncall-verify-link"),
]
