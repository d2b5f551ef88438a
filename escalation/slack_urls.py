"""Slack app webhook routes, mounted under /webhooks/slack/."""

from django.urls import path

from escalation import webhooks

app_name = "slack"

urlpatterns = [
    path("interactivity", webhooks.interactivity, name="interactivity"),
    path("commands", webhooks.commands, name="commands"),
]
