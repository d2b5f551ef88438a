"""Benchmark: p99 of the inbound-call webhook with 20 concurrent callers (gunicorn + PostgreSQL).

    .venv/bin/python bench/voice_webhook.py [--connections 20] [--duration 20] [--workers 3]

What it does:
1. creates (or empties) the database named by --database-url and migrates it; empties the
   Redis database of --redis-url (broker and cache, as in production: each call marks a
   booking run as queued there and publishes one if none was, so that is measured too);
2. starts gunicorn as the Procfile does (3 sync workers, --no-control-socket) with a bench-only
   TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL; nothing in the app is switched off;
3. signs --requests distinct inbound calls (new CallSid each; callers drawn from a pool so
   some get new tickets and some reuse their open one) with twilio's RequestValidator, as
   Twilio would, and writes them to a Lua table;
4. bursts: --connections callers ring at the same instant, --rounds times, against the
   webhook and against a bare view (the ceiling); then wrk with --connections open
   connections, each sending its next call as soon as the previous one is answered (closed
   loop: harsher than 20 people dialling), and reports wrk's latency percentiles;
5. checks that every answer was a 200 with a <Dial> and that each CallSid was logged once;
   then a Celery worker (started after the load, or during it with --worker during) books
   the queued calls on their tickets, and it reports how long that took and how many calls
   were left without a ticket (should be none).

Results go to stdout and bench/results/voice_webhook.json; docs/benchmarks.md has the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-only-twilio-token-0123456789"
ACCOUNT_SID = "AC" + "b" * 32
PUBLIC_BASE_URL = "https://bench.supporthub.invalid"
SUPPORT_LINE = "+14155550100"
ON_CALL = "+14155550111"
PATH = "/webhooks/twilio/voice"
CEILING_PATH = "/bench/hello"  # a bare view behind the same middleware (BENCH_ENDPOINTS=true)
# Rate limiting stays on (its cost is part of every request) but never throttles the load.
UNTHROTTLED = {
    "RATELIMIT_API_KEY_WRITES": "100000000/m",
    "RATELIMIT_API_IP_WRITES": "100000000/m",
    "RATELIMIT_WEBHOOKS_IP": "100000000/m",
}


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


def signed_requests(count: int, callers: list[str]) -> list[tuple[str, str]]:
    """(form body, X-Twilio-Signature) for `count` distinct inbound calls."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    rng = random.Random(7)
    out = []
    for _ in range(count):
        caller = rng.choice(callers)
        params = {
            "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": "CA" + uuid.uuid4().hex,
            "CallStatus": "ringing", "Direction": "inbound", "From": caller, "Caller": caller,
            "To": SUPPORT_LINE, "Called": SUPPORT_LINE, "FromCountry": "US", "ToCountry": "US",
        }  # fmt: skip
        out.append((urlencode(params), validator.compute_signature(PUBLIC_BASE_URL + PATH, params)))
    return out


