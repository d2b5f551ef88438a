"""How long the agents' admin pages take on the benchmark database, and their SQL.

    .venv/bin/python bench/admin_pages.py [--runs 5] [URL ...]

Uses the database bench/run.py seeds (run it first; `--tickets 1000000` for the large
case). Each URL is requested in-process through Django's test client as a superuser, once
to warm up and then `--runs` times; prints the median wall time, the number of SQL
statements and the slowest statement's time. In-process, so no HTTP server's share: these
are the page's own costs, dominated by its queries.
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

from bench.run import ensure_database, server_env  # noqa: E402

DEFAULT_URLS = [
    "/admin/tickets/ticket/",  # the default list: active tickets in triage order
    "/admin/tickets/ticket/?q=sh-34335",  # an active ticket's reference, in another case
    "/admin/tickets/ticket/?q=Customer14285@Example.com",  # a contact's email
    "/admin/tickets/ticket/?q=printer",  # free text: the full search
    "/admin/notifications/delivery/",
    "/admin/telephony/calllog/",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("urls", nargs="*", default=DEFAULT_URLS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="supporthub_bench_http")
    args = parser.parse_args()

    os.environ.update(server_env(ensure_database(args.database)))
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

    print(f"| {'page':<52} | {'median ms':>9} | {'SQL':>3} | {'slowest SQL ms':>14} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 5}|{'-' * 16}|")
    for url in args.urls:
        if client.get(url).status_code != 200:
            sys.exit(f"{url}: not a 200")
        times = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
        slowest = max(float(query["time"]) for query in queries.captured_queries) * 1000
        print(f"| {url:<52} | {statistics.median(times):>9.0f} | {len(queries):>3} | {slowest:>14.0f} |")


if __name__ == "__main__":
    main()
