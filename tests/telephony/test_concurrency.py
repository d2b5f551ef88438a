"""Twilio retries and a booking run racing each other on PostgreSQL: one call, one ticket."""

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection

from telephony import calls, services
from telephony.models import CallLog
from tests.services import require_postgres
from tests.telephony.conftest import CALLER, COMMITTING, ON_CALL, SUPPORT_LINE, sid
from tickets.models import Message, Ticket

pytestmark = [pytest.mark.integration, COMMITTING]


def race(*targets: Callable[[], object]) -> list:
    """Run each target in its own thread, all released at the same instant; return results/errors."""
    barrier = threading.Barrier(len(targets))
    results: list = []

    def run(target: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def receive(call_sid: str) -> CallLog:
    return calls.call_inbound_receive(
        call_sid=call_sid, from_number=CALLER, to_number=SUPPORT_LINE, payload={}
    )[0]


def test_simultaneous_copies_of_an_inbound_call_log_one_call_and_queue_one_booking_run(queued_bookings):
    require_postgres()
    call_sid = sid("CA")
    results = race(*[lambda: receive(call_sid).pk] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert CallLog.objects.count() == 1
    assert queued_bookings == ["run"]


def test_the_booking_task_racing_callbacks_makes_one_ticket_with_one_incoming_call_message(queued_bookings):
    require_postgres()
    call_sid = sid("CA")
    call = receive(call_sid)
    book = partial(calls.call_ticket_attach, call_id=call.pk)  # what the task runs
    answered = partial(
        services.call_dial_result, call_sid=call_sid, attempt=0, dial_status="completed", payload={}
    )
    results = race(book, answered, book, answered, book, answered)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Ticket.objects.count() == 1
    assert CallLog.objects.get().ticket == Ticket.objects.get()
    assert Message.objects.filter(external_id=call_sid).count() == 1
    assert Message.objects.filter(external_id=f"{call_sid}:answered").count() == 1


def test_simultaneous_recording_callbacks_attach_the_voicemail_once(queued_bookings):
    require_postgres()
    call_sid, recording_sid = sid("CA"), sid("RE")
    calls.call_ticket_attach(call_id=receive(call_sid).pk)
    record = partial(
        services.call_recording_receive,
        call_sid=call_sid,
        recording_sid=recording_sid,
        recording_url=f"https://api.twilio.com/Recordings/{recording_sid}",
        recording_status="completed",
        recording_duration=12,
        payload={},
    )
    results = race(*[record] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Message.objects.filter(external_id=recording_sid).count() == 1


def test_racing_callbacks_of_an_answered_call_decide_it_once_without_deadlock(queued_bookings):
    require_postgres()
    call_sid, leg_sid = sid("CA"), sid("CA")
    call = receive(call_sid)
    leg: dict[str, Any] = {
        "call_sid": leg_sid,
        "parent_call_sid": call_sid,
        "from_number": CALLER,
        "to_number": ON_CALL,
    }
    leg_answered = partial(services.call_status_record, status="in-progress", payload={}, **leg)
    leg_completed = partial(services.call_status_record, status="completed", duration=40, payload={}, **leg)
    hung_up = partial(services.call_status_record, call_sid=call_sid, status="completed", payload={})
    dial_completed = partial(
        services.call_dial_result, call_sid=call_sid, attempt=0, dial_status="completed", payload={}
    )
    book = partial(calls.call_ticket_attach, call_id=call.pk)
    results = race(
        hung_up, dial_completed, leg_completed, leg_answered, book, hung_up, dial_completed, leg_answered
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    call.refresh_from_db()
    assert (call.status, call.outcome, call.forwarded_to) == ("completed", "answered", ON_CALL)
    assert call.answered_at is not None
    assert Ticket.objects.count() == 1
    assert CallLog.objects.filter(parent=call).count() == 1
    assert Message.objects.filter(external_id=f"{call_sid}:answered").count() == 1
    assert not Message.objects.filter(external_id=f"{call_sid}:missed").exists()
