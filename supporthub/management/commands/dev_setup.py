"""Development conveniences for `make run`: a dev admin login and a dev API key."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework_api_key.models import APIKey

from supporthub.roles import KeyScope
from supporthub.services import api_key_create

DEV_USERNAME = "admin"
DEV_PASSWORD = "admin"  # noqa: S105 - development only, refused when DEBUG is off
DEV_KEY_NAME = "development"


class Command(BaseCommand):
    help = "Ensure a dev superuser and a dev API key exist (DEBUG only) and print how to use them."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("dev_setup only runs with DEBUG=true.")
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.create_superuser(DEV_USERNAME, "admin@localhost", DEV_PASSWORD)
            self.stdout.write(f"Created superuser {DEV_USERNAME} / {DEV_PASSWORD}")
        key_file = settings.VAR_DIR / "dev-api-key"
        key = key_file.read_text().strip() if key_file.exists() else ""
        if not key or not APIKey.objects.is_valid(key):
            _, key = api_key_create(name=DEV_KEY_NAME, scope=KeyScope.ADMIN)
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
        self.stdout.write(f"Admin:   {settings.PUBLIC_BASE_URL}/admin/  (login {DEV_USERNAME})")
        self.stdout.write(f"API docs: {settings.PUBLIC_BASE_URL}/docs")
        self.stdout.write(f"Dev API key (X-API-Key): {key}")
