"""HTTP benchmark: SupportHub endpoints against a bare Django view, in the same run.

    .venv/bin/python bench/run.py [--tickets 100000] [--duration 15] [--connections 16]

Creates (or reuses) the PostgreSQL database `supporthub_bench`, seeds it, starts gunicorn
as in production, and drives load with wrk from a separate process on 127.0.0.1. Every
throughput is also shown as a ratio of the bare view's (the ceiling), measured again right
before and after each endpoint on the same machine, so the ratios survive a noisy
neighbour better than raw numbers.
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

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seed import seed, ticket_count  # noqa: E402
from bench.voice_webhook import (  # noqa: E402
    ACCOUNT_SID,
    LUA,
    ON_CALL,
    PUBLIC_BASE_URL,
    TOKEN,
    UNTHROTTLED,
    caller_pool,
    lua_string,
    signed_requests,
)
from bench.voice_webhook import PATH as VOICE_PATH  # noqa: E402
from tests.services import free_port, wait_for_port  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-only-secret-key-0123456789abcdefghijklmnop"


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio: float = 0.0


def ensure_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def server_env(dsn: str) -> dict[str, str]:
    """The environment the benchmarked server runs with: production settings on `dsn`."""
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "SECRET_KEY": SECRET,
        "DEBUG": "false",
        "BENCH_ENDPOINTS": "true",
        "LOG_LEVEL": "WARNING",
        "ENV_FILE": "/dev/null",
    }


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def lua_post(path: Path, body: dict, headers: dict[str, str]) -> Path:
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


def voice_script(tmpdir: Path, calls: int) -> Path:
    """A wrk script posting `calls` distinct inbound calls, pre-signed as Twilio signs them."""
    data = tmpdir / "calls.lua"
    with data.open("w") as out:
        out.write("return {\n")
        for body, signature in signed_requests(calls, caller_pool(3_000)):
            out.write(f"{{{lua_string(body)}, {lua_string(signature)}}},\n")
        out.write("}\n")
    script = tmpdir / "voice.lua"
    script.write_text(LUA % {"data": data, "threads": 2, "path": VOICE_PATH})
    return script


def wrk(
    name: str,
    url: str,
    args: argparse.Namespace,
    headers: dict[str, str],
    script: Path | None = None,
    connections: int | None = None,
    duration: int | None = None,
) -> Result:
    connections = connections or args.connections
    seconds = duration or args.duration
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
    nodial = re.search(r"RESULT .*nodial=(\d+)", out)  # the voice script checks every answer dials
    if nodial:
        errors = max(errors, int(nodial.group(1)))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return Result(name, rps, p50, p99, errors)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--ceiling-duration", type=int, default=5, help="seconds per ceiling run")
    parser.add_argument("--voice-connections", type=int, default=20, help="concurrent callers (issue 4)")
    # The Procfile's defaults (3 sync workers). Re-measured in session 3 (docs/benchmarks.md,
    # "where the ratio targets stand"): with the lean endpoints, 2 gthread workers x 4
    # threads no longer win, and their ceiling swung 1,200-4,100 req/s within one run.
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--database", default="supporthub_bench_http")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", help="comma-separated endpoint names")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    print(f"load average {os.getloadavg()[0]:.2f} at the start; {os.cpu_count()} CPUs", file=sys.stderr)
    dsn = ensure_database(args.database)
    env = {
        **server_env(dsn),
        # The voice webhook: a bench-only token, requests pre-signed for this public URL.
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SUPPORT_FORWARD_NUMBER": ON_CALL,
        **UNTHROTTLED,
    }
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v0")
    if args.reseed or ticket_count(dsn) != args.tickets:
        started = time.monotonic()
        seed(dsn, args.tickets)
        print(f"seeded {args.tickets} tickets in {time.monotonic() - started:.1f}s", file=sys.stderr)
    key = manage(env, "create_api_key", "bench").strip()
    auth = {"X-API-Key": key}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = [
        sys.executable, "-m", "gunicorn", "supporthub.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--no-control-socket", "--log-level", "warning",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        intake = intake_script(tmpdir, auth)
        reply = lua_post(
            tmpdir / "message.lua",
            {"ticket": 5, "direction": "outbound", "body": "Working on it"},  # an email ticket (seed.py)
            {"Content-Type": "application/json", **auth},
        )
        replies = replies_script(tmpdir, key, args.tickets)
        voice = voice_script(tmpdir, 30_000)
        server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
        try:
            wait_for_port(port)
            ceiling = ("ceiling (bare Django view)", f"{base}/bench/hello", {}, None)
            endpoints = [
                ("GET /v1/tickets?page_size=50", f"{base}/v1/tickets?page_size=50", auth, None),
                (
                    "GET /v1/tickets filtered",
                    f"{base}/v1/tickets?page_size=50&status=open&priority=urgent",
                    auth,
                    None,
                ),
                ("GET /v1/tickets?q=search", f"{base}/v1/tickets?page_size=50&q=refund", auth, None),
                # The exact-match branches of `q`, typed in another case (tickets.filters):
                # a reference, and a contact's email (seed.py's formats).
                (
                    "GET /v1/tickets?q=reference",
                    f"{base}/v1/tickets?page_size=50&q=sh-{1000 + args.tickets // 3}",
                    auth,
                    None,
                ),
                (
                    "GET /v1/tickets?q=email",
                    f"{base}/v1/tickets?page_size=50&q=Customer{args.tickets // 7}@Example.com",
                    auth,
                    None,
                ),
                ("GET /v1/tickets/{id}", f"{base}/v1/tickets/{args.tickets // 2}", auth, None),
                ("POST /v1/support/request", f"{base}/v1/support/request", {}, intake),
                ("POST /v1/messages", f"{base}/v1/messages", {}, reply),
                ("POST /v1/messages (many tickets)", f"{base}/v1/messages", {}, replies),
                ("POST voice webhook (20 callers)", f"{base}{VOICE_PATH}", {}, voice),
            ]
            if args.only:
                wanted = set(args.only.split(","))
                endpoints = [e for e in endpoints if e[0] in wanted]
            wrk(*ceiling[:2], args, {}, None)  # warm-up, discarded
            # The ceiling is measured again between endpoints and each endpoint is compared
            # with the mean of the two around it: a neighbour's load that comes and goes
            # then moves both sides of a ratio alike.
            ceilings = [wrk(*ceiling[:2], args, {}, None, duration=args.ceiling_duration)]
            results = []
            for name, url, headers, script in endpoints:
                connections = args.voice_connections if script == voice else None
                results.append(wrk(name, url, args, headers, script, connections))
                ceilings.append(wrk(*ceiling[:2], args, {}, None, duration=args.ceiling_duration))
        finally:
            server.terminate()
            server.wait(timeout=30)
    for before, after, result in zip(ceilings, ceilings[1:], results, strict=False):
        around = (before.rps + after.rps) / 2
        result.ratio = result.rps / around if around else 0.0
    summary = Result(
        f"ceiling (bare view, {len(ceilings)} runs)",
        sum(c.rps for c in ceilings) / len(ceilings),
        sorted(c.p50_ms for c in ceilings)[len(ceilings) // 2],
        max(c.p99_ms for c in ceilings),
        sum(c.errors for c in ceilings),
        1.0,
    )
    spread = f"{min(c.rps for c in ceilings):.0f}-{max(c.rps for c in ceilings):.0f}"
    results = [summary, *results]
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; {os.cpu_count()} CPUs")
    print(f"ceiling req/s across its runs: {spread}; each ratio uses the runs just before and after")
    print(f"\n{args.tickets} tickets, gunicorn {args.workers}x{args.worker_class}/{args.threads} threads, "
          f"wrk {args.connections} connections x {args.duration}s\n")  # fmt: skip
    print(
        f"| {'endpoint':<34} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} | {'ratio':>5} |"
    )
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 7}|")
    for r in results:
        print(
            f"| {r.name:<34} | {r.rps:>8.0f} | {r.p50_ms:>7.1f} | {r.p99_ms:>7.1f} | {r.errors:>6} | {r.ratio:>5.2f} |"
        )
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"http-{args.tickets}-{stamp}.json").write_text(
        json.dumps([asdict(r) for r in results], indent=2)
    )


if __name__ == "__main__":
    main()
