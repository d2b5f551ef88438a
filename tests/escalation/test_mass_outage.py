"""Many incidents due at once: every one gets exactly one first page, published in a few tasks."""

from __future__ import annotations

import math
import re
import time
from collections import Counter

import pytest
from django.utils import timezone

from escalation import engine, services
from escalation.models import EscalationPolicy, EscalationStep, Incident, IncidentPage
from notifications import outbox
from notifications.models import Delivery
from tests.escalation.conftest import make_oncall_user
from tests.notifications.fakes import FakeTwilio
from tests.services import EVENTUALLY, celery_worker, require_postgres

COUNT = 240


def sms_policy() -> EscalationPolicy:
    """Text eli (his only contact method), then wait half an hour."""
    eli = make_oncall_user("eli")
    eli.contact_methods.create(kind="sms", address="+14155550102")
    policy = EscalationPolicy.objects.create(name="Outage")
    EscalationStep.objects.create(policy=policy, position=1, kind="user", user=eli, wait_minutes=30)
    return policy


def incidents_due(policy: EscalationPolicy, count: int) -> list[int]:
    snapshot = services.policy_snapshot(policy)
    now = timezone.now()
    Incident.objects.bulk_create(
        Incident(title=f"Outage {n}", policy=policy, policy_snapshot=snapshot, next_step_at=now)
        for n in range(count)
    )
    return list(Incident.objects.filter(policy=policy).values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_pages_of_a_batch_are_published_in_a_few_tasks_each_delivery_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    published: list[list[int]] = []
    monkeypatch.setattr(outbox, "sends_publish", lambda ids, countdown=None: published.append(ids) or True)
    ids = incidents_due(sms_policy(), COUNT)
    with django_capture_on_commit_callbacks(execute=True):
        assert engine.escalation_tick().steps == COUNT

    deliveries = list(Delivery.objects.filter(channel="sms").values_list("pk", flat=True))
    pages = IncidentPage.objects.filter(incident_id__in=ids, status="sent")
    assert Counter(pages.values_list("incident_id", flat=True)) == Counter(ids)
    assert sorted(pk for task in published for pk in task) == sorted(deliveries)
    assert len(deliveries) == COUNT
    assert all(len(task) <= outbox.SEND_BATCH for task in published)
    batches = [min(engine.BATCH, COUNT - start) for start in range(0, COUNT, engine.BATCH)]
    assert len(published) == sum(math.ceil(size / outbox.SEND_BATCH) for size in batches)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_incident_of_a_mass_outage_is_texted_exactly_once_by_a_real_worker(tmp_path, settings):
    require_postgres()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    ids = incidents_due(sms_policy(), COUNT)
    with FakeTwilio().running() as twilio:
        env = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token",
               "TWILIO_FROM_NUMBER": "+14155550100", "TWILIO_API_BASE_URL": twilio.url}  # fmt: skip
        with celery_worker(tmp_path, concurrency=2, **env):
            engine.escalation_tick()  # its pages' sends are published when each batch commits
            twilio.wait_for(COUNT, timeout=EVENTUALLY)
            time.sleep(1)  # a page sent twice would arrive now
    texted = Counter(int(re.search(r"Incident #(\d+)", r.form()["Body"])[1]) for r in twilio.requests)
    assert texted == Counter(ids), (tmp_path / "worker.log").read_text()[-3000:]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
