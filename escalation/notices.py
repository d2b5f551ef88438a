"""Telling one on-call person something outside an incident (a taken pager, a reachability
warning): by text to their SMS numbers, else by email."""

from __future__ import annotations

import logging
from typing import Any

from escalation import paging
from escalation.models import ContactMethodKind

logger = logging.getLogger(__name__)


def person_notify(*, user: Any, text: str, key: str) -> list[int]:
    """Send `text` to each SMS number of `user`, else to each email method (else their account
    email); returns the Delivery ids. `key` names the cause (idempotent)."""
    methods = list(user.contact_methods.filter(kind=ContactMethodKind.SMS))
    methods = methods or list(user.contact_methods.filter(kind=ContactMethodKind.EMAIL))
    targets = [(method.kind, method.address) for method in methods]
    if not targets and user.email:
        targets = [(ContactMethodKind.EMAIL, user.email)]
    if not targets:
        logger.warning("nothing sent to %s about %s: no SMS number or email address", user, key)
    return [
        paging.notify(
            channel=channel,
            recipient=address,
            subject=text,
            body=text,
            idempotency_key=f"{key}:{channel}:{address}",
        )
        for channel, address in targets
    ]
