"""Twilio retries racing each other on PostgreSQL: one call, one ticket, one voicemail."""

import threading

import pytest
from django.db import connection

from telephony import services
from telephony.models import CallLog
from tests.services import require_postgres
from tests.telephony.conftest import CALLER, SUPPORT_LINE, sid
from tickets.models import Message, Ticket

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def race(target, copies: int = 6) -> list:
    """Run `target` in `copies` threads released at the same instant; return results/errors."""
    barrier = threading.Barrier(copies)
    results: list = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(target())
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_simultaneous_copies_of_an_inbound_call_log_one_call_on_one_ticket():
    require_postgres()
    call_sid = sid("CA")
    results = race(
        lambda: (
            services.call_inbound_receive(
                call_sid=call_sid, from_number=CALLER, to_number=SUPPORT_LINE, payload={}
            )[0].pk
        )
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert CallLog.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(external_id=call_sid).count() == 1


def test_simultaneous_recording_callbacks_attach_the_voicemail_once():
    require_postgres()
    call_sid, recording_sid = sid("CA"), sid("RE")
    services.call_inbound_receive(call_sid=call_sid, from_number=CALLER, to_number=SUPPORT_LINE, payload={})
    results = race(
        lambda: services.call_recording_receive(
            call_sid=call_sid,
            recording_sid=recording_sid,
            recording_url=f"https://api.twilio.com/Recordings/{recording_sid}",
            recording_status="completed",
            recording_duration=12,
            payload={},
        )
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Message.objects.filter(external_id=recording_sid).count() == 1
