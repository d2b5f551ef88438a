"""Settings come from the environment and refuse unsafe combinations at start."""

import subprocess
import sys

import environ
import pytest

from tests.services import ROOT

LOAD_SETTINGS = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"


def load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "supporthub.settings",
        "PYTHONPATH": str(ROOT),
        "HOME": "/tmp",
        "ENV_FILE": "/dev/null",
    }
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        env={**base, **env},
        cwd="/tmp",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_with_the_default_secret_key_refuses_to_start():
    result = load({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is the development default while DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "short"}, "at least 32 characters"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"SUPPORT_FORWARD_NUMBER": "12345"}, "SUPPORT_FORWARD_NUMBER"),
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "must be set together"),
    ],
)
def test_unsafe_production_settings_are_named(env, message):
    result = load({"DEBUG": "false", "SECRET_KEY": "s" * 50, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_defaults_use_sqlite():
    result = load({"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_postgres_url_schemes_select_postgresql(scheme):
    config = environ.Env.db_url_config(f"{scheme}://u:p@db.example:5432/support")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "support"
    result = load({"DEBUG": "true", "DATABASE_URL": f"{scheme}://postgres@127.0.0.1:5432/test"})
    assert result.stdout.strip() == "supporthub.postgresql", result.stderr


def test_the_example_env_file_loads_as_it_is():
    """Copying .env.example to .env must not break start-up (empty values are commented out)."""
    result = load({"DEBUG": "true", "ENV_FILE": str(ROOT / ".env.example")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_every_setting_read_from_the_environment_is_listed_in_the_example():
    import re

    names = set(re.findall(r'env\.\w+\("([A-Z0-9_]+)"', (ROOT / "supporthub" / "settings.py").read_text()))
    example = (ROOT / ".env.example").read_text()
    missing = {name for name in names if not re.search(rf"^(# )?{name}=", example, re.M)} - {"ENV_FILE"}
    assert not missing


BIND_A_BROADCAST_QUEUE = """
import django; django.setup()
from supporthub.celery import app
with app.connection_for_write() as connection:
    channel = connection.default_channel
    channel.exchange_declare("celery.pidbox", type="fanout")
    channel.queue_declare("probe.pidbox")
    channel.queue_bind("probe.pidbox", "celery.pidbox", "")
"""


def test_the_embedded_broker_keeps_its_control_files_under_var(tmp_path):
    """kombu's filesystem transport writes its exchange tables to ./control by default, which
    put them at the top of the repository when `make run` started there."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "supporthub.settings",
        "PYTHONPATH": str(ROOT),
        "HOME": "/tmp",
        "ENV_FILE": "/dev/null",
        "DEBUG": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", BIND_A_BROADCAST_QUEUE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "control").exists()
    assert (ROOT / "var" / "broker" / "control" / "celery.pidbox.exchange").exists()
