"""Shared fixtures: personas, an authenticated API client, and real-service helpers."""

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from supporthub.roles import AGENT, sync_roles
from tests.factories import ContactFactory, UserFactory, make_api_key
from tests.services import UNREACHABLE_CACHE, require_service  # noqa: F401 - require_service re-exported


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Tests run in random order (pytest-randomly); -q hides the header naming the seed."""
    seed = config.getoption("randomly_seed", None)
    if seed is not None:
        terminalreporter.write_line(f"random order: -p randomly --randomly-seed={seed} repeats it")


# --- tests whose transactions commit ---------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Refuse to run a test whose transactions commit unless it reloads the migrated rows.

    Such a test ends with pytest-django flushing every table. With serialized_rollback the
    flush leaves the database empty and the next such test reloads the rows the migrations
    wrote (roles, the default schedule and policy, SLA targets). Without it the flush runs
    post_migrate, which recreates content types, permissions and the roles under new ids, and
    the next test's reload then fails on a duplicate "Agent" group: the suite would pass or
    fail depending on its order. So every committing test uses serialized_rollback.
    """
    if _commits(item) and not _reloads_migrated_rows(item):
        pytest.fail(
            "a test whose transactions commit needs "
            "@pytest.mark.django_db(transaction=True, serialized_rollback=True) "
            "or the django_db_serialized_rollback fixture (see tests/conftest.py)",
            pytrace=False,
        )


def _django_db_option(item: pytest.Item, name: str) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get(name))


def _commits(item: pytest.Item) -> bool:
    fixtures = getattr(item, "fixturenames", ())
    return (
        _django_db_option(item, "transaction")
        or _django_db_option(item, "reset_sequences")
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


def _reloads_migrated_rows(item: pytest.Item) -> bool:
    return _django_db_option(item, "serialized_rollback") or "django_db_serialized_rollback" in getattr(
        item, "fixturenames", ()
    )


# --- personas ---------------------------------------------------------------------------
def in_role(user, role: str):
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def agent(db):
    return in_role(UserFactory(username="alice"), AGENT)


@pytest.fixture
def other_agent(db):
    return in_role(UserFactory(username="bob"), AGENT)


@pytest.fixture
def agent_client(client, agent):
    """The test client, logged in as the agent, with the roles' permissions as migrated."""
    sync_roles()
    client.force_login(agent)
    return client


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def customer(db):
    return ContactFactory(name="Carol Customer", email="carol@example.com", phone="+14155550123")


@pytest.fixture
def api_key(db) -> str:
    return make_api_key()


@pytest.fixture
def api(api_key) -> APIClient:
    """A client that sends a valid X-API-Key on every request."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def counted_api(api, monkeypatch, settings) -> APIClient:
    """`api` for tests that count queries: its key is checked and its use recorded by a first
    request here, then kept for the whole test. A process re-reads a verified key every
    KEY_RECHECK_SECONDS, which a loaded machine could pass mid-test, adding a query."""
    monkeypatch.setattr("supporthub.services.KEY_RECHECK_SECONDS", 3600.0)
    settings.API_KEY_LAST_USED_RESOLUTION_SECONDS = 3600
    assert api.get("/v1/tickets/0").status_code == 404  # after the key check
    return api


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _no_real_env_api_key(settings):
    """Tests opt in to the API_KEY environment key explicitly."""
    settings.API_KEY = os.environ.get("SUPPORTHUB_TEST_FORCE_API_KEY", "")


@pytest.fixture(scope="session", autouse=True)
def _collected_static(django_db_blocker):
    """DEBUG is off in tests, so whitenoise's manifest must exist, as in production."""
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # incremental: fast when nothing changed


# --- rate limits, metrics ---------------------------------------------------------------
@pytest.fixture(autouse=True)
def _rate_limits_off(settings):
    """Suites make many requests from 127.0.0.1 within a minute; tests of the limits opt in
    (tests/ops/test_rate_limits.py turns them back on)."""
    settings.RATELIMIT_ENABLE = False


# --- the cached on-call chain ---------------------------------------------------------
@pytest.fixture(autouse=True)
def _lanes_closed():
    """No test leaves send lanes (threads holding database connections) to the next one or
    to the test database's teardown."""
    from notifications.lanes import lanes_close

    yield
    lanes_close()


@pytest.fixture(autouse=True)
def _fresh_phone_chain():
    """Each test starts with no cached on-call chain (a rolled-back test sends no signal)."""
    from escalation.selectors import phone_chain_invalidate

    phone_chain_invalidate()
    yield
    phone_chain_invalidate()


# --- per-process memos ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_memos():
    """Each test starts with no kept planner estimates, no verified API keys, no SLA targets,
    no schedule health gauges and no call booking run marked as queued."""
    from escalation.metrics import COLLECTOR as SCHEDULE_HEALTH
    from supporthub.api.pagination import forget_estimates
    from supporthub.services import forget_api_keys
    from telephony.calls import BOOKING_QUEUED_KEY
    from tickets.sla import sla_targets_invalidate

    forget_estimates()
    forget_api_keys()
    sla_targets_invalidate()  # a rolled-back test's policies send no signal
    SCHEDULE_HEALTH.forget()  # computed from another test's schedules
    cache.delete(BOOKING_QUEUED_KEY)


@pytest.fixture
def cache_down(settings):
    """The shared cache (Redis) is unreachable: nothing listens on port 1."""
    settings.CACHES = {"default": UNREACHABLE_CACHE}
