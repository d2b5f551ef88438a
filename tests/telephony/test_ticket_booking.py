"""A call is booked on its ticket a moment after it rings: by the task the webhook queues, by
any callback that overtakes the task, or by the beat sweep when the task was lost. Whoever
comes first books it, once."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone

from telephony import calls, outcome, tasks
from telephony.calls import BOOKING_QUEUED_KEY, calls_ticket_sweep
from telephony.models import CallLog
from tests.services import broker
from tests.telephony.conftest import CALLER, COMMITTING, ON_CALL, SUPPORT_LINE, sid, twiml, verbs
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def run_booking_task() -> int:
    """The queued booking run, run late (after whatever overtook it); how many calls it booked."""
    return tasks.calls_book_pending.apply().get()


def sweep_later() -> int:
    later = timezone.now() + timedelta(seconds=django_settings.TELEPHONY_TICKET_SWEEP_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        return calls_ticket_sweep()


def assert_booked_once(call_sid: str) -> Ticket:
    call = CallLog.objects.get(call_sid=call_sid)
    assert Ticket.objects.count() == 1
    assert (call.ticket, call.ticket_pending) == (Ticket.objects.get(), False)
    incoming = Message.objects.get(external_id=call_sid)
    assert (incoming.ticket, incoming.body) == (call.ticket, f"Incoming call from {CALLER}.")
    return call.ticket


def test_the_webhook_answers_before_the_call_has_a_ticket_and_queues_one_booking(twilio):
    call_sid = sid("CA")
    root = twiml(twilio.incoming_call(call_sid, attach=False))

    assert root.find("Dial/Number").text == ON_CALL
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.ticket, call.ticket_pending) == (None, True)
    assert not Ticket.objects.exists()
    assert run_booking_task() == 1
    assert_booked_once(call_sid)


def test_a_replayed_booking_task_changes_nothing(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    assert run_booking_task() == 0
    assert run_booking_task() == 0
    assert_booked_once(call_sid)
    assert Ticket.objects.get().message_count == 1


def test_a_dial_result_before_the_booking_task_books_the_call_once(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid, attach=False))
    assert verbs(twiml(twilio.dial_result(call_sid, 0, "completed"))) == ["Say", "Hangup"]
    assert run_booking_task() == 0

    ticket = assert_booked_once(call_sid)
    assert list(ticket.messages.values_list("external_id", flat=True).order_by("id")) == [
        call_sid,
        f"{call_sid}:answered",
    ]


def test_a_hang_up_status_before_the_booking_task_books_the_missed_call_once(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid, attach=False))
    twiml(twilio.status(call_sid, "completed", CallDuration="4"))
    run_booking_task()
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        outcome.calls_outcome_sweep()  # no Dial result came: the caller hung up during the greeting

    ticket = assert_booked_once(call_sid)
    assert ticket.messages.filter(external_id=f"{call_sid}:missed").count() == 1


def test_a_voicemail_before_the_booking_task_books_the_call_once(twilio, settings):
    settings.SUPPORT_FORWARD_NUMBER = ""  # nobody to ring: straight to voicemail
    call_sid, recording_sid = sid("CA"), sid("RE")
    assert "Record" in verbs(twiml(twilio.incoming_call(call_sid, attach=False)))
    twiml(twilio.recording(call_sid, recording_sid, status=None))
    twiml(twilio.transcription(call_sid, sid("TR"), "Call me back"))
    run_booking_task()

    ticket = assert_booked_once(call_sid)
    assert ticket.messages.filter(external_id=recording_sid).count() == 1
    # The miss of a call that rang nobody is booked with the call, whoever books it.
    assert ticket.messages.filter(external_id=f"{call_sid}:missed").count() == 1
    assert ticket.message_count == 4  # call, missed-call note, voicemail, transcript


def test_forwarded_legs_logged_before_the_booking_task_join_the_ticket(twilio):
    call_sid, leg_sid = sid("CA"), sid("CA")
    twiml(twilio.incoming_call(call_sid, attach=False))
    twiml(twilio.status(leg_sid, "ringing", ParentCallSid=call_sid, To=ON_CALL))
    assert CallLog.objects.get(call_sid=leg_sid).ticket is None
    run_booking_task()

    ticket = assert_booked_once(call_sid)
    assert CallLog.objects.get(call_sid=leg_sid).ticket == ticket


def test_the_caller_name_names_the_new_contact_and_the_incoming_call_message(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid, CallerName="ADA LOVELACE"))

    call = CallLog.objects.get(call_sid=call_sid)
    assert call.caller_name == "ADA LOVELACE"
    assert call.ticket.contact.name == "ADA LOVELACE"
    assert call.ticket.messages.get().body == f"Incoming call from {CALLER} (ADA LOVELACE)."


def test_the_sweep_books_a_call_whose_task_was_lost_once_and_only_after_a_grace_period(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid, attach=False))

    assert calls_ticket_sweep() == 0  # the task may still be on its way
    assert sweep_later() == 1
    assert sweep_later() == 0
    assert_booked_once(call_sid)


def test_the_sweep_does_not_bring_back_a_ticket_deleted_after_the_call(twilio):
    call_sid = sid("CA")
    twiml(twilio.incoming_call(call_sid))
    Ticket.objects.all().delete()

    assert sweep_later() == 0
    assert not Ticket.objects.exists()


def test_the_sweep_runs_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["telephony-book-calls-without-ticket"]
    assert entry == {
        "task": tasks.calls_ticket_sweep.name,
        "schedule": django_settings.TELEPHONY_TICKET_SWEEP_SECONDS,
    }


@pytest.mark.integration
@COMMITTING
def test_with_the_broker_down_the_call_is_answered_and_the_sweep_books_it_once(twilio, caplog):
    call_sid = sid("CA")
    with broker("redis://127.0.0.1:1/0"):  # nothing listens there
        root = twiml(twilio.incoming_call(call_sid))

    assert root.find("Dial/Number").text == ON_CALL
    assert "broker unavailable, telephony.calls_book_pending left for the periodic sweep" in caplog.text
    assert cache.get(BOOKING_QUEUED_KEY) is None  # no mark left behind: the next call tries again
    assert CallLog.objects.get(call_sid=call_sid).ticket is None
    assert sweep_later() == 1
    assert sweep_later() == 0
    assert_booked_once(call_sid)


# --- One booking run per burst of calls ------------------------------------------------------
def receive_committed(caller: str) -> str:
    """An inbound call, its on-commit callbacks run (the booking is queued as in production)."""
    call_sid = sid("CA")
    with TestCase.captureOnCommitCallbacks(execute=True):
        calls.call_inbound_receive(call_sid=call_sid, from_number=caller, to_number=SUPPORT_LINE, payload={})
    return call_sid


def test_a_burst_of_calls_queues_one_booking_run_and_it_books_every_call(queued_bookings):
    burst = [receive_committed(f"+1415555{n:04d}") for n in range(5)]

    assert queued_bookings == ["run"]
    assert run_booking_task() == 5
    assert not CallLog.objects.filter(call_sid__in=burst, ticket__isnull=True).exists()
    assert Ticket.objects.count() == 5
    receive_committed(CALLER)  # the run has started: the next call queues the next run
    assert queued_bookings == ["run", "run"]


def test_a_call_logged_while_the_run_books_others_queues_the_next_run(queued_bookings, monkeypatch):
    """The run clears its mark before it reads the waiting calls, so a call committed after the
    run began, which that run may no longer read, finds no mark and queues a run of its own."""
    receive_committed(CALLER)
    book_one = calls.call_ticket_attach
    arrivals: list[str] = []

    def book_while_a_call_arrives(*, call_id: int) -> Ticket | None:
        if not arrivals:
            arrivals.append(receive_committed("+14155550177"))
        return book_one(call_id=call_id)

    monkeypatch.setattr(calls, "call_ticket_attach", book_while_a_call_arrives)
    assert run_booking_task() == 2  # this run's next batch read happened to see the late call
    assert queued_bookings == ["run", "run"]
    assert run_booking_task() == 0
    assert CallLog.objects.get(call_sid=arrivals[0]).ticket is not None


def test_with_the_cache_down_every_call_queues_its_own_run(queued_bookings, cache_down):
    receive_committed(CALLER)
    receive_committed("+14155550177")

    assert queued_bookings == ["run", "run"]
    assert run_booking_task() == 2
