"""Benchmark: the inbound-call webhook under an open-loop load of new calls, each with its callbacks.

    .venv/bin/python bench/voice_webhook.py [--rate 50] [--seconds 20] [--seed 1] [--webhook-only]

New calls arrive as a Poisson process (bench/open_loop.py: fixed seed, fixed duration) at
--rate per second. Each call is what Twilio sends for an inbound call answered by the
person the TwiML dials, every request signed with twilio's RequestValidator for
PUBLIC_BASE_URL: the webhook (POST /webhooks/twilio/voice), the forwarded leg's status
callbacks (initiated, ringing, answered, completed: DIAL_STATUS_EVENTS of the TwiML), the
Dial action and the inbound call's final status. A request's latency runs from the moment it
was due, so a slow server cannot hide its queue. The same schedule is played against the
bare app's view (GET, every request of every call) before and after, on the same gunicorn
settings: what this machine can do at that rate at best.

Run alone, it creates (drops first) the database of --database-url and migrates it (the
seeded "Support" schedule has nobody on call: the chain is SUPPORT_FORWARD_NUMBER), empties
the Redis database of --redis-url (broker and cache), runs both servers and a Celery worker
(which books each call on a ticket), then checks that every call was logged once and
booked. `make bench` plays the same load on its seeded database (bench/run.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.open_loop import Request, Session, arrivals, run  # noqa: E402
from bench.servers import (  # noqa: E402
    BARE_APP,
    PROJECT_APP,
    CpuMeter,
    Gunicorn,
    celery_worker,
    commit,
    exit_on_sigterm,
    web_server,
)

TOKEN = "bench-only-twilio-token-0123456789"
ACCOUNT_SID = "AC" + "b" * 32
PUBLIC_BASE_URL = "https://bench.supporthub.invalid"
SUPPORT_LINE = "+14155550100"
ON_CALL = "+14155550111"
PATH = "/webhooks/twilio/voice"
# Rate limiting stays on (its cost is part of every request) but never throttles the load.
UNTHROTTLED = {
    "RATELIMIT_API_KEY_WRITES": "100000000/m",
    "RATELIMIT_API_IP_WRITES": "100000000/m",
    "RATELIMIT_WEBHOOKS_IP": "100000000/m",
}
# What the server needs to check the signatures and to ring someone.
TWILIO_ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    "SUPPORT_FORWARD_NUMBER": ON_CALL,
}
TARGET_P99_MS = 50.0
FORM = "application/x-www-form-urlencoded"


def caller_pool(size: int) -> list[str]:
    from supporthub.phone import InvalidPhoneNumber, to_e164

    rng = random.Random(4)
    pool: set[str] = set()
    while len(pool) < size:
        candidate = (
            f"+1{rng.choice(['212', '312', '415', '617', '646', '718'])}{rng.randint(2000000, 9999999)}"
        )
        try:
            pool.add(to_e164(candidate))
        except InvalidPhoneNumber:
            continue
    return sorted(pool)


def sign(path: str, params: dict[str, str]) -> tuple[str, str]:
    """(form body, X-Twilio-Signature) of a POST to `path` (with its query string), as Twilio signs."""
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return urlencode(params), signature


def _call_params(call_sid: str, caller: str, status: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": call_sid, "CallStatus": status,
        "Direction": "inbound", "From": caller, "Caller": caller, "To": SUPPORT_LINE, "Called": SUPPORT_LINE,
        "FromCountry": "US", "ToCountry": "US",
    }  # fmt: skip


def signed_requests(count: int, callers: list[str]) -> list[tuple[str, str]]:
    """(form body, X-Twilio-Signature) of the webhook for `count` distinct inbound calls."""
    rng = random.Random(7)
    return [
        sign(PATH, _call_params("CA" + uuid.uuid4().hex, rng.choice(callers), "ringing"))
        for _ in range(count)
    ]


def _signed(kind: str, offset: float, path: str, params: dict[str, str], expect: bytes = b"") -> Request:
    body, signature = sign(path, params)
    headers = (("Content-Type", FORM), ("X-Twilio-Signature", signature))
    return Request(kind, offset, "POST", path, body.encode(), headers, expect)


def call_session(caller: str, rng: random.Random) -> Session:
    """The requests Twilio sends for one inbound call that the dialled person answers.

    The leg rings from 0.3 s, is answered 2-5 s in and talks 2-8 s (short calls keep the
    run short; the request rate is the same).
    """
    call_sid, leg_sid = "CA" + uuid.uuid4().hex, "CA" + uuid.uuid4().hex
    answered = rng.uniform(2, 5)
    talk = rng.randint(2, 8)
    ended = answered + talk
    leg = {
        "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": leg_sid, "ParentCallSid": call_sid,
        "Direction": "outbound-dial", "From": caller, "To": ON_CALL, "CallbackSource": "call-progress-events",
    }  # fmt: skip
    status = f"{PATH}/status"

    def leg_status(offset: float, value: str, **extra: str) -> Request:
        params = {**leg, "CallStatus": value, "Timestamp": formatdate(usegmt=True), **extra}
        return _signed("callbacks", offset, status, params)

    dial = {**_call_params(call_sid, caller, "in-progress"), "DialCallSid": leg_sid,
            "DialCallStatus": "completed", "DialCallDuration": str(talk)}  # fmt: skip
    return [
        _signed("webhook", 0.0, PATH, _call_params(call_sid, caller, "ringing"), expect=b"<Dial"),
        leg_status(0.3, "initiated"),
        leg_status(0.5, "ringing"),
        leg_status(answered, "in-progress"),
        leg_status(ended, "completed", CallDuration=str(talk)),
        _signed("callbacks", ended + 0.05, f"{PATH}/dial?attempt=0", dial),
        _signed(
            "callbacks",
            ended + 0.1,
            status,
            {**_call_params(call_sid, caller, "completed"), "CallDuration": str(round(ended))},
        ),
    ]


def voice_schedule(rate: float, seconds: float, seed: int) -> list[tuple[float, Session]]:
    """New calls at `rate` per second for `seconds`, each with its callbacks, signed."""
    rng = random.Random(seed)
    callers = caller_pool(3_000)  # some callers call again and join their open ticket
    return [(at, call_session(rng.choice(callers), rng)) for at in arrivals(rate, seconds, seed)]


def bare_schedule(schedule: list[tuple[float, Session]]) -> list[tuple[float, Session]]:
    """The same arrivals and offsets, every request a GET of the bare app's view."""
    return [
        (at, [Request("bare", r.offset, "GET", "/", expect=b"hello") for r in session])
        for at, session in schedule
    ]


