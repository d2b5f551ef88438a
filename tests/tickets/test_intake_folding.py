"""Identical support requests from one contact within INTAKE_FOLD_WINDOW_SECONDS fold into
one ticket: the first one's ticket is returned and nothing new is written or sent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery
from tests.factories import ContactFactory
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets.models import Ticket, TicketStatus
from tickets.services import support_request_submit

pytestmark = pytest.mark.django_db

REQUEST = {"channel": "email", "name": "Carol", "email": "carol@example.com", "subject": "Printer",
           "message": "On fire"}  # fmt: skip


def submit(**overrides):
    return support_request_submit(**{**REQUEST, **overrides})


def test_an_identical_request_returns_the_first_ticket_and_sends_nothing():
    first = submit()
    again = submit(name="Carol D.")
    assert again.folded and again.ticket.pk == first.ticket.pk and again.deliveries == []
    assert Ticket.objects.count() == 1 and Delivery.objects.count() == len(first.deliveries)


def test_the_api_answers_a_folded_request_with_the_same_ticket(api):
    answers = [api.post("/v1/support/request", REQUEST, format="json") for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["ticket"]["id"] == answers[1].json()["ticket"]["id"]
    assert answers[1].json()["deliveries"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"message": "On fire again"},
        {"subject": "Printer 2"},
        {"email": "dave@example.com"},
        {"channel": "chat"},
    ],
)
def test_a_request_that_differs_opens_its_own_ticket(change):
    submit()
    assert not submit(**change).folded
    assert Ticket.objects.count() == 2


def test_requests_outside_the_window_or_with_folding_off_open_new_tickets(settings):
    settings.INTAKE_FOLD_WINDOW_SECONDS = 300
    first = submit()
    Ticket.objects.filter(pk=first.ticket.pk).update(created_at=timezone.now() - timedelta(seconds=301))
    assert not submit().folded
    settings.INTAKE_FOLD_WINDOW_SECONDS = 0
    assert not submit().folded
    assert Ticket.objects.count() == 3


def test_a_closed_ticket_is_not_folded_into():
    first = submit()
    Ticket.objects.filter(pk=first.ticket.pk).update(status=TicketStatus.CLOSED)
    assert submit().ticket.pk != first.ticket.pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_identical_requests_arriving_together_make_one_ticket():
    require_postgres()
    ContactFactory(email="carol@example.com")  # known already: only the ticket is raced for
    results = race(*[lambda: submit().ticket.pk for _ in range(5)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Ticket.objects.count() == 1
