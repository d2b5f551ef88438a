"""Inbound MMS: a worker fetches each media file from Twilio (a fake on 127.0.0.1) with the
account's credentials, retries a failed fetch, and stores every file exactly once."""

import base64
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import TestCase
from django.utils import timezone

from telephony.media import MMS_FETCH_TASK, MediaFetchError, mms_media_store
from telephony.models import MmsFetch
from telephony.tasks import mms_fetch_sweep, mms_media_fetch
from tests.attachments.conftest import PDF, PNG, stored_files
from tests.attachments.conftest import attachment_dir as attachment_dir  # files in a tmp folder
from tests.factories import TicketFactory
from tests.notifications.fakes import FakeServer, Received, Reply
from tests.services import EVENTUALLY, broker, celery_worker, redis_url, wait_until
from tests.telephony.conftest import ACCOUNT_SID, COMMITTING, TOKEN, sid, twiml
from tickets.models import Attachment, Message


class FakeTwilioMedia(FakeServer):
    """Twilio's media URLs: the file, to requests with the account's basic auth only."""

    files = {"ME0": (PNG, "image/png"), "ME1": (PDF, "application/pdf")}

    def default(self, request: Received) -> Reply:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply(401, {"code": 20003, "message": "Authenticate"})
        content, content_type = self.files[request.path.rsplit("/", 1)[1]]
        return Reply(200, content, {"Content-Type": content_type})


@pytest.fixture
def media(settings):
    with FakeTwilioMedia().running() as server:
        settings.TWILIO_API_BASE_URL = server.url
        yield server


def _urls(media, message_sid, count):
    base = f"{media.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message_sid}/Media"
    return [f"{base}/ME{index}" for index in range(count)]


def _mms(twilio, media, message_sid, count=2, *, run=False):
    """The SMS webhook for an MMS with `count` media; the callbacks it queued on commit (run
    them now with `run`, as a commit would)."""
    urls = {f"MediaUrl{index}": url for index, url in enumerate(_urls(media, message_sid, count))}
    with TestCase.captureOnCommitCallbacks(execute=run) as queued:
        twiml(twilio.sms(message_sid, "photo of the error", NumMedia=str(count), **urls))
    return queued


@COMMITTING
@pytest.mark.integration
def test_a_fetch_that_gets_a_500_is_retried_and_the_media_stored_once(
    twilio, media, attachment_dir, tmp_path
):
    message_sid = sid("MM")
    media.answer(Reply(500, {"message": "try later"}))  # the first fetch fails
    env = {"ATTACHMENT_DIR": str(attachment_dir), "TWILIO_API_BASE_URL": media.url,
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN,
           "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.2"}  # fmt: skip
    with celery_worker(tmp_path, concurrency=1, **env):
        with broker(redis_url()):
            _mms(twilio, media, message_sid, run=True)
        wait_until(lambda: Attachment.objects.count() == 2, EVENTUALLY, "both media files stored")

    message = Message.objects.get()
    stored = [(a.source_key, a.content_type, a.file.read()) for a in message.attachments.all()]
    assert stored == [(f"{message_sid}:0", "image/png", PNG), (f"{message_sid}:1", "application/pdf", PDF)]
    # The first fetch got the scripted 500; the files were stored from the next ones.
    assert [r.path.rsplit("/", 1)[1] for r in media.requests] == ["ME0", "ME0", "ME1"]
    assert media.requests[0].answered == 500
    # Run again (a redelivered task): nothing fetched, nothing stored twice.
    mms_media_store(message_id=message.pk, message_sid=message_sid, media_urls=_urls(media, message_sid, 2))
    assert len(media.requests) == 3
    assert Attachment.objects.count() == 2 and len(stored_files(attachment_dir)) == 2


@pytest.mark.django_db
def test_a_redelivered_webhook_queues_no_second_fetch(twilio, media):
    message_sid = sid("MM")
    assert _mms(twilio, media, message_sid)
    assert _mms(twilio, media, message_sid) == []


@pytest.mark.django_db
def test_media_off_twilio_is_not_fetched_with_our_credentials(twilio, media, settings):
    message = Message.objects.create(ticket=TicketFactory(), direction="inbound", body="x")
    urls = _urls(media, "MM1", 1)
    settings.TWILIO_API_BASE_URL = "https://api.twilio.com"  # the URL we were given is elsewhere
    assert mms_media_store(message_id=message.pk, message_sid="MM1", media_urls=urls) == 0
    assert media.requests == [] and Attachment.objects.count() == 0


@pytest.mark.django_db
def test_media_twilio_refuses_for_good_is_left_out(twilio, media):
    message = Message.objects.create(ticket=TicketFactory(), direction="inbound", body="x")
    media.answer(Reply(404, {"message": "gone"}))
    assert mms_media_store(message_id=message.pk, message_sid="MM1", media_urls=_urls(media, "MM1", 2)) == 1
    assert Attachment.objects.get().source_key == "MM1:1"


