import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from rest_framework_api_key.models import APIKey

from supporthub.tasks import enqueue_on_commit, ping
from tests.services import broker

pytestmark = pytest.mark.django_db


def test_dev_setup_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("dev_setup")


def test_dev_setup_makes_an_admin_and_one_reusable_key(settings, tmp_path, capsys):
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    call_command("dev_setup")
    first = capsys.readouterr().out
    call_command("dev_setup")
    second = capsys.readouterr().out
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    key = (tmp_path / "dev-api-key").read_text().strip()
    assert key in first and key in second
    assert APIKey.objects.count() == 1
    assert APIKey.objects.is_valid(key)


def test_enqueue_on_commit_survives_an_unreachable_broker(
    settings, caplog, django_capture_on_commit_callbacks
):
    with (
        broker("redis://127.0.0.1:1/0"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        enqueue_on_commit(ping)
    assert len(callbacks) == 1
    assert "broker unavailable" in caplog.text


def test_ping_answers_pong():
    assert ping() == "pong"
