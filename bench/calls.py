"""Deterministic cost of a request: Python function calls per request (cProfile), in-process.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/supporthub_bench_http \
    .venv/bin/python bench/calls.py "/v1/tickets?page_size=50" "/v1/tickets/500"

Wall-clock timings on a shared 2-core machine are noisy; call counts are not, so they show
whether an optimisation removed work. Run bench/run.py first to create and seed the database.
"""

import cProfile
import os
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/supporthub_bench_http")
os.environ.update(
    SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnop",
    ENV_FILE="/dev/null",
    ALLOWED_HOSTS="testserver,127.0.0.1",
    LOG_LEVEL="WARNING",
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")

import django

django.setup()

from django.test import Client  # noqa: E402

from supporthub.roles import KeyScope  # noqa: E402
from supporthub.services import api_key_create  # noqa: E402

REQUESTS = 20


def main() -> None:
    _, key = api_key_create(name="calls", scope=KeyScope.READ_ONLY)
    client = Client(HTTP_X_API_KEY=key)
    for url in sys.argv[1:] or ["/v1/tickets?page_size=50", "/v1/tickets/500"]:
        for _ in range(5):
            client.get(url)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(REQUESTS):
            client.get(url)
        profile.disable()
        print(f"{pstats.Stats(profile).total_calls / REQUESTS:9.0f} Python calls/request  {url}")


if __name__ == "__main__":
    main()