def open_loop(
    project: str,
    bare: str,
    *,
    rate: float,
    seconds: float,
    seed: int,
    meter: CpuMeter,
    webhook_only: bool = False,
) -> dict[str, Any]:
    """The voice load against `project`, between two runs of the same schedule against `bare`;
    the latencies, and the CPU per call of the processes `meter` watches during the voice load."""
    schedule = voice_schedule(rate, seconds, seed)
    if webhook_only:
        schedule = [(at, session[:1]) for at, session in schedule]
    ceiling = bare_schedule(schedule)
    before = run(bare, ceiling)["bare"]
    before_voice = meter.snapshot()
    voice = run(project, schedule)
    used = meter.since(before_voice)
    meter.wait_idle("web")
    after = run(bare, ceiling)["bare"]
    return {
        "webhook": voice["webhook"].summary(),
        "callbacks": voice["callbacks"].summary() if "callbacks" in voice else {},
        "bare": (before + after).summary(),
        "calls": {
            "n": len(schedule),
            "rate_per_s": rate,
            "seconds": seconds,
            "seed": seed,
            "callbacks_per_call": len(schedule[0][1]) - 1,
        },
        "cpu_ms_per_call": {name: round(cpu * 1000 / len(schedule), 1) for name, cpu in used.items()},
    }


def warm_up(project: str, bare: str, rate: float) -> None:
    """Two seconds of new calls (webhooks only) to each server, not counted: imports, connections."""
    calls = [(at, session[:1]) for at, session in voice_schedule(rate, 2, seed=0)]
    run(project, calls)
    run(bare, bare_schedule(calls))


def voice_target(result: dict[str, Any]) -> str:
    webhook = result["webhook"]
    met = webhook["p99_ms"] <= TARGET_P99_MS and not webhook["errors"]
    return f"p99 <= {TARGET_P99_MS:.0f} ms {'met' if met else 'NOT met'}"


