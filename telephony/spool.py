"""Twilio callbacks kept on disk while the database is unreachable, replayed once it is back.

During a database outage the webhooks still answer (a caller is put through to
SUPPORT_FORWARD_NUMBER, read from settings, then voicemail; an SMS gets no reply until its
replay, which texts it through the outbox; a paging
key press is told it was not recorded) and write what the services would have been
given to one JSON file each under TELEPHONY_SPOOL_DIR (written to a temporary name, synced,
then renamed into place, so a file is whole or absent). `spool_drain` replays the files
oldest first through the same services, so a call is logged, booked on its ticket and
decided, a text joins its ticket and a page is acknowledged as if the callbacks had just
arrived. It runs from beat
(`telephony.calls_spool_drain`) and in the voice webhook whenever files are waiting, so a
web host whose disk the worker cannot see drains its own spool on its next call.

A file is claimed by renaming it (one process wins); a claim older than CLAIM_STALE_SECONDS
is a drainer that died and is taken over. The services are idempotent on the CallSid, so a
replay that ran twice logs nothing twice (texts on the MessageSid, pages on their delivery).
A file the services refuse is moved to `failed/`.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError

from telephony import calls, services

logger = logging.getLogger(__name__)

# What a dead database raises (a refused or dropped connection); other errors are bugs.
DATABASE_DOWN = (OperationalError, InterfaceError)
CLAIM_STALE_SECONDS = 300
DRAIN_BATCH = 50
_DATETIMES = ("timestamp", "received_at")


def _dir() -> Path:
    return Path(settings.TELEPHONY_SPOOL_DIR)


def spool_write(kind: str, **kwargs: Any) -> None:
    """Keep one callback (`kind`: a key of REPLAYS; the service's keyword arguments)."""
    record = {
        "kind": kind,
        "kwargs": {k: v.isoformat() if isinstance(v, datetime) else v for k, v in kwargs.items()},
    }
    folder = _dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
    temporary = folder / f".{name}.tmp"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / f"{name}.json")
    subject = kwargs.get("call_sid") or kwargs.get("message_sid") or f"delivery {kwargs.get('delivery_id')}"
    logger.error("database unreachable: %s callback for %s spooled", kind, subject)


def spool_waiting() -> bool:
    """Whether any callback is waiting (one directory read; no database)."""
    try:
        with os.scandir(_dir()) as entries:
            return any(entry.name.endswith((".json", ".claimed")) for entry in entries)
    except FileNotFoundError:
        return False


def _claimable(folder: Path) -> list[Path]:
    stale = time.time() - CLAIM_STALE_SECONDS
    files = list(folder.glob("*.json"))
    files += [path for path in folder.glob("*.claimed") if path.stat().st_mtime < stale]
    return sorted(files, key=lambda path: path.name)


def spool_drain(*, limit: int = DRAIN_BATCH) -> int:
    """Replay up to `limit` waiting callbacks, oldest first; how many were replayed.

    Stops, leaving the rest waiting, when the database is still unreachable.
    """
    folder = _dir()
    if not folder.is_dir():
        return 0
    replayed = 0
    for path in _claimable(folder)[:limit]:
        claimed = path.with_suffix(".claimed")
        try:
            if path == claimed:  # a stale claim, taken over
                os.utime(claimed)
            else:
                os.replace(path, claimed)
        except FileNotFoundError:  # another process claimed it
            continue
        try:
            _replay(json.loads(claimed.read_text(encoding="utf-8")))
        except DATABASE_DOWN:
            os.replace(claimed, path.with_suffix(".json"))
            logger.warning("database still unreachable; spooled callbacks wait")
            break
        except Exception:
            (folder / "failed").mkdir(exist_ok=True)
            os.replace(claimed, folder / "failed" / path.with_suffix(".json").name)
            logger.exception("spooled callback %s could not be replayed; moved to failed/", path.name)
            continue
        claimed.unlink(missing_ok=True)
        replayed += 1
    if replayed:
        logger.warning("replayed %s callbacks spooled during a database outage", replayed)
    return replayed


def _replay(record: dict[str, Any]) -> None:
    kwargs = {
        k: datetime.fromisoformat(v) if k in _DATETIMES and v else v for k, v in record["kwargs"].items()
    }
    REPLAYS[record["kind"]](**kwargs)


# Each spooled kind and the service that takes it.
REPLAYS: dict[str, Callable[..., object]] = {
    "voice": calls.call_inbound_receive,
    "dial": services.call_dial_result,
    "status": services.call_status_record,
    "recording": services.call_recording_receive,
    "transcription": services.call_transcription_receive,
    "sms": services.sms_inbound_replay,
    "page_keypress": services.page_keypress_receive,
    "page_status": services.page_call_status_receive,
}
