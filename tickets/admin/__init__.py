"""The agent console for tickets (Django admin)."""

from tickets.admin import other, tickets  # noqa: F401 - registers the ModelAdmins
