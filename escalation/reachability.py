"""Can each on-call person be reached? Test pages per contact method, and a check before each shift.

A contact method is shown to reach its owner when, within REACH_DAYS, its owner answered a
test page on it (`verified_at`) or an incident page to it was delivered (a call: answered
by a person). Before each shift
(ONCALL_REACHABILITY_LEAD_HOURS ahead) a person with no such method is warned, and so is the
team, once per shift.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from escalation import notices, oncall, paging
from escalation.models import ContactMethod, ContactMethodKind, IncidentPage, PageCallOutcome, Schedule
from notifications import builders
from notifications.models import DeliveryStatus
from supporthub.exceptions import DomainError
from supporthub.phone import InvalidPhoneNumber, to_e164

logger = logging.getLogger(__name__)

REACH_DAYS = 30
TESTABLE = (ContactMethodKind.SMS, ContactMethodKind.VOICE, ContactMethodKind.EMAIL)
TEST_PAGE_VALID = timedelta(days=1)  # how long a test page can be answered
TEST_CALL_PROMPT = "This is a SupportHub test page. Press 1 to confirm that calls reach you."


def _lead() -> timedelta:
    return timedelta(hours=settings.ONCALL_REACHABILITY_LEAD_HOURS)


def verify_link(method: ContactMethod, code: str) -> str:
    """The public link an email test page asks its owner to open."""
    path = reverse("oncall-verify-link", kwargs={"pk": method.pk, "code": code})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def contact_method_test_page(*, method: ContactMethod) -> int:
    """Send `method` a test page its owner answers (reply, key press, link); returns the Delivery id.

    A new test page replaces the code of the previous one. Raises DomainError (field "kind")
    for a method that gets no test page (Slack).
    """
    if method.kind not in TESTABLE:
        raise DomainError("Only SMS, voice and email contact methods get a test page.", field="kind")
    numeric = method.kind != ContactMethodKind.EMAIL
    code = f"{secrets.randbelow(10**6):06d}" if numeric else secrets.token_urlsafe(16)
    # update(): the phone chain reads no code, so no cache invalidation on save.
    ContactMethod.objects.filter(pk=method.pk).update(test_code=code, test_sent_at=timezone.now())
    subject = f"{settings.APP_NAME} test page"
    payload: dict[str, Any] | None = None
    if method.kind == ContactMethodKind.SMS:
        body = f"{settings.APP_NAME} test page. Reply VERIFY {code} to confirm that pages reach you."
    elif method.kind == ContactMethodKind.VOICE:
        from telephony import twilio as twiml
        from telephony.webhooks import public_url

        body = TEST_CALL_PROMPT
        action = public_url("oncall-verify-call", method=method.pk, code=code)
        payload = {
            "twiml": twiml.voice_gather_digit(
                prompt=TEST_CALL_PROMPT, action_url=action, goodbye="Not confirmed. Goodbye."
            )
        }
    else:
        link = verify_link(method, code)
        body = f"Open this link to confirm that pages to {method.address} reach you:\n\n{link}\n"
    return paging.notify(
        channel=method.kind,
        recipient=method.address,
        subject=subject,
        body=body,
        payload=payload,
        idempotency_key=f"test-page:{method.pk}:{code}",
    )


def contact_method_verify(*, method_id: int, code: str, now: datetime | None = None) -> ContactMethod | None:
    """Record that `method_id`'s owner answered its last test page with `code`; returns the
    method, or None when the code is not that of its last test page or is over a day old."""
    now = now or timezone.now()
    matched = ContactMethod.objects.filter(
        pk=method_id, test_code=code, test_sent_at__gt=now - TEST_PAGE_VALID
    ).exclude(test_code="")
    if not matched.update(verified_at=now, test_code=""):
        return None
    logger.info("contact method %s verified", method_id)
    return ContactMethod.objects.get(pk=method_id)


def contact_method_verify_by_text(*, number: str, code: str) -> str:
    """VERIFY <code> texted from `number`: verify its SMS method; returns the answer to send."""
    try:
        e164 = to_e164(number)
    except InvalidPhoneNumber:
        e164 = ""
    method = ContactMethod.objects.filter(kind=ContactMethodKind.SMS, address=e164, test_code=code).first()
    if method is None or contact_method_verify(method_id=method.pk, code=code) is None:
        return "That code matches no test page sent to this number in the last day; send a new one."
    return f"Confirmed: pages to {e164} reach you."


def reachable_user_ids(user_ids: set[int], now: datetime) -> set[int]:
    """Those of `user_ids` with a method verified, or delivering an incident page, within REACH_DAYS."""
    since = now - timedelta(days=REACH_DAYS)
    methods = ContactMethod.objects.filter(user_id__in=user_ids, kind__in=TESTABLE)
    reachable = set(methods.filter(verified_at__gte=since).values_list("user_id", flat=True))
    addresses = set(methods.values_list("user_id", "kind", "address"))
    delivered = (
        IncidentPage.objects.filter(
            user_id__in=user_ids - reachable,
            delivery__status=DeliveryStatus.SENT,
            delivery__sent_at__gte=since,
        )
        # A call reached its person only when a person answered it (not voicemail).
        .exclude(Q(channel=ContactMethodKind.VOICE) & ~Q(call_outcome=PageCallOutcome.ANSWERED))
        .values_list("user_id", "channel", "recipient")
    )
    reachable.update(user_id for user_id, kind, address in delivered if (user_id, kind, address) in addresses)
    return reachable


def unreachable_shifts(schedule: Schedule, now: datetime | None = None) -> list[oncall.Shift]:
    """The shifts on now or starting within the lead time whose person is not shown reachable."""
    now = now or timezone.now()
    return unreachable_shifts_many({schedule.pk: oncall.load(schedule, overrides_from=now)}, now)[schedule.pk]


def unreachable_shifts_many(
    specs: dict[int, oncall.ScheduleSpec], now: datetime
) -> dict[int, list[oncall.Shift]]:
    """`unreachable_shifts` of many loaded schedules by id, in a fixed number of queries."""
    # Split at handoffs: each shift after the one on now starts at its real start.
    shifts = {
        pk: [s for s in oncall.shifts(spec, now, now + _lead(), split_handoffs=True) if not s.is_gap]
        for pk, spec in specs.items()
    }
    users = {s.user_id for each in shifts.values() for s in each if s.user_id is not None}
    reachable = reachable_user_ids(users, now)
    return {pk: [s for s in each if s.user_id not in reachable] for pk, each in shifts.items()}


def reachability_check(now: datetime | None = None) -> int:
    """Warn each person whose shift starts within the lead time and is not shown reachable, and
    the team, once per shift; returns how many such shifts there are."""
    now = now or timezone.now()
    warned = 0
    for schedule in Schedule.objects.all():
        for shift in unreachable_shifts(schedule, now):
            if shift.start == now:
                continue  # on call now: warned before it started
            warned += 1
            key = f"reachability:{schedule.pk}:{shift.user_id}:{int(shift.start.timestamp())}"
            when = schedule.local(shift.start)
            notices.person_notify(
                user=shift.user,
                text=(
                    f"{settings.APP_NAME}: your on-call shift on {schedule} starts {when}, and none of "
                    f"your contact methods answered a test page or got a page in {REACH_DAYS} days. "
                    "Send yourself a test page (admin, Contact methods)."
                ),
                key=f"{key}:person",
            )
            builders.team_notice(
                text=(
                    f"[{settings.APP_NAME}] {shift.user} goes on call on {schedule} at {when}, but none "
                    f"of their contact methods answered a test page or got a page in {REACH_DAYS} days."
                ),
                key=key,
            )
    return warned
