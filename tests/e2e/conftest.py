"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connections

from supporthub.roles import AGENT
from tests.factories import UserFactory
from tests.services import require_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser():
    """A Chromium for one test.

    While Playwright's sync API runs, its event loop counts as running in this thread, and
    Django keeps other database connections for it (asgiref's thread-critical Local). Kept for
    the session, it would hide from every later test the connection that holds pytest-django's
    snapshot of the migrated rows, and those tests would lose the rows (serialized_rollback).
    """
    if not Path(CHROMIUM).exists():
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()  # those opened while the loop ran


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _migrated_rows(django_db_serialized_rollback):
    """The live server sees only committed rows, so every browser test commits, and reloads
    what the migrations wrote (the roles) as tests/conftest.py requires of such tests."""


@pytest.fixture
def console_agent(transactional_db):
    user = UserFactory(username="agent.alice", first_name="Alice")
    user.groups.add(Group.objects.get(name=AGENT))
    return user


@pytest.fixture
def console_admin(transactional_db):
    return UserFactory(username="admin.root", is_superuser=True)


def login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#console-dashboard")


@pytest.fixture(autouse=True)
def _unhashed_static(settings):
    """The live server serves static files through finders, which know no hashed names."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def other_console_agent(transactional_db):
    user = UserFactory(username="agent.bob", first_name="Bob")
    user.groups.add(Group.objects.get(name=AGENT))
    return user
