"""The voice webhooks with the database really unreachable (the connection points at a port
nobody listens on): the caller still reaches SUPPORT_FORWARD_NUMBER, and the call is logged,
booked on its ticket and decided once the database is back."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError, connection

from telephony import spool, tasks
from telephony.models import CallLog
from tests.services import free_port, require_postgres
from tests.telephony.conftest import CALLER, COMMITTING, ON_CALL, SUPPORT_LINE, sid, twiml, verbs
from tickets.models import Message

pytestmark = [pytest.mark.integration, COMMITTING]


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every query fails to connect until the block ends, as in a database outage."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        with pytest.raises(OperationalError):
            CallLog.objects.exists()
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def spool_dir(settings, tmp_path) -> Path:
    settings.TELEPHONY_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


def test_a_call_during_an_outage_reaches_the_forward_number_and_is_booked_when_the_database_returns(
    twilio, spool_dir, queued_bookings
):
    require_postgres()
    call_sid = sid("CA")
    with database_unreachable():
        root = twiml(twilio.incoming_call(call_sid, attach=False, CallerName="ADA LOVELACE"))
        goodbye = twiml(twilio.dial_result(call_sid, 0, "completed"))
        twiml(twilio.status(call_sid, "completed", CallDuration="80"))

    assert verbs(root) == ["Say", "Dial"]
    assert root.findtext("Dial/Number") == ON_CALL
    assert verbs(goodbye) == ["Say", "Hangup"]
    assert not CallLog.objects.exists()
    assert len(list(spool_dir.glob("*.json"))) == 3

    assert tasks.calls_spool_drain() == 3  # beat, once the database is back
    assert list(spool_dir.glob("*.json")) == []
    call = CallLog.objects.get(call_sid=call_sid)
    assert (call.from_number, call.to_number, call.caller_name) == (CALLER, SUPPORT_LINE, "ADA LOVELACE")
    assert (call.dial_targets, call.status, call.duration, call.outcome) == (
        [ON_CALL],
        "completed",
        80,
        "answered",
    )
    assert list(Message.objects.filter(ticket=call.ticket).values_list("external_id", flat=True)) == [
        call_sid,
        f"{call_sid}:answered",
    ]
    assert tasks.calls_spool_drain() == 0


def test_the_first_call_after_an_outage_replays_the_spool_before_its_own(twilio, spool_dir, queued_bookings):
    require_postgres()
    during, after = sid("CA"), sid("CA")
    with database_unreachable():
        twiml(twilio.incoming_call(during, attach=False))
    twiml(twilio.incoming_call(after, attach=False))

    assert set(CallLog.objects.values_list("call_sid", flat=True)) == {during, after}
    assert list(spool_dir.iterdir()) == []


def test_with_no_forward_number_an_outage_call_hears_an_apology_and_is_still_kept(
    twilio, spool_dir, settings, queued_bookings
):
    require_postgres()
    settings.SUPPORT_FORWARD_NUMBER = ""
    call_sid = sid("CA")
    with database_unreachable():
        root = twiml(twilio.incoming_call(call_sid, attach=False))

    assert verbs(root) == ["Say", "Hangup"]
    assert "call again later" in root.findtext("Say", "")
    assert tasks.calls_spool_drain() == 1
    assert CallLog.objects.get(call_sid=call_sid).dial_targets == []


def test_a_spooled_callback_the_services_refuse_moves_to_failed_and_stops_waiting(spool_dir, caplog):
    spool.spool_write("voice", call_sid=sid("CA"), payload={})  # no From/To: the service refuses it
    assert spool.spool_waiting()

    assert spool.spool_drain() == 0
    assert [path.suffix for path in (spool_dir / "failed").iterdir()] == [".json"]
    assert not spool.spool_waiting()
    assert "could not be replayed; moved to failed/" in caplog.text
