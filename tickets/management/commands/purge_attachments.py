"""Delete attachments (rows and files) older than ATTACHMENT_RETENTION_DAYS."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tickets.attachments import attachments_purge


class Command(BaseCommand):
    help = "Delete attachments older than ATTACHMENT_RETENTION_DAYS days (0 keeps them); beat runs it daily."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override ATTACHMENT_RETENTION_DAYS.")

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        deleted = attachments_purge(days=days)
        self.stdout.write(f"Deleted {deleted} attachment(s).")
