"""The dead-letter list in the agent console, and its retry action."""

import pytest
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus
from notifications.outbox import delivery_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, admin_user):
    client.force_login(admin_user)
    return client


def make(key, status, **kwargs):
    delivery = delivery_create(
        channel="email", recipient=f"{key}@example.com", body="b", idempotency_key=key, **kwargs
    )
    Delivery.objects.filter(pk=delivery.pk).update(status=status, last_error=f"{key} error")
    return delivery


def test_dead_letters_are_listed_filtered_by_status_and_channel(console):
    make("dead", DeliveryStatus.FAILED)
    make("fine", DeliveryStatus.SENT)
    response = console.get(
        "/admin/notifications/delivery/", {"status__exact": "failed", "channel__exact": "email"}
    )
    assert response.status_code == 200
    assert b"dead@example.com" in response.content and b"dead error" in response.content
    assert b"fine@example.com" not in response.content


def test_deliveries_are_searchable_by_recipient(console):
    make("needle", DeliveryStatus.FAILED)
    make("hay", DeliveryStatus.FAILED)
    response = console.get("/admin/notifications/delivery/", {"q": "needle"})
    assert b"needle@example.com" in response.content and b"hay@example.com" not in response.content


def test_the_detail_page_shows_the_error_and_cannot_add(console):
    delivery = make("one", DeliveryStatus.FAILED)
    assert console.get(f"/admin/notifications/delivery/{delivery.pk}/change/").status_code == 200
    assert console.get("/admin/notifications/delivery/add/").status_code == 403


def test_the_retry_action_requeues_failed_and_leaves_sent_alone(console, django_capture_on_commit_callbacks):
    failed = make("failed", DeliveryStatus.FAILED)
    sent = make("sent", DeliveryStatus.SENT)
    with django_capture_on_commit_callbacks() as callbacks:
        response = console.post(
            "/admin/notifications/delivery/",
            {"action": "retry", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert b"1 deliveries queued again" in response.content
    assert b"not failed or skipped" in response.content
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.PENDING
    assert Delivery.objects.get(pk=sent.pk).status == DeliveryStatus.SENT
    assert len(callbacks) == 1


def test_retry_refuses_an_unconfirmed_customer_message_and_resend_needs_its_own_action(console):
    unconfirmed = make("ack", DeliveryStatus.FAILED, audience="customer")
    Delivery.objects.filter(pk=unconfirmed.pk).update(unconfirmed_at=timezone.now())
    url = "/admin/notifications/delivery/"
    response = console.post(url, {"action": "retry", "_selected_action": [unconfirmed.pk]}, follow=True)
    assert b"may already have reached the customer" in response.content
    assert Delivery.objects.get(pk=unconfirmed.pk).status == DeliveryStatus.FAILED
    response = console.post(
        url, {"action": "resend_unconfirmed", "_selected_action": [unconfirmed.pk]}, follow=True
    )
    assert b"1 deliveries queued again" in response.content
    assert Delivery.objects.get(pk=unconfirmed.pk).status == DeliveryStatus.PENDING
