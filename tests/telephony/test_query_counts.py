"""The voice webhook's cost is a test: SQL statements per call, and the cached on-call chain.

Counts are inside the test's transaction (atomic blocks are savepoints here); in production a
new caller costs 17 statements and a returning caller 10 (bench/voice_calls.py).
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation.models import ContactMethod, Override, Schedule
from telephony.models import CallLog
from tests.escalation.conftest import _seed_defaults, add_layer, make_oncall_user
from tests.telephony.conftest import ON_CALL, sid, twiml

pytestmark = pytest.mark.django_db

DANA = "+14155550101"
ELI = "+14155550102"
FAY = "+14155550103"
NEW_CALLER_STATEMENTS = 17
RETURNING_CALLER_STATEMENTS = 10
MONDAY_NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture
def rota(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _seed_defaults()
    schedule = Schedule.objects.get(name="Support")
    dana, eli = make_oncall_user("dana", DANA), make_oncall_user("eli", ELI)
    add_layer(schedule, [eli], level=1)
    add_layer(schedule, [dana, eli], level=2)
    return schedule, dana, eli


def _statements(twilio, caller: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        twiml(twilio.incoming_call(sid("CA"), caller=caller))
    return len(queries)


def test_a_new_caller_and_a_returning_caller_cost_a_fixed_number_of_statements(twilio, rota):
    twiml(twilio.incoming_call(sid("CA"), caller="+14155550150"))  # computes and caches the chain

    assert _statements(twilio, "+14155550151") == NEW_CALLER_STATEMENTS
    assert _statements(twilio, "+14155550151") == RETURNING_CALLER_STATEMENTS
    assert _statements(twilio, "+14155550152") == NEW_CALLER_STATEMENTS


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
