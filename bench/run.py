"""HTTP benchmark: SupportHub's endpoints against a bare Django app, in the same run.

    .venv/bin/python bench/run.py [--tickets 100000] [--duration 15] [--only NAME,NAME]

1. Creates (or reuses) the PostgreSQL database --database, migrates it and seeds --tickets
   tickets with two messages each (bench/seed.py; again when the count differs).
2. Starts two gunicorn servers with the same settings (the Procfile's: 3 sync workers,
   `--no-control-socket`): SupportHub with production settings (DEBUG off, rate limiting
   on but never throttling), and the bare app of bench/bare (startproject's settings and
   middleware, one plain view): the ceiling.
3. Drives each endpoint with wrk from 127.0.0.1 (closed loop: 2 threads, --connections,
   --duration s), and the bare view for --ceiling-duration s right before and after each
   one. An endpoint's ratio is its req/s over the mean of the two ceilings around it, so a
   neighbour's load that comes and goes moves both sides of a ratio alike.
4. Plays the open-loop voice load of bench/voice_webhook.py (--voice-rate new calls per
   second for --voice-seconds, each with Twilio's callbacks, a Celery worker booking the
   calls) against SupportHub, and the same schedule against the bare view before and after.

Prints one table with the targets and the load average, and writes
bench/results/http-<tickets>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import seed, ticket_count  # noqa: E402
from bench.servers import (  # noqa: E402
    BARE_APP,
    PROJECT_APP,
    CpuMeter,
    Gunicorn,
    Server,
    celery_worker,
    commit,
    exit_on_sigterm,
    web_server,
)
from bench.voice_webhook import TWILIO_ENV, UNTHROTTLED, open_loop, voice_table, voice_target, warm_up  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnop"
VOICE = "voice"  # the open-loop voice load's name for --only
# Each endpoint's floor: req/s as a share of the bare view's.
RATIO_TARGETS = {
    "GET /v1/tickets?page_size=50": 0.18,
    "GET /v1/tickets/{id}": 0.30,
    "POST /v1/support/request": 0.09,
}


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    load: float  # the 1-minute load average when it started
    ratio: float = 0.0


def ensure_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def server_env(dsn: str) -> dict[str, str]:
    """The environment SupportHub runs with here: production settings on `dsn`."""
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "SECRET_KEY": SECRET,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ENV_FILE": "/dev/null",
        **TWILIO_ENV,
        **UNTHROTTLED,
        # The load repeats one requester's request: measure new tickets, each acknowledged,
        # not the folding of identical requests or the acknowledgement limit.
        "INTAKE_FOLD_WINDOW_SECONDS": "0",
        "ACK_LIMIT_PER_HOUR": "100000000",
    }


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def lua_post(path: Path, body: dict[str, Any], headers: dict[str, str]) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def intake_script(tmpdir: Path, auth: dict[str, str]) -> Path:
    """A wrk script posting one known requester's chat request (POST /v1/support/request)."""
    body = {
        "channel": "chat",
        "name": "Bench",
        "email": "bench@example.com",
        "subject": "Load",
        "message": "hello",
    }
    return lua_post(tmpdir / "intake.lua", body, {"Content-Type": "application/json", **auth})


REPLIES_LUA = """
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(os.time() * 16 + id)
end

function request()
  -- every 5th seeded ticket is a new email ticket (seed.py)
  local ticket = 5 * math.random(1, %(email_tickets)d)
  return wrk.format("POST", "/v1/messages", {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = "%(key)s",
  }, '{"ticket": ' .. ticket .. ', "direction": "outbound", "body": "Working on it"}')
end
"""


