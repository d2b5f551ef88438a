"""Twilio webhook routes, mounted under /webhooks/twilio/."""

from django.urls import path

from telephony import webhooks

app_name = "telephony"

urlpatterns = [
    path("voice", webhooks.voice, name="voice"),
    path("voice/dial", webhooks.voice_dial, name="voice-dial"),
    path("voice/status", webhooks.voice_status, name="voice-status"),
    path("voice/recording", webhooks.voice_recording, name="voice-recording"),
    path("voice/transcription", webhooks.voice_transcription, name="voice-transcription"),
    path("sms", webhooks.sms, name="sms"),
    path("page", webhooks.page, name="page"),
    path("page/status", webhooks.page_status, name="page-status"),
]
