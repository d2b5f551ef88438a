"""What changed in a ticket list since a watermark, for the console's live list.

The list's own filters (the admin's ChangeList) choose `listed`; this module only asks which
of its tickets, and which tickets it no longer shows, were touched after the watermark. Both
reads go through the index on updated_at and return at most LIMIT rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from tickets.models import Ticket

# Tickets one answer reports at most; past that the page is told to reload instead.
LIMIT = 100
# updated_at is taken when a ticket is saved, its transaction commits a little later: reading
# this far behind the watermark catches a change that committed after the last answer was
# read. The page ignores what it has already shown.
OVERLAP = timedelta(seconds=10)


@dataclass(frozen=True)
class ListChanges:
    changed: list[Ticket]  # in the list now, newest change first
    removed: list[int]  # ids touched since and no longer in the list
    truncated: bool  # more than LIMIT changed: reload the page


def ticket_list_changes(
    *, listed: QuerySet[Ticket], everything: QuerySet[Ticket], since: datetime
) -> ListChanges:
    """The tickets of `listed` changed since `since`, and the ids of `everything` changed
    since then that `listed` no longer holds (resolved out of an "active" list, reassigned
    away from "mine"). Two queries, whatever the number of rows."""
    try:
        after = since - OVERLAP
    except OverflowError:  # a watermark at the start of time: everything is after it
        after = since
    changed = list(listed.filter(updated_at__gte=after).order_by("-updated_at", "-pk")[: LIMIT + 1])
    still_listed = listed.filter(updated_at__gte=after).order_by().values("pk")
    removed = list(
        everything.filter(updated_at__gte=after)
        .exclude(pk__in=still_listed)
        .order_by("-updated_at")
        .values_list("pk", flat=True)[: LIMIT + 1]
    )
    truncated = len(changed) > LIMIT or len(removed) > LIMIT
    return ListChanges(changed=changed[:LIMIT], removed=removed[:LIMIT], truncated=truncated)