def replies_script(tmpdir: Path, key: str, tickets: int) -> Path:
    """A wrk script posting agents' replies to random email tickets (POST /v1/messages): the
    machine's cost of a reply, where the single-ticket run measures one row lock."""
    script = tmpdir / "replies.lua"
    script.write_text(REPLIES_LUA % {"email_tickets": tickets // 5, "key": key})
    return script


def parse_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    name: str, url: str, seconds: int, connections: int, headers: dict[str, str], script: Path | None
) -> Result:
    load = os.getloadavg()[0]
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = parse_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = parse_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return Result(name, rps, p50, p99, errors, load)


def endpoints(
    tickets: int, auth: dict[str, str], key: str, tmpdir: Path
) -> list[tuple[str, str, dict[str, str], Path | None]]:
    """(name, path, headers, wrk script) of every endpoint measured with wrk."""
    reply = lua_post(
        tmpdir / "message.lua",
        {"ticket": 5, "direction": "outbound", "body": "Working on it"},  # an email ticket (seed.py)
        {"Content-Type": "application/json", **auth},
    )
    return [
        ("GET /v1/tickets?page_size=50", "/v1/tickets?page_size=50", auth, None),
        ("GET /v1/tickets filtered", "/v1/tickets?page_size=50&status=open&priority=urgent", auth, None),
        ("GET /v1/tickets?q=search", "/v1/tickets?page_size=50&q=refund", auth, None),
        # The exact-match branches of `q`, typed in another case (tickets.filters): a
        # reference, and a contact's email (seed.py's formats).
        ("GET /v1/tickets?q=reference", f"/v1/tickets?page_size=50&q=sh-{1000 + tickets // 3}", auth, None),
        ("GET /v1/tickets?q=email", f"/v1/tickets?page_size=50&q=Customer{tickets // 7}@Example.com", auth, None),
        ("GET /v1/tickets/{id}", f"/v1/tickets/{tickets // 2}", auth, None),
        ("POST /v1/support/request", "/v1/support/request", {}, intake_script(tmpdir, auth)),
        ("POST /v1/messages", "/v1/messages", {}, reply),
        ("POST /v1/messages (many tickets)", "/v1/messages", {}, replies_script(tmpdir, key, tickets)),
    ]  # fmt: skip


def table(results: list[Result], ceiling: Result, voice: dict[str, Any] | None) -> str:
    """One Markdown table: the bare view, each endpoint with its ratio, the voice load."""

    def target(result: Result) -> str:
        floor = RATIO_TARGETS.get(result.name)
        if floor is None:
            return ""
        return f">= {floor:.2f} {'met' if result.ratio >= floor and not result.errors else 'NOT met'}"

    rows = [
        (r.name, f"{r.rps:.0f}", r.p50_ms, r.p99_ms, r.errors, f"{r.ratio:.2f}", target(r), r.load)
        for r in [ceiling, *results]
    ]
    if voice:
        seconds = voice["calls"]["seconds"]
        for name, row, runs, goal in (
            (f"POST /webhooks/twilio/voice, {voice['calls']['rate_per_s']:.0f} calls/s", voice["webhook"], 1, voice_target(voice)),
            ("  its callbacks (status, dial)", voice["callbacks"], 1, ""),
            ("  bare view, same schedule", voice["bare"], 2, ""),
        ):  # fmt: skip
            if row:
                rate = f"{row['n'] / runs / seconds:.0f}"
                rows.append(
                    (name, rate, row["p50_ms"], row["p99_ms"], row["errors"], "", goal, voice["load"])
                )
    header = ["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "target", "load"]
    cells = [
        [n, rate, f"{p50:.1f}", f"{p99:.1f}", str(e), ratio, goal, f"{load:.1f}"]
        for n, rate, p50, p99, e, ratio, goal, load in rows
    ]
    return markdown(header, cells, left={0, 6})


def markdown(header: list[str], rows: list[list[str]], left: set[int]) -> str:
    """A Markdown table padded to read in a terminal; columns in `left` align left."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        cells = (
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ("-" if i in left else ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def voice_load(
    env: dict[str, str], project: Server, bare: Server, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """The open-loop voice load, with the Celery worker that books the calls running."""
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the deliveries the intake queued: not this load's
    with celery_worker(env, work / "worker.log") as worker:
        warm_up(project.url, bare.url, args.voice_rate)
        load = os.getloadavg()[0]
        meter = CpuMeter({"web": project.pid, "worker": worker}, env["DATABASE_URL"])
        voice = open_loop(
            project.url,
            bare.url,
            rate=args.voice_rate,
            seconds=args.voice_seconds,
            seed=args.voice_seed,
            meter=meter,
        )
    return {**voice, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--ceiling-duration", type=int, default=5, help="seconds per ceiling run")
    parser.add_argument("--voice-rate", type=float, default=50.0, help="new calls per second")
    parser.add_argument("--voice-seconds", type=float, default=20.0, help="seconds of new calls")
    parser.add_argument("--voice-seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database", default="supporthub_bench_http")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", help=f"comma-separated endpoint names ('{VOICE}' for the voice load)")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    exit_on_sigterm()
    load_at_start, measured = os.getloadavg()[0], commit()
    dsn = ensure_database(args.database)
    env = server_env(dsn)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the bench's own: what an earlier run left
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")
    if args.reseed or ticket_count(dsn) != args.tickets:
        started = time.monotonic()
        seed(dsn, args.tickets)
        print(f"seeded {args.tickets} tickets in {time.monotonic() - started:.1f}s", file=sys.stderr)
    key = manage(env, "create_api_key", "bench").strip()
    auth = {"X-API-Key": key}
    gunicorn = Gunicorn(args.workers, args.worker_class, args.threads)
    wanted = set(args.only.split(",")) if args.only else None
    results: list[Result] = []
    ceilings: list[Result] = []
    voice: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        with (
            web_server(PROJECT_APP, env, gunicorn, tmpdir / "supporthub.log") as project,
            web_server(BARE_APP, env, gunicorn, tmpdir / "bare.log") as bare,
        ):

            def ceiling() -> Result:
                return wrk("bare view", f"{bare.url}/", args.ceiling_duration, args.connections, {}, None)

            # Warm-ups, discarded: each worker's first requests load code and plans.
            ceiling()
            wrk(
                "warm-up",
                f"{project.url}/v1/tickets?page_size=50",
                args.ceiling_duration,
                args.connections,
                auth,
                None,
            )
            ceilings.append(ceiling())
            for name, path, headers, script in endpoints(args.tickets, auth, key, tmpdir):
                if wanted is None or name in wanted:
                    results.append(
                        wrk(name, project.url + path, args.duration, args.connections, headers, script)
                    )
                    ceilings.append(ceiling())
            if wanted is None or VOICE in wanted:
                voice = voice_load(env, project, bare, args, tmpdir)
    for before, after, result in zip(ceilings, ceilings[1:], results, strict=False):
        around = (before.rps + after.rps) / 2
        result.ratio = result.rps / around if around else 0.0
    summary = Result(
        f"bare view ({len(ceilings)} runs, mean)",
        sum(c.rps for c in ceilings) / len(ceilings),
        sorted(c.p50_ms for c in ceilings)[len(ceilings) // 2],
        max(c.p99_ms for c in ceilings),
        sum(c.errors for c in ceilings),
        ceilings[0].load,
        1.0,
    )
    load_at_end = os.getloadavg()[0]
    print(
        f"\nmeasured on {measured}; {args.tickets} tickets; {gunicorn} for both apps; wrk 2 threads x {args.connections} connections, "
        f"{args.duration} s per endpoint, the bare view {args.ceiling_duration} s before and after each"
    )
    print(
        f"load average (1 min) {load_at_start:.2f} at the start, {load_at_end:.2f} at the end, {os.cpu_count()} CPUs; "
        f"bare view {min(c.rps for c in ceilings):.0f}-{max(c.rps for c in ceilings):.0f} req/s across its runs\n"
    )
    print(table(results, summary, voice))
    if voice:
        print("\nThe voice rows: req/s is the schedule's rate, the load average the one before the load.\n")
        print(voice_table(voice))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"http-{args.tickets}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps(
            {
                "ceiling": asdict(summary),
                "endpoints": [asdict(r) for r in results],
                "voice": voice,
                "load_average": [load_at_start, load_at_end],
                "gunicorn": str(gunicorn),
                "commit": measured,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
