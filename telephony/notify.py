"""The one place telephony tells the support team about a call or a text.

Notifications go through the notifications outbox (`delivery_create`): rows written in the
webhook's transaction and sent by Celery after it commits, so no provider is called from a
webhook and a broker outage loses nothing. Recipients are notifications.recipients': the
ticket's assignee if it has one, otherwise every team address; plus the team's Slack
target when Slack is configured. Paging whoever is on call is the escalation app's job (a
missed call opens an incident).
"""

from __future__ import annotations

import logging

from notifications.models import Delivery, DeliveryChannel
from notifications.recipients import team_slack, ticket_emails
from notifications.services import delivery_create, ticket_admin_url
from tickets.models import Message, Ticket

logger = logging.getLogger(__name__)


def team_notify(
    *, ticket: Ticket, subject: str, body: str, key: str, message: Message | None = None
) -> list[Delivery]:
    """Tell the support team about `ticket` (missed call, voicemail, inbound SMS).

    `key` makes the notification idempotent: the same key never notifies twice.
    Returns the Delivery rows (none when neither email nor Slack is configured).
    """
    url = ticket_admin_url(ticket)
    deliveries = [
        delivery_create(
            channel=DeliveryChannel.EMAIL,
            recipient=address,
            subject=f"[{ticket.reference}] {subject}",
            body=f"{body}\n\nTicket {ticket.reference}: {url}\n",
            idempotency_key=f"{key}:email:{address.lower()}",
            ticket=ticket,
            message=message,
        )
        for address in ticket_emails(ticket)
    ]
    slack = team_slack()
    if slack is not None:
        deliveries.append(
            delivery_create(
                channel=DeliveryChannel.SLACK,
                recipient=slack,
                body=f":telephone_receiver: {subject}: <{url}|{ticket.reference}>\n{body[:500]}",
                idempotency_key=f"{key}:slack",
                ticket=ticket,
                message=message,
            )
        )
    if not deliveries:
        logger.warning(
            "nobody to notify about %s (%s): set SUPPORT_TEAM_EMAIL or SLACK_WEBHOOK_URL", key, subject
        )
    return deliveries
