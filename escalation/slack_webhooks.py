"""Slack app webhooks: button clicks (interactivity) and the /oncall slash command.

Both are POST, form-encoded and signed by Slack (X-Slack-Signature over the raw body with
SLACK_SIGNING_SECRET, X-Slack-Request-Timestamp within five minutes). A missing, wrong or
stale signature, or an unset secret, gets 401 and nothing is written; a malformed payload
gets 400 naming the field. They answer at once: Slack calls are left to tasks.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from escalation import slack
from notifications.channels import slack_api
from supporthub import metrics  # webhook signature failures
from supporthub.exceptions import DomainError

logger = logging.getLogger(__name__)

View = Callable[[HttpRequest], HttpResponse]


def _refuse(status: int, detail: str, code: str, field: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field:
        body["errors"] = {field: [detail]}
    return JsonResponse(body, status=status)


def _ephemeral(text: str) -> JsonResponse:
    return JsonResponse({"response_type": "ephemeral", "replace_original": False, "text": text})


def slack_webhook(view: View) -> View:
    """Accept only POSTs signed by Slack with SLACK_SIGNING_SECRET; 400 for a DomainError."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not slack_api.request_is_signed(request.body, request.headers):
            logger.warning("Slack webhook %s refused: missing, invalid or stale signature", request.path)
            metrics.record_webhook_signature_failure(provider="slack")
            return _refuse(401, "Missing, invalid or stale Slack signature.", "invalid_signature")
        try:
            return view(request)
        except DomainError as exc:
            return _refuse(400, exc.message, exc.code, exc.field)

    return wrapper


@slack_webhook
def interactivity(request: HttpRequest) -> HttpResponse:
    try:
        payload = json.loads(request.POST.get("payload") or "")
    except ValueError:
        raise DomainError("The payload field must hold JSON.", field="payload") from None
    answer = slack.click_receive(slack.click_parse(payload))
    return _ephemeral(answer)


@slack_webhook
def commands(request: HttpRequest) -> HttpResponse:
    command = request.POST.get("command", "")
    if command != "/oncall":
        raise DomainError(f"Unknown command {command!r}; SupportHub answers /oncall.", field="command")
    return _ephemeral(slack.oncall_text())