LUA = """
local requests = dofile("%(data)s")
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  index = id
  step = %(threads)d
  non200 = 0
  notwiml = 0
end

function request()
  local item = requests[index]
  index = index + step
  if index > #requests then index = id end
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = item[2],
  }, item[1])
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
  if not string.find(body, "<Dial", 1, true) then notwiml = notwiml + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  local nodial = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    nodial = nodial + thread:get("notwiml")
  end
  io.write(string.format("RESULT p50=%%.3f p90=%%.3f p99=%%.3f max=%%.3f mean=%%.3f"
    .. " n=%%d non200=%%d nodial=%%d\\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, summary.requests, bad, nodial))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def reset_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_for(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not come up at {url}")


def burst(
    base: str, calls: list[tuple[str, str]], callers: int, rounds: int, ceiling: bool = False
) -> dict[str, Any]:
    """`callers` threads each place one call at the same instant; repeat for `rounds` rounds.

    The literal reading of "20 concurrent callers": 20 phones ringing the support line at
    once, each answered over a new connection (as Twilio's requests are).
    """
    import http.client
    import threading

    host, port = urlsplit(base).hostname, urlsplit(base).port
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(callers)
    pending = iter(calls)

    def caller() -> None:
        for _ in range(rounds):
            with lock:
                body, signature = next(pending)
            barrier.wait(timeout=60)
            start = time.perf_counter()
            conn = http.client.HTTPConnection(host, port, timeout=15)
            if ceiling:
                conn.request("GET", CEILING_PATH)
            else:
                conn.request("POST", PATH, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                  "X-Twilio-Signature": signature})  # fmt: skip
            response = conn.getresponse()
            text = response.read()
            elapsed = (time.perf_counter() - start) * 1000
            conn.close()
            with lock:
                latencies.append(elapsed)
                if response.status != 200 or (b"<Dial" not in text and not ceiling):
                    errors.append(f"{response.status} {text[:80]!r}")

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))], 3)

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(latencies[-1], 3),
            "n": len(latencies), "errors": len(errors)}  # fmt: skip


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by `pids` (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def app_and_db_pids(master: int, database_url: str) -> tuple[list[int], list[int]]:
    import psycopg

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                workers.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return workers, [row[0] for row in rows]


def server_lines(access: Path) -> int:
    return len(access.read_text().splitlines()) if access.exists() else 0


def server_times(access: Path, start: int) -> dict[str, float]:
    """Percentiles of gunicorn's own request time (ms) for the voice webhook since line `start`.

    This is the time a worker spent on the request, without the time it waited in the
    listen queue for a free worker (which the client-side numbers include).
    """
    times = sorted(
        int(parts[2]) / 1000
        for parts in (line.split() for line in access.read_text().splitlines()[start:])
        if len(parts) == 3 and parts[0] == PATH
    )
    if not times:
        return {}

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, int(len(times) * p / 100))], 3)

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "n": len(times)}


def celery_worker(env: dict[str, str], work: Path) -> subprocess.Popen[bytes]:
    """The Celery worker that books the calls the webhook queued (as the Procfile's `worker`)."""
    args = [sys.executable, "-m", "celery", "-A", "supporthub", "worker", "--loglevel", "warning",
            "--concurrency", "2", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
    log = (work / "worker.log").open("wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
    )


def drain(database_url: str, timeout: float = 300) -> dict[str, float]:
    """Wait until the worker has booked every call; how long it took and how many are left."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            left = conn.execute("SELECT count(*) FROM telephony_calllog WHERE ticket_id IS NULL").fetchone()[
                0
            ]
            if not left or time.monotonic() - started > timeout:
                break
            time.sleep(0.5)
    return {"seconds_to_book_the_rest": round(time.monotonic() - started, 1), "calls_without_ticket": left}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/supporthub_bench_voice"
    )
    parser.add_argument("--connections", type=int, default=20, help="concurrent callers")
    parser.add_argument("--duration", type=int, default=20, help="seconds of load")
    # The Procfile's default (WEB_CONCURRENCY=3): on 2 cores, 5 workers only add contention.
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--requests", type=int, default=30_000, help="distinct signed calls prepared")
    parser.add_argument("--callers", type=int, default=3_000, help="distinct caller numbers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rounds", type=int, default=50, help="burst rounds (20 simultaneous calls each)")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="a Redis database of its own"
    )
    parser.add_argument(
        "--worker",
        choices=["after", "during"],
        default="after",
        help="start the Celery worker that books the calls after the load (default) or during it",
    )
    args = parser.parse_args()
    # gunicorn and the worker run in sessions of their own: on SIGTERM (`timeout`, a CI
    # cancel) exit through the `finally` blocks that stop them, as Ctrl-C already does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")
    env = dict(
        os.environ,
        DATABASE_URL=args.database_url,
        DEBUG="false",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SUPPORT_FORWARD_NUMBER=ON_CALL,
        LOG_LEVEL="WARNING",
        BENCH_ENDPOINTS="true",  # only for the ceiling view; the webhook is unchanged
        ENV_FILE="/dev/null",
        REDIS_URL=args.redis_url,
        **UNTHROTTLED,
    )

    import redis

    reset_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )

    work = Path(tempfile.mkdtemp(prefix="bench-voice-"))
    data = work / "calls.lua"
    pool = caller_pool(args.callers)
    burst_calls = signed_requests(args.connections * args.rounds, pool)
    with data.open("w") as out:
        out.write("return {\n")
        for body, signature in signed_requests(args.requests, pool):
            out.write(f"{{{lua_string(body)}, {lua_string(signature)}}},\n")
        out.write("}\n")
    script = work / "voice.lua"
    script.write_text(LUA % {"data": data, "threads": args.threads, "path": PATH})

    access = work / "access.log"
    gunicorn = [
        sys.executable, "-m", "gunicorn", "supporthub.wsgi", "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers), "--no-control-socket", "--access-logfile", str(access),
        "--access-logformat", "%(U)s %(s)s %(D)s",
    ]  # fmt: skip
    server_log = (work / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        gunicorn, cwd=ROOT, env=env, start_new_session=True, stdout=server_log, stderr=subprocess.STDOUT
    )
    # With --worker during, the worker runs beside gunicorn (its PostgreSQL backends then count in
    # cpu_per_request); by default it starts after the load and only books what was queued.
    worker = celery_worker(env, work) if args.worker == "during" else None
    try:
        try:
            base = f"http://127.0.0.1:{args.port}"
            wait_for(f"{base}/health")
            # Warm up every worker (imports, DB connections) outside the measured run.
            subprocess.run(["wrk", "-t1", "-c", str(args.workers), "-d2s", "-s", str(script), base + PATH],
                           check=True, capture_output=True)  # fmt: skip
            load_before = os.getloadavg()[0]
            mark = server_lines(access)
            burst_result = burst(base, burst_calls, args.connections, args.rounds)
            burst_result["server_side"] = server_times(access, mark)
            ceiling_result = burst(base, burst_calls, args.connections, args.rounds, ceiling=True)
            mark = server_lines(access)
            cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
                   "-s", str(script), base + PATH]  # fmt: skip
            workers, backends = app_and_db_pids(server.pid, args.database_url)
            app_cpu, db_cpu = cpu_seconds(workers), cpu_seconds(backends)
            run = subprocess.run(cmd, check=True, capture_output=True, text=True)
            app_cpu, db_cpu = cpu_seconds(workers) - app_cpu, cpu_seconds(backends) - db_cpu
            load_after = os.getloadavg()[0]
            time.sleep(0.5)
            closed_server = server_times(access, mark)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        worker = worker or celery_worker(env, work)
        booking = drain(args.database_url)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    print(run.stdout)
    match = re.search(r"RESULT (.*)", run.stdout)
    assert match, run.stdout
    closed: dict[str, float] = {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    closed["requests_per_second"] = float(rps.group(1)) if rps else 0.0
    served = closed_server.get("n") or 1
    cpu_per_request = {
        "app_ms": round(app_cpu * 1000 / served, 2),
        "postgres_ms": round(db_cpu * 1000 / served, 2),
    }
    result: dict[str, object] = {
        "burst_ms": burst_result,
        "ceiling_burst_ms": ceiling_result,
        "closed_loop_ms": closed,
        "closed_loop_server_side_ms": closed_server,
        "cpu_per_request": cpu_per_request,
        "booking": booking,
    }

    import psycopg

    with psycopg.connect(args.database_url) as conn:
        calls, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT call_sid) FROM telephony_calllog"
        ).fetchone()
        tickets = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0]
    result.update(
        command=" ".join(["bench/voice_webhook.py", *sys.argv[1:]]),
        connections=args.connections,
        workers=args.workers,
        duration_s=args.duration,
        cpus=os.cpu_count(),
        load_average_at_start=round(load_before, 2),
        load_average_at_end=round(load_after, 2),
        call_logs=calls,
        tickets=tickets,
    )
    assert calls == distinct, "a CallSid was logged twice"
    assert booking["calls_without_ticket"] == 0, "a call was not booked on a ticket"
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "voice_webhook.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
