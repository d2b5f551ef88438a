"""The voice webhooks' cost is a test: SQL statements per call and callback, and the cached on-call chain.

The webhook runs in autocommit, as in production: it inserts the CallLog and nothing else (the
chain comes from the cache, the ticket from the task it queues). bench/voice_calls.py
measures the same numbers, and the task's.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import ContactMethod, Override, Schedule
from telephony import calls
from telephony.models import CallLog
from tests.escalation.conftest import add_layer, make_oncall_user
from tests.query_counts import assert_constant
from tests.services import require_postgres
from tests.telephony.conftest import COMMITTING, ON_CALL, sid, twiml

pytestmark = pytest.mark.django_db

DANA = "+14155550101"
ELI = "+14155550102"
FAY = "+14155550103"
WEBHOOK_STATEMENTS = 1  # INSERT the CallLog, for a new and a returning caller alike
REPLAY_STATEMENTS = 2  # the INSERT refused by the unique CallSid, then SELECT the existing row
MONDAY_NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture
def rota(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    schedule = Schedule.objects.get(name="Support")
    dana, eli = make_oncall_user("dana", DANA), make_oncall_user("eli", ELI)
    add_layer(schedule, [eli], level=1)
    add_layer(schedule, [dana, eli], level=2)
    return schedule, dana, eli


def _statements(twilio, caller: str, call_sid: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        twiml(twilio.incoming_call(call_sid, caller=caller, attach=False))
    return len(queries)


@COMMITTING
def test_a_new_and_a_returning_caller_cost_one_statement_and_share_one_booking_run(
    twilio, rota, queued_bookings
):
    require_postgres()  # one statement: the INSERT takes its ids from PostgreSQL's sequences
    twiml(twilio.incoming_call(sid("CA"), caller="+14155550150", attach=False))  # caches the chain
    first, second = sid("CA"), sid("CA")

    assert _statements(twilio, "+14155550151", first) == WEBHOOK_STATEMENTS
    calls.call_ticket_attach(call_id=CallLog.objects.get(call_sid=first).pk)  # the caller now has a ticket
    assert _statements(twilio, "+14155550151", second) == WEBHOOK_STATEMENTS
    assert _statements(twilio, "+14155550151", second) == REPLAY_STATEMENTS

    assert queued_bookings == ["run"]  # queued by the first call; the run has not started yet
    assert CallLog.objects.get(call_sid=second).ticket is None  # the run books it, not the webhook


def test_an_override_made_between_two_calls_routes_the_very_next_call(twilio, rota):
    schedule, _, _ = rota
    with time_machine.travel(MONDAY_NOON, tick=False):
        first = sid("CA")
        twiml(twilio.incoming_call(first))
        fay = make_oncall_user("fay", FAY)
        Override.objects.create(
            schedule=schedule,
            user=fay,
            start=MONDAY_NOON - timedelta(hours=1),
            end=MONDAY_NOON + timedelta(hours=1),
        )
        second = sid("CA")
        twiml(twilio.incoming_call(second))

    assert CallLog.objects.get(call_sid=first).dial_targets[0] != FAY
    assert CallLog.objects.get(call_sid=second).dial_targets[0] == FAY


def test_a_new_contact_method_is_dialled_on_the_very_next_call(twilio, rota):
    _, _, eli = rota  # eli is always in the chain (the only one on level 1)
    twiml(twilio.incoming_call(sid("CA")))
    ContactMethod.objects.filter(user=eli).delete()
    ContactMethod.objects.create(user=eli, kind="voice", address="+14155550177")
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    assert "+14155550177" in CallLog.objects.get(call_sid=call_sid).dial_targets
    assert ELI not in CallLog.objects.get(call_sid=call_sid).dial_targets


def test_the_cached_chain_follows_the_shift_change_without_any_save(twilio, rota):
    schedule, _, _ = rota
    handoff = datetime(2026, 3, 2, 9, tzinfo=schedule.tz)
    before, after = sid("CA"), sid("CA")
    with time_machine.travel(handoff - timedelta(minutes=1), tick=False):
        twiml(twilio.incoming_call(before))
    with time_machine.travel(handoff + timedelta(minutes=1), tick=False):
        twiml(twilio.incoming_call(after))

    first, second = (CallLog.objects.get(call_sid=s).dial_targets for s in (before, after))
    assert {first[0], second[0]} == {DANA, ELI}  # the level-2 rotation handed over at 09:00
    assert first[-1] == second[-1] == ON_CALL


# BEGIN; SELECT the leg; lock the inbound call; UPDATE the leg; outcome_settle's answered-leg
# lookup; COMMIT. Nothing is re-read: the webhook answers from none of the rows.
LEG_STATUS_STATEMENTS = 6


@COMMITTING
def test_a_forwarded_legs_status_callback_costs_six_statements(twilio, queued_bookings):
    require_postgres()
    call_sid, leg_sid = sid("CA"), sid("CA")
    leg = {"ParentCallSid": call_sid, "To": ON_CALL}
    twiml(twilio.incoming_call(call_sid, attach=False))
    twiml(twilio.status(leg_sid, "initiated", **leg))

    with CaptureQueriesContext(connection) as queries:
        twiml(twilio.status(leg_sid, "ringing", **leg))

    assert len(queries) == LEG_STATUS_STATEMENTS, [q["sql"][:60] for q in queries]
    assert CallLog.objects.get(call_sid=leg_sid).status == "ringing"


# --- the call console -----------------------------------------------------------------------
def _call_with_legs(i: int) -> CallLog:
    from tests.factories import TicketFactory

    call = CallLog.objects.create(
        call_sid=sid("CA"),
        direction="inbound",
        from_number=f"+1415555{i:04d}",
        to_number=DANA,
        ticket=TicketFactory(),
    )
    CallLog.objects.create(
        call_sid=sid("CA"), direction="outbound", from_number=DANA, to_number=ELI, parent=call
    )
    return call


def test_the_call_changelist_is_constant_in_rows(admin_client):
    assert_constant(admin_client, "/admin/telephony/calllog/", _call_with_legs)


def test_a_calls_change_page_is_constant_in_its_legs(admin_client):
    call = _call_with_legs(99)

    def leg(i: int) -> None:
        CallLog.objects.create(
            call_sid=sid("CA"),
            direction="outbound",
            from_number=DANA,
            to_number=f"+1415666{i:04d}",
            parent=call,
        )

    assert_constant(admin_client, f"/admin/telephony/calllog/{call.pk}/change/", leg)
