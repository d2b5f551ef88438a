"""Ticket search: the one function behind the API's `q` and the agents' console search.

A reference, an email or a phone number that names tickets finds exactly those through a
btree index. Any other text is a full-text search (PostgreSQL websearch syntax: words,
"a phrase", -not, or) over each ticket's subject and description, each of its messages and
its contact's name, every word in one of those places; each place has a GIN index
(migration 0015), and the three index lookups are united before the tickets are read, so
a page costs the matches, not the table. Words match by their English stem, whatever their
case and accents ("Cafés" finds "cafe"). SQLite (development) falls back to matching the
whole text as a case-insensitive substring.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q, QuerySet

from supporthub.phone import InvalidPhoneNumber, to_e164
from tickets.models import Contact, Message, Ticket

REFERENCE_RE = re.compile(r"^[A-Za-z]+-\d+$")

# English stemming over unaccented words; created, with the indexes over these very
# expressions, by migration 0015 (the planner uses an index only for the same expression).
SEARCH_CONFIG = "supporthub_search"
TICKET_VECTOR = SearchVector("subject", "description", config=SEARCH_CONFIG)
MESSAGE_VECTOR = SearchVector("body", config=SEARCH_CONFIG)
CONTACT_VECTOR = SearchVector("name", config=SEARCH_CONFIG)


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
    """The tickets of `queryset` whose subject and description, one of whose messages, or
    whose contact's name has every word of `text`."""
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(
            Q(subject__icontains=text)
            | Q(description__icontains=text)
            | Q(contact__name__icontains=text)
            | Q(pk__in=Message.objects.filter(body__icontains=text).values("ticket_id"))
        )
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    in_ticket = Ticket.objects.annotate(found=TICKET_VECTOR).filter(found=query).values("pk")
    in_message = Message.objects.annotate(found=MESSAGE_VECTOR).filter(found=query).values("ticket_id")
    contacts = Contact.objects.annotate(found=CONTACT_VECTOR).filter(found=query).values("pk")
    of_contact = Ticket.objects.filter(contact__in=contacts).values("pk")
    return queryset.filter(pk__in=in_ticket.union(in_message, of_contact))
