"""Deterministic cost of the voice webhook: SQL statements and CPU per call, in-process.

    .venv/bin/python bench/voice_calls.py [--calls 200] [--show-sql]

Creates (drops first) the database `supporthub_bench_voicecalls`, migrates it, puts two
people on call on the seeded "Support" schedule (two layers, voice + SMS numbers each) and
sends signed inbound calls through Django's test client (the whole middleware stack, the
real signature check): new callers (a number never seen) and returning callers (an open
phone ticket exists). Prints statements per call (exact) and CPU ms per call (process
time of this process plus nothing else: PostgreSQL's share is not included).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.voice_webhook import (
    ACCOUNT_SID,
    PATH,
    PUBLIC_BASE_URL,
    SUPPORT_LINE,
    TOKEN,
    caller_pool,
    reset_database,
)

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/supporthub_bench_voicecalls"


def setup_django() -> None:
    os.environ.update(
        DATABASE_URL=DATABASE_URL,
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnop",
        ENV_FILE="/dev/null",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        LOG_LEVEL="WARNING",
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SUPPORT_FORWARD_NUMBER="+14155550111",
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--show-sql", action="store_true", help="print the statements of one call of each kind"
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries per kind")
    args = parser.parse_args()

    reset_database(DATABASE_URL)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from twilio.request_validator import RequestValidator

    call_command("migrate", verbosity=0)
    put_people_on_call()
    client, validator = Client(), RequestValidator(TOKEN)
    pool = caller_pool(2 * args.calls + 20)
    new, returning = pool[: args.calls + 10], pool[args.calls + 10 :]
    n = 0
    for caller in returning:  # give every returning caller an open phone ticket
        n += 1
        call(client, validator, caller, n)
    for kind, callers in (("new caller", new), ("returning caller", returning)):
        for caller in callers[:10]:  # warm-up
            n += 1
            call(client, validator, caller, n)
        statements = 0
        cpu = 0.0
        profile = cProfile.Profile() if args.profile else None
        for i, caller in enumerate(callers[10 : 10 + args.calls]):
            n += 1
            with CaptureQueriesContext(connection) as queries:
                start = time.process_time()
                if profile is not None:
                    profile.enable()
                call(client, validator, caller, n)
                if profile is not None:
                    profile.disable()
                cpu += time.process_time() - start
            statements += len(queries)
            if args.show_sql and i == 0:
                print(f"--- {kind}: {len(queries)} statements")
                for q in queries.captured_queries:
                    print("   ", q["sql"][:160])
        count = min(args.calls, len(callers) - 10)
        if profile is not None:
            print(f"--- {kind}: profile")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        print(
            f"{kind:17s} {statements / count:5.1f} SQL statements/call   {1000 * cpu / count:5.2f} ms CPU/call (Django side)"
        )


if __name__ == "__main__":
    main()
