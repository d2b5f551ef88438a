"""Schemathesis: every operation of /v1, fuzzed from our own OpenAPI schema.

Invariant: no input makes the API answer 5xx, and every answer matches the schema
(status codes, content types, bodies). Bounded examples per operation so it fits CI.
"""

import json

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import positive_data_acceptance

from supporthub.wsgi import application
from tests.factories import TicketFactory, make_api_key

MAX_EXAMPLES = 25


def _schema() -> schemathesis.schemas.BaseSchema:
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = application
    return loaded


schema = _schema()


@pytest.fixture
def fuzz_key(db):
    TicketFactory.create_batch(3)  # something for the list and detail operations to find
    # The app runs in-process inside the test's transaction: like Django's test client,
    # keep the per-request connection clean-up from closing that connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield make_api_key("schemathesis")
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.filterwarnings("ignore")
@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_fails_and_always_matches_its_schema(case, fuzz_key):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "testserver"]
    # Business rules (email required for channel=email, a ticket id that must exist) reject
    # schema-valid input by design, so "positive data acceptance" does not apply.
    case.call_and_validate(headers={"X-API-Key": fuzz_key}, excluded_checks=[positive_data_acceptance])
