"""With DEBUG off no error response leaks a traceback or a setting; big bodies get 413."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.ops.boom_urls import LEAKY_MESSAGE

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.ops.boom_urls")]

LEAK_MARKERS = ["Traceback", "RuntimeError", LEAKY_MESSAGE, "SECRET_KEY", "DATABASES", "boom_urls", ".py"]


def _assert_no_leak(body: str) -> None:
    for marker in [*LEAK_MARKERS, settings.SECRET_KEY]:
        assert marker not in body, marker


@pytest.mark.parametrize("path", ["/boom", "/v1/boom"])
def test_a_crash_answers_500_json_without_a_stack_trace_or_settings(path):
    assert settings.DEBUG is False
    client = Client(raise_request_exception=False)

    response = client.get(path, HTTP_X_REQUEST_ID="crash-123")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.content.decode()
    _assert_no_leak(body)
    assert response.json()["code"] == "server_error"
    assert response["X-Request-ID"] == "crash-123"


def test_unknown_paths_and_bad_hosts_answer_json_without_details(client):
    assert client.get("/nope").json()["code"] == "not_found"
    response = client.get("/health", HTTP_HOST="evil.example")
    assert response.status_code == 400
    _assert_no_leak(response.content.decode())


def test_a_declared_oversized_body_gets_413_before_it_is_read(client):
    response = client.generic(
        "POST", "/v1/support/request", b"{}", content_type="application/json",
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BODY_BYTES + 1),
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_bad_content_length_is_a_clear_400(client):
    response = client.generic("POST", "/v1/support/request", b"{}", CONTENT_LENGTH="lots")
    assert response.status_code == 400
    assert response.json()["detail"] == "Content-Length is not a number."


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100, MAX_REQUEST_BODY_BYTES=10_000)
def test_a_form_body_over_the_memory_limit_is_a_413_not_a_vague_400(client):
    response = client.post("/form", {"field": "x" * 500})
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=5)
def test_too_many_form_fields_is_a_400_that_says_so(client):
    response = client.post("/form", {f"f{n}": "x" for n in range(10)})
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields"


def test_malformed_json_is_a_400_naming_the_problem(api):
    response = api.generic("POST", "/v1/support/request", b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    _assert_no_leak(response.content.decode())
