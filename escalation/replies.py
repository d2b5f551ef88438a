"""What an on-call person's text to the support number means.

The one parser of texts from on-call staff: it says which command a text is and nothing
else. Acting on it (who sent it, which incident or schedule, what to answer) is
`escalation.services.staff_text_receive`.

Accepted, case-insensitively, with any surrounding whitespace and trailing `.`, `!` or `?`:
- `ACK`, `ACKNOWLEDGE` or `ACKNOWLEDGED`, optionally followed by an incident id written `12`
  or `#12` ("ACK", "ack.", "Ack #12", "acknowledge 12", "Acknowledged!");
- `TAKE`, optionally followed by a schedule's name ("TAKE", "take.", "TAKE Night desk");
- `VERIFY` and the six-digit code of a test page ("VERIFY 482913").
Anything else is `Unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = r"\s*[.!?]*\s*"
_ACKNOWLEDGE = re.compile(
    r"\s*ack(?:nowledged?)?(?:(?:\s*#|\s)\s*(?P<incident>[0-9]{1,18}))?" + _END, re.IGNORECASE
)
_TAKE = re.compile(r"\s*take(?:\s+(?P<schedule>\S.{0,99}?))?" + _END, re.IGNORECASE | re.DOTALL)
_VERIFY = re.compile(r"\s*verify\s+(?P<code>[0-9]{6})" + _END, re.IGNORECASE)


@dataclass(frozen=True)
class Acknowledge:
    """Acknowledge incident `incident_id`, or (None) the newest one that paged the sender."""

    incident_id: int | None = None


@dataclass(frozen=True)
class Take:
    """Take the pager of the schedule named `schedule`, or ("") of the sender's schedule."""

    schedule: str = ""


@dataclass(frozen=True)
class Verify:
    """The answer to a test page: its code."""

    code: str


@dataclass(frozen=True)
class Unknown:
    """Not a command."""


Reply = Acknowledge | Take | Verify | Unknown

# What `Unknown` is answered with: the commands, as short as one SMS allows.
HELP = (
    "SupportHub on-call: ACK acknowledges your newest page, ACK 12 incident #12; "
    "TAKE puts you on call now until the next handover."
)


def parse(text: str) -> Reply:
    """The command `text` is."""
    text = text or ""
    if match := _ACKNOWLEDGE.fullmatch(text):
        incident = match.group("incident")
        return Acknowledge(incident_id=int(incident) if incident else None)
    if match := _TAKE.fullmatch(text):
        return Take(schedule=(match.group("schedule") or "").strip())
    if match := _VERIFY.fullmatch(text):
        return Verify(code=match.group("code"))
    return Unknown()
