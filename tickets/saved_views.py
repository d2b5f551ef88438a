"""Saved views of the ticket list: named filters, each personal (an owner) or shared."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict

from supporthub.exceptions import DomainError
from supporthub.roles import is_lead
from tickets.models import SavedView

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The list's page number and the admin's own bookkeeping are not part of a view.
NOT_SAVED = ("p", "e", "_changelist_filters")
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length or 500


def saved_views_for(user: User) -> QuerySet[SavedView]:
    """The shared views and `user`'s own."""
    return SavedView.objects.filter(Q(owner__isnull=True) | Q(owner=user))


def saved_view_query_clean(query: str) -> str:
    """`query` (a ticket-list query string) as stored: without the page number, re-encoded.
    Raises DomainError when nothing is left or it is too long."""
    params = QueryDict(query.lstrip("?"), mutable=True)
    for name in NOT_SAVED:
        params.pop(name, None)
    cleaned = params.urlencode()
    if not cleaned:
        raise DomainError(
            "Filter, search or sort the list first: this view shows every ticket.", field="query"
        )
    if len(cleaned) > QUERY_MAX_LENGTH:
        raise DomainError(f"A view's filters take at most {QUERY_MAX_LENGTH} characters.", field="query")
    return cleaned


def saved_view_create(*, user: User, name: str, query: str, shared: bool = False) -> SavedView:
    """Save the list's `query` as a view named `name`, `user`'s own or (admins only) shared.

    Raises DomainError for a blank or taken name, an empty query, or an agent sharing.
    """
    name = name.strip()
    if not name:
        raise DomainError("Give the view a name.", field="name")
    if shared and not is_lead(user):
        raise DomainError("Only admins share views; save it as your own.", field="shared")
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                name=name, owner=None if shared else user, query=saved_view_query_clean(query)
            )
    except IntegrityError as exc:
        raise DomainError(f"There is a view named “{name}” already.", field="name") from exc


def saved_view_delete(*, view: SavedView, user: User) -> None:
    """Delete `view`: one's own, or a shared one for admins. Raises DomainError otherwise."""
    if view.owner_id != user.pk and not (view.is_shared and is_lead(user)):
        raise DomainError("Only its owner, or an admin for a shared view, deletes a view.", code="forbidden")
    view.delete()
