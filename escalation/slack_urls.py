"""Slack app webhook routes, mounted under /webhooks/slack/."""

from django.urls import path

from escalation import slack_webhooks

app_name = "slack"

urlpatterns = [
    path("interactivity", slack_webhooks.interactivity, name="interactivity"),
    path("commands", slack_webhooks.commands, name="commands"),
]
