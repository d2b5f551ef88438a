"""Ticket search: the one function behind the API's `q` and the agents' console search.

A reference, an email or a phone number that names tickets finds exactly those through a
btree index. Any other text is a full-text search (PostgreSQL websearch syntax: words,
"a phrase", -not, or) over each ticket's subject, description and messages, kept in one
`search_vector` column per ticket with a GIN index (migration 0015). One column, rather
than an index per table, lets the planner choose per query: the GIN index for rare words,
or the list's own order index, filtered, for common ones (a page of "printer" then stops
after a few hundred rows instead of collecting every match). Words match by their English
stem, whatever their case and accents ("Cafés" finds "cafe"). SQLite (development) falls
back to matching the whole text as a case-insensitive substring.

A word missing from PostgreSQL's statistics (a rare one: a tracking code, a name) is
guessed at 0.5 % of the tickets, for which a page of 25 looks cheapest by walking the order
index; for a word that few tickets have, that walk filters most of the table (up to 0.9 s
at a million tickets). So a search first reads the newest FEW_MATCHES + 1 matches: a LIMIT
large enough for the planner to take the GIN index for such a word, while for a common one
it walks ticket_created_idx and stops (whatever the list's own order, which may have no
index: the console's triage order over every status). When that is all of them, the list
is those tickets, by id.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Left

from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Message, Ticket

REFERENCE_RE = re.compile(r"^[A-Za-z]+-\d+$")

# English stemming over unaccented words (created by migration 0015).
SEARCH_CONFIG = "supporthub_search"
# Up to this many matches are listed by id (read through the GIN index, sorted afterwards);
# above it a page walks its order index through about page size / FEW_MATCHES of the
# tickets at most. At 1,000,000 tickets the planner prefers the GIN index for an unknown
# word from a LIMIT of about 300 on; that point grows with the table, so this holds to
# about 3,000,000 tickets.
FEW_MATCHES = 1000
# A tsvector holds at most 1 MB: a thread's text beyond this (its oldest messages) is not
# searched, so that no message on a huge thread fails to save.
THREAD_TEXT_LIMIT = 250_000


def ticket_search(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket]:
    """The tickets of `queryset` that `query` finds (all of them for a blank query).

    An identifier that names no ticket of `queryset` (a reference quoted in a message, say)
    is searched as text.
    """
    query = query.strip()
    if not query:
        return queryset
    named = ticket_identifier_search(queryset, query)
    if named is not None and named.exists():
        return named
    return ticket_text_search(queryset, query)


def ticket_identifier_search(queryset: QuerySet[Ticket], query: str) -> QuerySet[Ticket] | None:
    """The tickets `query` names when it is a reference, an email or a phone number (in
    any case; an index lookup each), else None."""
    query = query.strip()
    if REFERENCE_RE.match(query):
        return queryset.filter(reference__iexact=query)
    if "@" in query and " " not in query:
        return queryset.filter(contact__email__iexact=query)
    if query.startswith("+"):
        try:
            return queryset.filter(contact__phone=to_e164(query))
        except InvalidPhoneNumber:
            pass
    return None


def ticket_text_search(queryset: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """The tickets of `queryset` whose subject, description and messages have every word
    of `text` (SQLite: whose subject, description or one message contains `text`).

    On PostgreSQL this reads up to FEW_MATCHES + 1 matching ids (one query); with no more
    than FEW_MATCHES, the result is `queryset` filtered by those ids.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(
            Q(subject__icontains=text)
            | Q(description__icontains=text)
            | Q(pk__in=Message.objects.filter(body__icontains=text).values("ticket_id"))
        )
    matches = queryset.filter(search_vector=SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch"))
    newest = matches.prefetch_related(None).order_by("-created_at", "-pk").values_list("pk", flat=True)
    few = list(newest[: FEW_MATCHES + 1])
    if len(few) <= FEW_MATCHES:
        return queryset.filter(pk__in=few)
    return matches


def search_vector_update(ticket: Ticket, *, using: str = "default") -> dict[str, Any]:
    """The `update()` keyword that rewrites `ticket`'s search_vector from its subject and
    description as they are on `ticket` and its messages as they are in the database
    (nothing off PostgreSQL). Services pass it with every change of those."""
    if connections[using].vendor != "postgresql":
        return {}
    return {
        "search_vector": search_vector_expression(
            subject=Value(ticket.subject), description=Value(ticket.description)
        )
    }


def search_vector_expression(*, subject: Any = "subject", description: Any = "description") -> SearchVector:
    """A ticket's search vector, for an UPDATE of tickets (newest messages first)."""
    thread = (
        Message.objects.filter(ticket=OuterRef("pk"))
        .values("ticket")
        .annotate(text=Left(StringAgg("body", " ", order_by="-created_at"), THREAD_TEXT_LIMIT))
        .values("text")
    )
    return SearchVector(subject, description, Subquery(thread), config=SEARCH_CONFIG)
