"""Acknowledgements are limited per recipient address or number (ACK_LIMIT_PER_HOUR): the
tickets are still opened, without one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Delivery
from tests.services import require_postgres
from tests.telephony.test_concurrency import race
from tickets.models import Ticket
from tickets.services import support_request_submit

pytestmark = pytest.mark.django_db


def intake(api, n, **overrides):
    body = {"channel": "email", "name": "Victim", "email": "victim@example.com", "subject": f"Offer {n}",
            "message": "Click here"}  # fmt: skip
    body.update(overrides)
    response = api.post("/v1/support/request", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def acks(recipient):
    return Delivery.objects.filter(recipient=recipient, idempotency_key__contains=":created:ack-")


def test_past_the_limit_tickets_are_opened_without_an_acknowledgement(api, settings):
    settings.ACK_LIMIT_PER_HOUR = 3
    answers = [intake(api, n) for n in range(5)]
    assert Ticket.objects.count() == 5
    assert acks("victim@example.com").count() == 3
    assert [len(a["deliveries"]) for a in answers] == [2, 2, 2, 1, 1], "the team is still told"
    assert Delivery.objects.filter(recipient="team@support.example").count() == 5


def test_acknowledgements_older_than_an_hour_do_not_count(api, settings):
    settings.ACK_LIMIT_PER_HOUR = 1
    intake(api, 1)
    acks("victim@example.com").update(created_at=timezone.now() - timedelta(minutes=61))
    intake(api, 2)
    assert acks("victim@example.com").count() == 2


def test_sms_acknowledgements_are_limited_per_number(api, settings, twilio):
    settings.ACK_LIMIT_PER_HOUR = 2
    for n in range(4):
        intake(api, n, channel="phone", email="", phone="+14155550123")
    assert Ticket.objects.count() == 4
    assert acks("+14155550123").filter(channel="sms").count() == 2


def test_the_limit_is_per_recipient(api, settings):
    settings.ACK_LIMIT_PER_HOUR = 1
    intake(api, 1)
    intake(api, 2)
    intake(api, 3, email="someone.else@example.com")
    assert acks("victim@example.com").count() == 1
    assert acks("someone.else@example.com").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_requests_for_one_recipient_count_each_other(settings):
    require_postgres()
    settings.ACK_LIMIT_PER_HOUR = 3
    results = race(
        *[
            lambda n=n: support_request_submit(
                channel="email", name="V", email="victim@example.com", subject=f"Offer {n}", message="x"
            )
            for n in range(6)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Ticket.objects.count() == 6
    assert acks("victim@example.com").count() == 3
