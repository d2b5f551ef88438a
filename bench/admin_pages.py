"""How long the agents' admin pages (and the API's search) take on the benchmark database.

    .venv/bin/python bench/admin_pages.py [--runs 40] [--tickets 1000000] [--database NAME] [URL ...]

With --tickets, first migrates the database and seeds that many tickets (three messages
each, bench/seed.py) unless it already has them; without, it uses what bench/run.py seeded.
Each URL is requested in-process through Django's test client as a superuser, twice to
warm up and then `--runs` times; prints the median and 95th-percentile wall time, the
number of SQL statements and the slowest statement's time. In-process, so no HTTP
server's share: these are the page's own costs, dominated by their queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import ensure_database, manage, server_env  # noqa: E402
from bench.seed import seed, ticket_count  # noqa: E402

DEFAULT_URLS = [
    "/admin/tickets/ticket/",  # the default list: active tickets in triage order
    "/admin/tickets/ticket/?tag=vip",  # the list filtered by a tag
    "/admin/tickets/ticket/?q=sh-34335",  # an active ticket's reference, in another case
    "/admin/tickets/ticket/?q=Customer14285@Example.com",  # a contact's email
    "/admin/tickets/ticket/?q=trk1000005",  # free text: one message's tracking code
    "/admin/tickets/ticket/?q=parcel+Tallinn",  # free text: two words of some message bodies
    "/admin/tickets/ticket/?q=printer",  # free text: a word of 1 in 7 subjects and of bodies
    "/v1/tickets?q=trk1000005",  # the API's `q`: the same search
    "/v1/tickets?q=volcano",  # a word no ticket has
    "/v1/tickets?q=printer",
    "/admin/notifications/delivery/",
    "/admin/telephony/calllog/",
]


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("urls", nargs="*", default=DEFAULT_URLS)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tickets", type=int, help="migrate and seed this many tickets first")
    parser.add_argument("--database", default="supporthub_bench_http")
    args = parser.parse_args()

    dsn = ensure_database(args.database)
    os.environ.update(server_env(dsn))
    if args.tickets:
        manage(dict(os.environ), "migrate", "--noinput")
        if ticket_count(dsn) != args.tickets:
            started = time.monotonic()
            seed(dsn, args.tickets)
            print(f"seeded {args.tickets} tickets in {time.monotonic() - started:.0f} s", file=sys.stderr)
    manage(dict(os.environ), "collectstatic", "--noinput", "-v0")  # the pages link their static files
    os.environ["DJANGO_SETTINGS_MODULE"] = "supporthub.settings"
    os.chdir(ROOT)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = User.objects.get_or_create(username="bench-admin")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    print(f"load average {os.getloadavg()[0]:.1f}; {args.runs} runs each", file=sys.stderr)
    print(f"| {'page':<52} | {'median ms':>9} | {'p95 ms':>6} | {'SQL':>3} | {'slowest SQL ms':>14} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 8}|{'-' * 5}|{'-' * 16}|")
    for url in args.urls:
        for _ in range(2):
            if client.get(url).status_code != 200:
                sys.exit(f"{url}: not a 200")
        times = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
        slowest = max(float(query["time"]) for query in queries.captured_queries) * 1000
        print(
            f"| {url:<52} | {statistics.median(times):>9.0f} | {p95(times):>6.0f} "
            f"| {len(queries):>3} | {slowest:>14.0f} |"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)


if __name__ == "__main__":
    main()
