"""Fixtures for the notifications tests: fake providers on 127.0.0.1 and a real SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

from tests.notifications.fakes import FakePostmark, FakeSlack, FakeSlackApi, FakeTwilio
from tests.services import free_port, redis_url, require_postgres

TWILIO_SID = "AC" + "0" * 32


class SmtpRecorder:
    """aiosmtpd handler keeping every accepted message; can refuse recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()
        self.rcpt_replies: dict[str, str] = {}  # address -> the answer to its RCPT TO
        self.data_delay = 0.0  # seconds between taking a message and answering 250
        self.peers: list[Any] = []  # the client address of each accepted message's connection
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content))
            self.peers.append(session.peer)
        await asyncio.sleep(self.data_delay)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port  # type: ignore[attr-defined]
    recorder.controller = controller  # type: ignore[attr-defined]
    try:
        yield recorder
    finally:
        with contextlib.suppress(Exception):  # a test may have stopped it already
            controller.stop()


@pytest.fixture
def smtp(settings, smtp_server):
    """Django sends through its SMTP backend to the loopback aiosmtpd server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


@pytest.fixture
def slack(settings):
    with FakeSlack().running() as server:
        settings.SLACK_WEBHOOK_URL = server.webhook_url
        settings.SLACK_CHANNEL = "#support"
        settings.SLACK_MIN_INTERVAL_SECONDS = 0
        yield server


@pytest.fixture
def slack_api(settings):
    """Slack's Web API faked on 127.0.0.1, with a bot token pointed at it."""
    with FakeSlackApi().running() as server:
        settings.SLACK_BOT_TOKEN = "xoxb-test-token"
        settings.SLACK_API_URL = server.api_url
        settings.SLACK_MIN_INTERVAL_SECONDS = 0
        yield server


@pytest.fixture
def twilio(settings):
    with FakeTwilio().running() as server:
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID
        settings.TWILIO_AUTH_TOKEN = "fake-token"
        settings.TWILIO_FROM_NUMBER = "+14155550100"
        settings.TWILIO_API_BASE_URL = server.url
        yield server


@pytest.fixture
def postmark(settings):
    with FakePostmark().running() as server:
        settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "fake-token", "POSTMARK_API_URL": server.url + "/"}
        yield server


@pytest.fixture
def anymail_test_backend(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


@pytest.fixture(autouse=True)
def _quiet_providers(settings):
    """No provider is configured unless a test asks for it; retries are fast."""
    settings.SUPPORT_TEAM_EMAIL = "team@support.example"
    settings.SLACK_WEBHOOK_URL = ""
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_FROM_NUMBER = ""
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0.2
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 2
    settings.DEFAULT_FROM_EMAIL = "SupportHub <support@support.example>"
    settings.PUBLIC_BASE_URL = "https://help.example.com"


@pytest.fixture(scope="module")
def shared_redis(django_db_setup):
    """The machine's Redis (our own db number), emptied of stale tasks from earlier runs."""
    require_postgres()
    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    return url
