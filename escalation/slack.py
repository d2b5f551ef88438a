"""The Slack app: a click on a page's button acts as the clicking Slack user's SupportHub user
(matched by email) through the incident services, once per click; the incident's messages are
then redrawn in place (`message_refresh`, run by a task). `/oncall` tells who is on call now."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation import paging, selectors, services, slack_blocks
from escalation.models import Incident, SlackAction
from notifications.channels import ChannelError, slack_api
from supporthub.exceptions import DomainError
from supporthub.tasks import enqueue_on_commit, publish

logger = logging.getLogger(__name__)

REFRESH_TASK = paging.SLACK_REFRESH_TASK
RESPOND_TASK = "escalation.slack_respond"
# How long a Slack member's email is kept: a click needs no users.info call for a while, and a
# changed Slack email is seen within minutes. Who that email belongs to is read every time.
USER_CACHE_SECONDS = 300
VERBS = {
    slack_blocks.ACKNOWLEDGE: services.incident_acknowledge,
    slack_blocks.RESOLVE: services.incident_resolve,
    slack_blocks.ESCALATE: services.incident_escalate,
}
DONE = {
    slack_blocks.ACKNOWLEDGE: "acknowledged",
    slack_blocks.RESOLVE: "resolved",
    slack_blocks.ESCALATE: "escalated",
}


@dataclass(frozen=True)
class Click:
    """One button click from a block_actions payload."""

    action_id: str
    incident_id: int
    slack_user_id: str
    action_ts: str
    channel_id: str
    message_ts: str
    response_url: str

    @property
    def key(self) -> str:
        return f"{self.slack_user_id}:{self.action_id}:{self.action_ts}"[:200]


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(f"Missing {field} in the Slack payload.", field=field)
    if "\x00" in value or len(value) > 100:
        raise DomainError(f"Invalid {field} in the Slack payload.", field=field)
    return value.strip()


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def click_parse(payload: Any) -> Click:
    """The click in a block_actions `payload`. Raises DomainError naming the missing or bad field."""
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise DomainError("Only block_actions payloads are handled.", field="type")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise DomainError("The payload has no action.", field="actions")
    action = actions[0]
    action_id = _text(action.get("action_id"), "actions.action_id")
    if action_id not in VERBS:
        raise DomainError(f"Unknown action {action_id!r}.", field="actions.action_id")
    value = str(action.get("value") or "")
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise DomainError("The action's value must be an incident id.", field="actions.value")
    container = _object(payload.get("container"))
    user = _object(payload.get("user"))
    return Click(
        action_id=action_id,
        incident_id=int(value),
        slack_user_id=_text(user.get("id"), "user.id"),
        action_ts=_text(action.get("action_ts"), "actions.action_ts"),
        channel_id=_text(container.get("channel_id"), "container.channel_id"),
        message_ts=_text(container.get("message_ts"), "container.message_ts"),
        response_url=str(payload.get("response_url") or ""),
    )


def slack_user(slack_user_id: str) -> Any:
    """The active SupportHub user whose email is on the Slack profile of `slack_user_id`, or None.

    Raises ChannelError when Slack cannot be asked (users.info failed).
    """
    key = f"slack:user-email:{slack_user_id}"
    email = None
    with contextlib.suppress(Exception):  # an unreachable cache only costs a users.info call
        email = cache.get(key)
    if email is None:
        email = slack_api.user_email(slack_user_id) or ""
        with contextlib.suppress(Exception):
            cache.set(key, email, USER_CACHE_SECONDS)
    if not email:
        return None
    return get_user_model().objects.filter(email__iexact=email, is_active=True).order_by("pk").first()


def click_receive(click: Click) -> str:
    """Act on `click` as its Slack user's SupportHub user; return what to tell that user.

    Acts once per click: a replayed click changes nothing. An unknown Slack user, or one
    without the right to change incidents, changes nothing either, and is told so (only
    them, through the click's response_url). After an action the message is redrawn by a
    task once the change commits.
    """
    user, answer = _clicker(click)
    if user is not None:
        try:
            return _act(click, user)
        except DomainError as exc:
            answer = f"{exc.message} Nothing was done."
    respond_later(click.response_url, answer)
    return answer


def _clicker(click: Click) -> tuple[Any, str]:
    """(the user who may act on `click`, "") or (None, why nobody may)."""
    try:
        user = slack_user(click.slack_user_id)
    except ChannelError as exc:
        logger.warning("Slack click by %s not acted on: %s", click.slack_user_id, exc.reason)
        return None, "SupportHub could not look up your Slack profile; nothing was done. Try again."
    if user is None:
        logger.info("Slack click by unmapped user %s refused", click.slack_user_id)
        return None, (
            "Your Slack account is not linked to a SupportHub user (no active user has the email "
            "address of your Slack profile); nothing was done."
        )
    if not user.has_perm("escalation.change_incident"):
        return None, f"{user.get_username()} may not change incidents in SupportHub; nothing was done."
    return user, ""


@transaction.atomic
def _act(click: Click, user: Any) -> str:
    if not Incident.objects.filter(pk=click.incident_id).exists():
        raise DomainError(f"Incident #{click.incident_id} no longer exists.", field="actions.value")
    try:
        with transaction.atomic():
            SlackAction.objects.create(
                key=click.key,
                incident_id=click.incident_id,
                action=DONE[click.action_id],
                slack_user=click.slack_user_id[:32],
                actor=user,
            )
    except IntegrityError:
        logger.info("Slack click %s seen before; nothing done again", click.key)
        return "This click was already handled."
    VERBS[click.action_id](incident=click.incident_id, user=user, via="slack")  # redraws the pages
    if (click.channel_id, click.message_ts) not in paging.slack_pages(click.incident_id):
        enqueue_on_commit(REFRESH_TASK, click.incident_id, click.channel_id, click.message_ts)
    return f"Incident #{click.incident_id} {DONE[click.action_id]} by {user.get_username()}."


def respond_later(response_url: str, text: str) -> None:
    """Tell only the clicking user `text`, through the click's response_url, from a task."""
    if response_url:
        publish(RESPOND_TASK, response_url, text)


def message_refresh(*, incident_id: int, channel_id: str, ts: str) -> None:
    """Redraw message `ts` in `channel_id` from the incident's current state (chat.update).

    Raises ChannelError from Slack (the task retries the transient ones).
    """
    incident = Incident.objects.select_related("ticket", "acknowledged_by", "resolved_by").filter(
        pk=incident_id
    )
    found = incident.first()
    if found is None:
        return
    blocks = slack_blocks.incident_blocks(found)
    text = f"Incident #{found.pk}: {slack_blocks.escape(found.title)} ({found.status})"
    slack_api.update_message(channel_id, ts, {"text": text, "blocks": blocks})


def oncall_text() -> str:
    """Who is on call now on each schedule, in Slack mrkdwn (the /oncall answer)."""
    now = timezone.now()
    lines = []
    for schedule, who in selectors.oncall_now_table(now):
        name = slack_blocks.escape(schedule.name)
        if who.is_gap or who.user is None:
            lines.append(f"*{name}*: nobody (a gap in the schedule)")
            continue
        until = ""
        if who.until is not None:
            until = f" until {schedule.local(who.until, zone_name=False)}"
        lines.append(f"*{name}*: {slack_blocks.escape(who.user.get_username())}{until}")
    return "\n".join(lines) or "No on-call schedule is set up."