@pytest.mark.django_db
def test_a_failed_fetch_is_retried_until_the_last_try(twilio, media, settings):
    """Celery runs the retries of a task applied in-process at once, one after the other."""
    settings.ATTACHMENT_FETCH_MAX_ATTEMPTS = 3
    message = Message.objects.create(ticket=TicketFactory(), direction="inbound", body="x")
    args = [message.pk, "MM1", _urls(media, "MM1", 1)]
    media.answer(*[Reply(503, {"message": "down"})] * 2)
    assert mms_media_fetch.apply(args=args).state == "SUCCESS"
    assert len(media.requests) == 3  # two scripted 503s, then the file
    assert Attachment.objects.get().source_key == "MM1:0"

    Attachment.objects.all().delete()
    media.requests.clear()
    media.answer(*[Reply(503, {"message": "down"})] * 5)
    result = mms_media_fetch.apply(args=args)
    assert result.state == "FAILURE" and isinstance(result.result, MediaFetchError)
    assert len(media.requests) == 3  # ATTACHMENT_FETCH_MAX_ATTEMPTS, all 503
    assert Attachment.objects.count() == 0


# --- A lost fetch task: the sweep queues it again --------------------------------------------
def sweep_later() -> int:
    later = timezone.now() + timedelta(seconds=django_settings.ATTACHMENT_FETCH_SWEEP_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        return mms_fetch_sweep()


@COMMITTING
@pytest.mark.integration
def test_a_fetch_lost_with_the_broker_down_is_queued_again_by_the_sweep_and_stored_once(
    twilio, media, attachment_dir, tmp_path, caplog
):
    message_sid = sid("MM")
    with broker("redis://127.0.0.1:1/0"):  # nothing listens there: the task is never published
        _mms(twilio, media, message_sid, run=True)
    assert f"broker unavailable, {MMS_FETCH_TASK} left for the periodic sweep" in caplog.text
    assert mms_fetch_sweep() == 0  # within the grace period the task may still be on its way

    env = {"ATTACHMENT_DIR": str(attachment_dir), "TWILIO_API_BASE_URL": media.url,
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN}  # fmt: skip
    with celery_worker(tmp_path, concurrency=1, **env), broker(redis_url()):
        assert sweep_later() == 1
        wait_until(lambda: not MmsFetch.objects.exists(), EVENTUALLY, "the fetch finished")
        assert sweep_later() == 0

    message = Message.objects.get()
    assert list(message.attachments.values_list("source_key", flat=True)) == [
        f"{message_sid}:0",
        f"{message_sid}:1",
    ]
    assert [r.path.rsplit("/", 1)[1] for r in media.requests] == ["ME0", "ME1"]  # each fetched once
    assert len(stored_files(attachment_dir)) == 2


@pytest.mark.django_db
def test_the_sweep_queues_only_unfinished_fetches_once_per_grace_period(twilio, media, monkeypatch):
    queued: list[tuple] = []
    monkeypatch.setattr("telephony.media.enqueue_on_commit", lambda name, *args: queued.append((name, *args)))
    message_sid = sid("MM")
    _mms(twilio, media, message_sid, run=True)
    fetch = MmsFetch.objects.get()
    assert queued == [(MMS_FETCH_TASK, fetch.message_id, message_sid, _urls(media, message_sid, 2))]

    assert sweep_later() == 1
    assert sweep_later() == 0  # queued again just now: the new task has its grace period
    assert len(queued) == 2 and queued[1] == queued[0]
    mms_media_store(message_id=fetch.message_id, message_sid=message_sid, media_urls=fetch.media_urls)
    assert not MmsFetch.objects.exists()  # done: never queued again
    assert Attachment.objects.count() == 2


@pytest.mark.django_db
def test_a_fetch_that_fails_its_last_try_is_not_swept_again(twilio, media, settings):
    settings.ATTACHMENT_FETCH_MAX_ATTEMPTS = 1
    message = Message.objects.create(ticket=TicketFactory(), direction="inbound", body="x")
    MmsFetch.objects.create(message=message, message_sid="MM1", media_urls=[], queued_at=timezone.now())
    media.answer(Reply(503, {"message": "down"}))
    assert mms_media_fetch.apply(args=[message.pk, "MM1", _urls(media, "MM1", 1)]).state == "FAILURE"
    assert not MmsFetch.objects.exists()
    assert sweep_later() == 0


def test_the_fetch_sweep_runs_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["telephony-mms-fetch-sweep"]
    assert entry == {
        "task": "telephony.mms_fetch_sweep",
        "schedule": django_settings.ATTACHMENT_FETCH_SWEEP_SECONDS,
    }
