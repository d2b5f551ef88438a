"""Who made a change, for the history every change records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class Actor:
    """A staff user, or a named non-user: an API key, a customer, SupportHub itself.

    History rows store `user` as a foreign key and `name` as text, so a deleted user or a
    revoked key still reads as who it was.
    """

    user: User | None = None
    name: str = ""

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user=user, name=user.get_username())

    @classmethod
    def api_key(cls, key_name: str) -> Actor:
        return cls(name=f"API key “{key_name}”"[:200])

    @classmethod
    def customer(cls, contact: object) -> Actor:
        return cls(name=f"{contact} (customer)"[:200])

    def __str__(self) -> str:
        return self.name


SYSTEM = Actor(name="SupportHub")
