"""Who is told: the support team's email addresses and Slack target, and who hears about a ticket.

Every notice meant for staff asks here: a new ticket, a customer's reply, a missed call,
voicemail or text, an escalation step that emails the team, an SLA breach, the daily
schedule-health warning and the final "UNACKNOWLEDGED" alert. Callers write one Delivery
per address, each with its own idempotency key, so one address that fails permanently
never takes the others with it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

if TYPE_CHECKING:
    from tickets.models import Ticket

logger = logging.getLogger(__name__)

# The Slack recipient shown when SLACK_CHANNEL is empty: an incoming webhook posts to the
# channel it was created for.
WEBHOOK_CHANNEL = "slack-webhook"


def team_emails() -> list[str]:
    """SUPPORT_TEAM_EMAIL's addresses, in order, each once whatever its case.

    The setting is split on commas and each entry stripped; an invalid address is logged
    and skipped, so one typo does not silence the rest of the team.
    """
    unique: dict[str, str] = {}
    for item in settings.SUPPORT_TEAM_EMAIL.split(","):
        address = item.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            logger.warning("SUPPORT_TEAM_EMAIL holds an invalid address %r; it is skipped", address)
            continue
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def team_slack() -> str | None:
    """The team's Slack target (SLACK_CHANNEL, else the webhook's own channel), or None when
    Slack is not configured (no SLACK_WEBHOOK_URL, nor a SLACK_BOT_TOKEN with SLACK_CHANNEL)."""
    if settings.SLACK_WEBHOOK_URL:
        return settings.SLACK_CHANNEL or WEBHOOK_CHANNEL
    if settings.SLACK_BOT_TOKEN and settings.SLACK_CHANNEL:
        return settings.SLACK_CHANNEL
    return None


def slack_chooses_channel() -> bool:
    """Whether a message can go to a channel of our choosing: only with a bot token
    (SLACK_BOT_TOKEN); an incoming webhook posts to the channel it was made for."""
    return bool(settings.SLACK_BOT_TOKEN)


def ticket_emails(ticket: Ticket) -> list[str]:
    """Who hears about `ticket` by email: its assignee when it has one with an email
    address, otherwise the team (`team_emails`)."""
    assignee = ticket.assignee if ticket.assignee_id else None
    if assignee is not None and assignee.email:
        return [assignee.email]
    return team_emails()


def team_targets(key: str) -> list[tuple[str, str, str]]:
    """(channel, recipient, idempotency key) of each notice that tells the team about `key`:
    one email per team address, and the team's Slack target when Slack is configured."""
    targets = [("email", address, f"{key}:email:{address.lower()}") for address in team_emails()]
    slack = team_slack()
    if slack is not None:
        targets.append(("slack", slack, f"{key}:slack"))
    return targets
