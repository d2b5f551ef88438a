"""A/B: the CPU one request costs in two source trees, compared in interleaved batches.

    .venv/bin/python bench/ab.py --base HEAD~1 [--endpoint intake] [--rounds 16] [--batch 150]
    .venv/bin/python bench/ab.py --a /path/to/tree --b . --endpoint voice

On a shared VM the same build's speed drifts by up to 2x within minutes, so two runs taken
one after the other cannot show a 10% change. Here two long-lived processes, one per tree,
each call the WSGI application directly (middleware and all, no HTTP server) for --batch
requests in turn, --rounds times; each round gives the ratio B/A of CPU per request, and the
median of those ratios is the answer: a drift that lasts longer than a round moves both
sides of it alike. `--base REF` checks REF out into a temporary worktree as side A and
compares it with this tree (side B). Uses the database bench/run.py seeds (run it once
first); intake and reply add rows to it, as the HTTP benchmark does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INTAKE = {
    "channel": "chat",
    "name": "Bench",
    "email": "bench@example.com",
    "subject": "Load",
    "message": "hi",
}
ENDPOINTS = ("intake", "reply", "voice", "detail", "list", "filtered")
EMAIL_TICKETS = 20_000  # every 5th of bench/run.py's 100,000 seeded tickets is a new email ticket


def _environ(method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }  # fmt: skip
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def _requests(endpoint: str, count: int, api_key: str) -> list[tuple[str, str, bytes, dict[str, str]]]:
    auth = {"X-API-Key": api_key}
    if endpoint == "intake":
        body = json.dumps(INTAKE).encode()
        return [("POST", "/v1/support/request", body, {**auth, "Content-Type": "application/json"})] * count
    if endpoint == "reply":  # an agent's reply, sent to the requester by email
        start = random.randrange(EMAIL_TICKETS)  # each side replies on tickets of its own
        json_type = {**auth, "Content-Type": "application/json"}
        return [
            ("POST", "/v1/messages", _reply(5 * (1 + (start + n) % EMAIL_TICKETS)), json_type)
            for n in range(count)
        ]
    if endpoint == "voice":
        from bench.voice_webhook import PATH, caller_pool, signed_requests

        form = "application/x-www-form-urlencoded"
        return [
            ("POST", PATH, body.encode(), {"Content-Type": form, "X-Twilio-Signature": signature})
            for body, signature in signed_requests(count, caller_pool(3_000))
        ]
    path = {
        "detail": "/v1/tickets/50000",
        "list": "/v1/tickets?page_size=50",
        "filtered": "/v1/tickets?page_size=50&status=open&priority=urgent",  # as bench/run.py's
    }[endpoint]
    return [("GET", path, b"", auth)] * count


def _reply(ticket: int) -> bytes:
    return json.dumps({"ticket": ticket, "direction": "outbound", "body": "Working on it"}).encode()


def serve(endpoint: str, api_key: str, total: int) -> None:
    """Side process: answer 'N' on stdin with the CPU ms per request of the next N requests."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    from supporthub.warmup import warm

    warm()  # as gunicorn.conf.py's post_worker_init does
    pending = iter(_requests(endpoint, total, api_key))
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        statuses.append(status)

    def run(n: int) -> float:
        started = time.process_time()
        for _ in range(n):
            method, path, body, headers = next(pending)
            b"".join(app(_environ(method, path, body, headers), start_response))
        return (time.process_time() - started) * 1000 / n

    run(30)  # warm-up: imports, connections, prepared statements
    for line in sys.stdin:
        cpu = run(int(line))
        bad = [s for s in statuses if not s.startswith(("200", "201"))]
        if bad:
            sys.exit(f"{endpoint}: unexpected answers {sorted(set(bad))}")
        statuses.clear()
        print(f"{cpu:.4f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", default="intake", choices=ENDPOINTS)
    parser.add_argument("--base", help="git ref for side A (checked out into a temporary worktree)")
    parser.add_argument("--a", type=Path, help="source tree of side A")
    parser.add_argument("--b", type=Path, default=ROOT, help="source tree of side B (default: this one)")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--database", default="supporthub_bench_http")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        sys.path.insert(0, os.getcwd())
        serve(args.endpoint, args.api_key, 30 + args.rounds * args.batch)
        return
    if bool(args.base) == bool(args.a):
        parser.error("give either --base REF or --a TREE")

    sys.path.insert(0, str(ROOT))
    from bench.run import ensure_database, manage, server_env

    env = server_env(ensure_database(args.database))  # with the Twilio settings of the voice bench
    with tempfile.TemporaryDirectory() as tmp:
        a_tree = args.a
        if args.base:
            a_tree = Path(tmp) / "a"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(a_tree), args.base], cwd=ROOT, check=True
            )
        try:
            manage(env, "migrate", "--noinput")
            key = manage(env, "create_api_key", "bench-ab").strip()
            command = [sys.executable, str(ROOT / "bench" / "ab.py"), "--serve", "--endpoint", args.endpoint,
                       "--rounds", str(args.rounds), "--batch", str(args.batch), "--api-key", key]  # fmt: skip
            sides = [
                subprocess.Popen(
                    command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                for tree in (a_tree, args.b)
            ]
            ratios, costs = [], ([], [])
            for round_ in range(args.rounds):
                order = (0, 1) if round_ % 2 == 0 else (1, 0)  # neither side always goes first
                cpu = [0.0, 0.0]
                for side in order:
                    sides[side].stdin.write(f"{args.batch}\n")  # type: ignore[union-attr]
                    sides[side].stdin.flush()  # type: ignore[union-attr]
                    answer = sides[side].stdout.readline()  # type: ignore[union-attr]
                    if not answer:
                        sys.exit(f"side {'AB'[side]} stopped")
                    cpu[side] = float(answer)
                costs[0].append(cpu[0])
                costs[1].append(cpu[1])
                ratios.append(cpu[1] / cpu[0])
                print(
                    f"round {round_ + 1:>2}: A {cpu[0]:.3f} ms  B {cpu[1]:.3f} ms  B/A {ratios[-1]:.3f}",
                    flush=True,
                )
            for side in sides:
                side.stdin.close()  # type: ignore[union-attr]
                side.wait(timeout=30)
        finally:
            if args.base:
                subprocess.run(["git", "worktree", "remove", "--force", str(a_tree)], cwd=ROOT, check=False)
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    print(
        f"\n{args.endpoint}: CPU per request A {statistics.median(costs[0]):.3f} ms, "
        f"B {statistics.median(costs[1]):.3f} ms (medians of {args.rounds} rounds of {args.batch}); "
        f"B/A median {median:.3f}, quartiles {q1:.3f}-{q3:.3f}"
    )


if __name__ == "__main__":
    main()
