"""The one place telephony tells the support team about a call or a text.

SEAM(notifications, issue 3): until `notifications.services.delivery_create` lands this is
a clearly labelled no-op that logs what it would send. Callers run inside the webhook's
transaction, so the real version writes Delivery rows (outbox) that are queued on commit:
no provider is called from a webhook.
"""

from __future__ import annotations

import logging

from tickets.models import Message, Ticket

logger = logging.getLogger(__name__)


def team_notify(*, ticket: Ticket, subject: str, body: str, key: str, message: Message | None = None) -> None:
    """Tell the support team about `ticket` (missed call, voicemail, inbound SMS).

    `key` makes the notification idempotent: the same key never notifies twice.
    """
    logger.info(
        "NO-OP team notification (notifications app not merged yet) key=%s ticket=%s: %s",
        key,
        ticket.reference,
        subject,
    )
