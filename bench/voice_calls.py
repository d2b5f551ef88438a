"""Deterministic cost of the voice webhook: SQL statements and CPU per call, in-process.

    .venv/bin/python bench/voice_calls.py [--calls 200] [--show-sql] [--profile]

Creates (drops first) the database named by --database-url, migrates it, puts two people on
call on the seeded "Support" schedule (two layers, voice + SMS numbers each) and sends
signed inbound calls through Django's test client (the whole middleware stack, the real
signature check), in autocommit as under gunicorn: new callers (a number never seen) and
returning callers (an open phone ticket exists), each followed by the six callbacks Twilio
sends for a call the dialled person answers (bench/voice_webhook.py's `call_session`: the
leg's four statuses, the Dial action, the call's final status). The webhook marks a booking run as queued
in the Redis of --redis-url (a database of its own: emptied at the start) and publishes one
there when none was, so that is counted; the booking of each call (what the worker's run
does) is measured apart, in this process. Prints
statements per call (exact) and CPU ms per call (process time of this process only:
PostgreSQL's and Redis's share is not included).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.voice_webhook import (
    ACCOUNT_SID,
    FORM,
    PATH,
    PUBLIC_BASE_URL,
    SUPPORT_LINE,
    TOKEN,
    UNTHROTTLED,
    call_session,
    caller_pool,
    reset_database,
    sign,
)


def setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnop",
        ENV_FILE="/dev/null",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="WARNING",
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SUPPORT_FORWARD_NUMBER="+14155550111",
        **UNTHROTTLED,
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")
    import django

    django.setup()


def put_people_on_call() -> None:
    from datetime import date
    from datetime import time as dtime

    from django.contrib.auth import get_user_model

    from escalation.models import ContactMethod, LayerParticipant, RotationLayer, Schedule

    schedule = Schedule.objects.get(name="Support")
    for level, (name, phone) in enumerate([("eli", "+14155550102"), ("dana", "+14155550101")], start=1):
        user = get_user_model().objects.create_user(username=name, email=f"{name}@example.com")
        ContactMethod.objects.create(user=user, kind="voice", address=phone)
        ContactMethod.objects.create(user=user, kind="sms", address=phone)
        layer = RotationLayer.objects.create(
            schedule=schedule, level=level, shift_unit="days", shift_length=1,
            handoff_time=dtime(9, 0), start_date=date(2026, 1, 5),
        )  # fmt: skip
        LayerParticipant.objects.create(layer=layer, user=user, position=0)


def call(client, validator, caller: str, n: int):  # type: ignore[no-untyped-def]
    params = {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": f"CA{n:032x}",
        "CallStatus": "ringing", "Direction": "inbound", "From": caller, "Caller": caller,
        "To": SUPPORT_LINE, "Called": SUPPORT_LINE, "FromCountry": "US", "ToCountry": "US",
    }  # fmt: skip
    signature = validator.compute_signature(PUBLIC_BASE_URL + PATH, params)
    response = client.post(
        PATH, urlencode(params), content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )  # fmt: skip
    assert response.status_code == 200 and b"<Dial" in response.content, response.content
    return response


def callbacks(client: Any, caller: str, n: int) -> None:
    """The six callbacks of call `n`, answered by the person it rang."""
    session = call_session(caller, random.Random(n))
    generated = dict(parse_qsl(session[0].body.decode()))["CallSid"]
    for request in session[1:]:
        params = dict(parse_qsl(request.body.decode().replace(generated, f"CA{n:032x}")))
        form, signature = sign(request.path, params)
        response = client.post(request.path, form, content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200, response.content


class Cost:
    """Statements and CPU of one kind of work, summed over the measured calls."""

    def __init__(self, name: str, show_sql: bool, profile: bool) -> None:
        self.name, self.show_sql = name, show_sql
        self.statements, self.cpu, self.count = 0, 0.0, 0
        self.profile = cProfile.Profile() if profile else None

    def measure(self, work: Callable[[], object]) -> object:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            start = time.process_time()
            if self.profile is not None:
                self.profile.enable()
            result = work()
            if self.profile is not None:
                self.profile.disable()
            self.cpu += time.process_time() - start
        if self.show_sql and self.count == 0:
            print(f"--- {self.name}: {len(queries)} statements")
            for q in queries.captured_queries:
                print("   ", q["sql"][:160])
        self.statements += len(queries)
        self.count += 1
        return result

    def report(self) -> None:
        if self.profile is not None:
            print(f"--- {self.name}: profile")
            pstats.Stats(self.profile).sort_stats("cumulative").print_stats(45)
        print(
            f"{self.name:34s} {self.statements / self.count:5.1f} SQL statements/call"
            f"   {1000 * self.cpu / self.count:5.2f} ms CPU/call (Django side)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/supporthub_bench_voicecalls"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of one call of each kind"
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries per kind")
    args = parser.parse_args()

    import redis

    reset_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    setup_django(args.database_url, args.redis_url)
    from django.core.management import call_command
    from django.test import Client
    from twilio.request_validator import RequestValidator

    from telephony.calls import call_ticket_attach
    from telephony.models import CallLog

    call_command("migrate", verbosity=0)
    put_people_on_call()
    client, validator = Client(), RequestValidator(TOKEN)

    def booking(n: int) -> Callable[[], object]:
        """What the worker does with the task that call `n` queued."""
        call_id = CallLog.objects.only("pk").get(call_sid=f"CA{n:032x}").pk
        return lambda: call_ticket_attach(call_id=call_id)

    pool = caller_pool(2 * args.calls + 20)
    new, returning = pool[: args.calls + 10], pool[args.calls + 10 :]
    n = 0
    for caller in returning:  # give every returning caller an open phone ticket
        n += 1
        call(client, validator, caller, n)
        booking(n)()
    for kind, callers in (("new caller", new), ("returning caller", returning)):
        for caller in callers[:10]:  # warm-up
            n += 1
            call(client, validator, caller, n)
            booking(n)()
        webhook = Cost(f"{kind}: webhook", args.show_sql, args.profile)
        task = Cost(f"{kind}: booking task (worker)", args.show_sql, args.profile)
        statuses = Cost(f"{kind}: 6 callbacks", args.show_sql, args.profile)
        for caller in callers[10 : 10 + args.calls]:
            n += 1
            webhook.measure(lambda caller=caller, n=n: call(client, validator, caller, n))
            task.measure(booking(n))
            statuses.measure(lambda caller=caller, n=n: callbacks(client, caller, n))
        webhook.report()
        task.report()
        statuses.report()
    redis.Redis.from_url(args.redis_url).flushdb()  # the tasks nobody ran


if __name__ == "__main__":
    main()
