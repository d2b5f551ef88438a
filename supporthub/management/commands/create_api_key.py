"""Create an API key and print the raw key once (only its hash is stored)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from rest_framework_api_key.models import APIKey


class Command(BaseCommand):
    help = "Create an API key for the /v1 API and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. 'website form'.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        _, key = APIKey.objects.create_key(name=name)
        self.stdout.write(key)
