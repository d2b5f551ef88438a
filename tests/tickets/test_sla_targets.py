"""The SLA targets new tickets take: kept in the shared cache, dropped when a policy changes,
read from the database when the cache is unreachable."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ContactFactory
from tests.services import cache_unreachable
from tickets import services, sla
from tickets.models import SlaPolicy, TicketPriority

pytestmark = pytest.mark.django_db


def first_response_minutes() -> float:
    ticket = services.ticket_create(contact=ContactFactory(), subject="x", channel="api")
    return (ticket.first_response_due - ticket.created_at) / timedelta(minutes=1)


def set_first_response_minutes(minutes: int) -> None:
    policy = SlaPolicy.objects.get(priority=TicketPriority.NORMAL)
    policy.first_response_minutes = minutes
    policy.save()


def test_with_the_cache_unreachable_every_ticket_reads_its_policy(cache_down):
    for minutes in (7, 9):
        set_first_response_minutes(minutes)
        with CaptureQueriesContext(connection) as queries:
            assert first_response_minutes() == minutes
        assert [q for q in queries if "tickets_slapolicy" in q["sql"]]


def test_a_policy_changed_while_the_cache_was_unreachable_reaches_tickets_once_the_kept_targets_expire(
    settings, monkeypatch
):
    monkeypatch.setattr(sla, "SLA_TARGETS_TIMEOUT", 1)
    set_first_response_minutes(7)
    assert first_response_minutes() == 7  # kept for SLA_TARGETS_TIMEOUT

    with cache_unreachable(settings):
        set_first_response_minutes(9)  # the kept targets cannot be dropped
        assert first_response_minutes() == 9

    time.sleep(sla.SLA_TARGETS_TIMEOUT)
    assert first_response_minutes() == 9
