"""The iCalendar feed of a schedule's shifts (one VEVENT per shift, gaps included).

A feed made at any time shows each shift the same way: its real start and end
(`oncall.whole_shifts`), a UID made of the schedule, the shift's start and its person, and
DTSTAMP the schedule's last change, so calendar apps see no change where there is none.
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
from django.conf import settings

from escalation import oncall
from escalation.models import Schedule


def _name(user: object) -> str:
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or str(user)


def schedule_ical(schedule: Schedule, start: datetime, end: datetime) -> bytes:
    """An RFC 5545 calendar with the shifts that overlap [start, end), whole; returns the encoded bytes."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.APP_NAME}//On-call//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"On call: {schedule.name}")
    calendar.add("x-wr-timezone", schedule.time_zone)
    for shift in oncall.whole_shifts(schedule, start, end):
        event = icalendar.Event()
        who = "Nobody on call (gap)" if shift.is_gap else f"On call: {_name(shift.user)}"
        event.add(
            "uid",
            f"schedule-{schedule.pk}-{int(shift.start.timestamp())}-{shift.user_id or 'gap'}@supporthub",
        )
        event.add("dtstamp", schedule.updated_at.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        event.add("summary", who)
        event.add("description", f"Schedule {schedule.name}; source {shift.source}.")
        if shift.user_id is not None:
            event.add("x-supporthub-user-id", str(shift.user_id))
        calendar.add_component(event)
    return calendar.to_ical()
