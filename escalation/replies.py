"""What an on-call person's text to the support number means.

The one parser of replies to a page: it says which command a text is and nothing else.
Acting on it (who sent it, which incident, what to answer) is
`escalation.services.staff_text_receive`.

Accepted, case-insensitively, with any surrounding whitespace and trailing `.`, `!` or `?`:
`ACK`, `ACKNOWLEDGE` or `ACKNOWLEDGED`, optionally followed by an incident id written `12`
or `#12` ("ACK", "ack.", "Ack #12", "acknowledge 12", "Acknowledged!"). Anything else is
`Unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ACKNOWLEDGE = re.compile(
    r"\s*ack(?:nowledged?)?(?:(?:\s*#|\s)\s*(?P<incident>[0-9]{1,18}))?\s*[.!?]*\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Acknowledge:
    """Acknowledge incident `incident_id`, or (None) the newest one that paged the sender."""

    incident_id: int | None = None


@dataclass(frozen=True)
class Unknown:
    """Not a command."""


Reply = Acknowledge | Unknown

# What `Unknown` is answered with: the commands, as short as an SMS allows.
HELP = "SupportHub on-call commands: ACK acknowledges your newest page; ACK 12 acknowledges incident #12."


def parse(text: str) -> Reply:
    """The command `text` is."""
    match = _ACKNOWLEDGE.fullmatch(text or "")
    if match is None:
        return Unknown()
    incident = match.group("incident")
    return Acknowledge(incident_id=int(incident) if incident else None)
