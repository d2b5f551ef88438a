"""Idempotency-Key on the three POST endpoints that create things (IETF httpapi draft)."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Delivery
from supporthub.models import IdempotencyKey
from supporthub.tasks import idempotency_keys_purge
from tests.factories import TicketFactory, make_api_key
from tickets import services
from tickets.models import Message, Ticket

INTAKE = "/v1/support/request"


def intake(**overrides: object) -> dict[str, object]:
    return {
        "channel": "email",
        "name": "Ann Customer",
        "email": "ann@example.com",
        "subject": "Cannot log in",
        "message": "The login page says my password is wrong.",
    } | overrides


def client_with_key() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_api_key())
    return client


def written() -> tuple[int, int, int]:
    return Ticket.objects.count(), Message.objects.count(), Delivery.objects.count()


@pytest.mark.django_db
class TestSequentialReplays:
    def test_a_replayed_intake_returns_the_first_response_and_writes_nothing(self, api, settings):
        settings.SUPPORT_TEAM_EMAIL = "team@example.com"
        first = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="order-1")
        after_first = written()

        replay = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="order-1")

        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert replay["Idempotent-Replayed"] == "true"
        assert written() == after_first == (1, 1, after_first[2])
        assert after_first[2] >= 1  # the team was told once, not twice

    def test_key_order_and_spacing_of_the_body_do_not_matter(self, api):
        body = intake()
        api.post(INTAKE, body, format="json", HTTP_IDEMPOTENCY_KEY='"abc"')
        reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
        replay = api.post(INTAKE, reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="abc")
        assert replay.status_code == 201
        assert Ticket.objects.count() == 1

    def test_a_replayed_ticket_create_writes_nothing(self, api):
        body = {
            "subject": "Broken",
            "description": "It broke.",
            "contact": {"name": "Bo", "email": "bo@example.com"},
        }
        first = api.post("/v1/tickets", body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
        replay = api.post("/v1/tickets", body, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert Ticket.objects.count() == 1

    def test_a_replayed_message_is_sent_once(self, api):
        ticket = TicketFactory()
        body = {"ticket": ticket.pk, "direction": "outbound", "body": "We are on it."}
        first = api.post("/v1/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
        sent = Delivery.objects.count()
        replay = api.post("/v1/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="m-1")
        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert Message.objects.filter(ticket=ticket).count() == 1
        assert Delivery.objects.count() == sent

    def test_the_same_key_with_another_body_gets_422_and_writes_nothing(self, api):
        api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        before = written()
        response = api.post(INTAKE, intake(subject="Other"), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"
        assert written() == before

    def test_the_same_key_on_another_endpoint_gets_422(self, api):
        ticket = TicketFactory()
        api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        body = {"ticket": ticket.pk, "direction": "note", "body": "x"}
        assert api.post("/v1/messages", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 422

    def test_keys_are_scoped_to_the_api_key(self, api):
        other = client_with_key()
        assert api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
        # Another subject: identical requests would fold into one ticket whatever their keys.
        response = other.post(INTAKE, intake(subject="Locked out"), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
        assert Ticket.objects.count() == 2

    def test_keys_are_scoped_to_the_session_user(self, admin_user, other_agent):
        other_agent.is_superuser = True
        other_agent.save()
        codes = []
        for user in (admin_user, other_agent, admin_user):
            client = APIClient()
            client.force_login(user)
            body = intake(subject=f"Cannot log in ({user.username})")  # identical requests would fold
            codes.append(client.post(INTAKE, body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code)
        assert codes == [201, 201, 201]
        assert Ticket.objects.count() == 2

    def test_a_refused_request_releases_its_key(self, api):
        bad = api.post(INTAKE, intake(email="not-an-address"), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert bad.status_code == 400
        good = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert good.status_code == 201
        assert "Idempotent-Replayed" not in good

    def test_a_key_older_than_24_hours_starts_afresh(self, api):
        api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
        response = api.post(INTAKE, intake(subject="New day"), format="json", HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 201
        assert Ticket.objects.count() == 2

    @pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", '"unbalanced'])
    def test_a_malformed_key_gets_400_naming_the_header(self, api, key):
        response = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()["errors"]
        assert not Ticket.objects.exists()

    def test_a_retry_while_the_first_request_is_in_flight_gets_409(self, api):
        """The retry arrives while the first request is inside the intake service."""
        retries = []
        real_submit = services.support_request_submit

        def submit_and_meanwhile_retry(**data: object) -> object:
            retries.append(api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k"))
            return real_submit(**data)

        with mock.patch.object(services, "support_request_submit", submit_and_meanwhile_retry):
            first = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")

        assert first.status_code == 201
        assert retries[0].status_code == 409
        assert retries[0].json()["code"] == "idempotency_key_in_flight"
        assert Ticket.objects.count() == 1

    def test_a_first_request_that_died_unfinished_is_taken_over_after_the_in_flight_window(
        self, api, settings
    ):
        IdempotencyKey.objects.create(scope="x", key="k", fingerprint="f", created_at=timezone.now())
        api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")  # the real claim to copy
        claim = IdempotencyKey.objects.exclude(scope="x").get()
        Ticket.objects.all().delete()
        IdempotencyKey.objects.filter(pk=claim.pk).update(
            response_status=None, response_body="", created_at=timezone.now() - timedelta(seconds=601)
        )
        settings.IDEMPOTENCY_IN_FLIGHT_SECONDS = 600

        response = api.post(INTAKE, intake(), format="json", HTTP_IDEMPOTENCY_KEY="k")

        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
        assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_the_purge_deletes_only_keys_past_their_24_hours():
    now = timezone.now()
    old = IdempotencyKey.objects.create(
        scope="s", key="old", fingerprint="f", created_at=now - timedelta(hours=25)
    )
    fresh = IdempotencyKey.objects.create(
        scope="s", key="new", fingerprint="f", created_at=now - timedelta(hours=23)
    )
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_the_schema_documents_the_header_and_its_answers_on_the_writes_that_take_it(api):
    schema = api.get("/v1/schema", {"format": "json"}).json()
    with_header = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if any(
            p["name"] == "Idempotency-Key" and p["in"] == "header" for p in operation.get("parameters", [])
        )
    }
    assert with_header == {
        "POST /v1/support/request",
        "POST /v1/tickets",
        "POST /v1/messages",
        "POST /v1/tickets/{id}/merge",
    }
    responses = schema["paths"]["/v1/tickets"]["post"]["responses"]
    assert {"409", "422"} <= responses.keys()
    assert "409" not in schema["paths"]["/v1/tickets"]["get"]["responses"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_five_concurrent_identical_intakes_make_one_ticket(live_server, settings):
    """Each thread is its own HTTP connection and database connection: the unique
    constraint, not this process, decides which request does the work."""
    settings.SUPPORT_TEAM_EMAIL = "team@example.com"
    key = make_api_key()
    barrier = threading.Barrier(5)
    results: list[tuple[int, dict[str, object]]] = []

    def post() -> None:
        request = urllib.request.Request(
            live_server.url + INTAKE,
            data=json.dumps(intake()).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": key, "Idempotency-Key": "retry-storm"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                results.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            results.append((error.code, json.loads(error.read())))

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted({code for code, _ in results}) <= [201, 409]
    created = [body for code, body in results if code == 201]
    assert created and all(body == created[0] for body in created)
    assert Ticket.objects.count() == 1
    deliveries = Delivery.objects.count()
    replay = urllib.request.Request(
        live_server.url + INTAKE,
        data=json.dumps(intake()).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key, "Idempotency-Key": "retry-storm"},
    )
    with urllib.request.urlopen(replay, timeout=30) as response:
        assert (response.status, json.loads(response.read())) == (201, created[0])
    assert (Ticket.objects.count(), Delivery.objects.count()) == (1, deliveries)