def voice_table(result: dict[str, Any]) -> str:
    """The voice load's latencies beside the bare view's, the CPU it took and the target."""
    calls, cpu = result["calls"], result["cpu_ms_per_call"]
    lines = [
        f"open loop: {calls['n']} new calls in {calls['seconds']:.0f} s (Poisson, {calls['rate_per_s']:.0f}/s, "
        f"seed {calls['seed']}), {calls['callbacks_per_call']} callbacks each; ms from when each request was due",
        "",
        "| requests | n | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (
        ("webhook", "POST /webhooks/twilio/voice"),
        ("callbacks", "its callbacks (status, dial)"),
        ("bare", "bare view, same schedule, run before and after"),
    ):
        if r := result[key]:
            lines.append(
                f"| {label} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} "
                f"| {r['max_ms']:.1f} | {r['errors']} |"
            )
    for key in ("webhook", "callbacks", "bare"):
        if result[key] and result[key]["failures"]:
            lines.append(f"{key} failures: {result[key]['failures']}")
    total = sum(cpu.values())
    failed = sum(result[key]["errors"] for key in ("webhook", "callbacks") if result[key])
    lines += [
        "",
        f"CPU per call, ms: {', '.join(f'{k} {v}' for k, v in cpu.items())}; total {total:.1f}, i.e. "
        f"{total * calls['rate_per_s'] / 1000:.1f} CPUs at {calls['rate_per_s']:.0f} calls/s ({os.cpu_count()} here)"
        + (f"; an undercount: {failed} requests failed or were given up" if failed else ""),
        f"target: webhook {voice_target(result)}",
    ]
    return "\n".join(lines)


def reset_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def booking_check(database_url: str, timeout: float = 120) -> dict[str, Any]:
    """Wait until the worker has booked every inbound call; what is left, and CallSids logged twice."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE ticket_id IS NULL AND parent_id IS NULL),"
                " count(*) - count(DISTINCT call_sid) FROM telephony_calllog"
            ).fetchone()
            assert row is not None
            if not row[0] or time.monotonic() - started > timeout:
                break
            time.sleep(0.5)
    return {"seconds_to_book_the_rest": round(time.monotonic() - started, 1),
            "calls_without_ticket": row[0], "call_sids_logged_twice": row[1]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/supporthub_bench_voice"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="a Redis database of its own"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="new calls per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of arrivals")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (the Procfile's)")
    parser.add_argument("--webhook-only", action="store_true", help="no callbacks: the webhook's own share")
    args = parser.parse_args()

    import redis

    exit_on_sigterm()
    measured = commit()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ENV_FILE": "/dev/null",
        **TWILIO_ENV,
        **UNTHROTTLED,
    }
    reset_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    gunicorn = Gunicorn(workers=args.workers)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        work = Path(tmp)
        with (
            web_server(PROJECT_APP, env, gunicorn, work / "gunicorn.log") as project,
            web_server(BARE_APP, env, gunicorn, work / "bare.log") as bare,
            celery_worker(env, work / "worker.log") as worker,
        ):
            warm_up(project.url, bare.url, args.rate)
            meter = CpuMeter({"web": project.pid, "worker": worker}, args.database_url)
            result = open_loop(
                project.url, bare.url, rate=args.rate, seconds=args.seconds, seed=args.seed, meter=meter,
                webhook_only=args.webhook_only,
            )  # fmt: skip
            result["booking"] = booking_check(args.database_url)
    result.update(
        command=" ".join(["bench/voice_webhook.py", *sys.argv[1:]]),
        commit=measured,
        gunicorn=str(gunicorn),
        cpus=os.cpu_count(),
        load_average_at_start=round(load_before, 2),
        load_average_at_end=round(os.getloadavg()[0], 2),
    )
    print(f"measured on {result['commit']}; {gunicorn} for both apps\n")
    print(voice_table(result))
    print(f"booking: {result['booking']}")
    print(f"load average {load_before:.2f} at the start, {result['load_average_at_end']:.2f} at the end")
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "voice_webhook.json").write_text(json.dumps(result, indent=2))
    booked = result["booking"]
    if booked["calls_without_ticket"] or booked["call_sids_logged_twice"]:
        sys.exit("a call was not booked on a ticket, or a CallSid was logged twice")


if __name__ == "__main__":
    main()
