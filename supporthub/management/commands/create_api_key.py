"""Create an API key and print the raw key once (only its hash is stored)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from supporthub.roles import KeyScope
from supporthub.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the /v1 API and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. 'website form'.")
        parser.add_argument(
            "--scope",
            choices=KeyScope.values,
            default=KeyScope.AGENT,
            help="What the key may do (default: agent). intake-only suits a website form.",
        )

    def handle(self, *args: Any, name: str, scope: str, **options: Any) -> None:
        _, key = api_key_create(name=name, scope=scope)
        self.stdout.write(key)
