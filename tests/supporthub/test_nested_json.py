"""A deeply nested JSON body is a 400 on every route that parses JSON, never a RecursionError."""

import base64

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from supporthub.middleware import MAX_JSON_DEPTH, json_depth

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000


def _write_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path.replace("{id}", "1"))
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("post", "put", "patch")
    ]


WRITES = _write_operations()


def test_the_schema_lists_the_write_routes():
    assert ("POST", "/v1/support/request") in WRITES
    assert ("PATCH", "/v1/tickets/1") in WRITES


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_every_write_route_answers_400_to_deeply_nested_json(api, method, path):
    api.raise_request_exception = False
    response = api.generic(method, path, DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"JSON nested deeper than {MAX_JSON_DEPTH} levels."


def test_the_inbound_email_webhook_answers_400_to_deeply_nested_json(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "inbound:s3cret"}
    client = Client(raise_request_exception=False)
    response = client.post(
        "/webhooks/email/postmark/inbound/",
        data='{"RawEmail": ' + DEEP,
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"inbound:s3cret").decode(),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth(('{"body": "' + DEEP + '"}').encode()) == 1
    assert json_depth(('{"a": "\\"[", "b": [[' + "[" * 70 + "]" * 72 + "}").encode()) == 73


def test_an_ordinary_body_with_many_brackets_passes(api):
    body = '{"channel": "chat", "name": "N", "email": "n@example.com", "subject": "S", "message": "'
    body += "[x] " * 100 + '"}'
    assert api.post("/v1/support/request", body, content_type="application/json").status_code == 201
