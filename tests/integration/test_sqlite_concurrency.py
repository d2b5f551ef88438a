"""The embedded SQLite default takes concurrent writers: gunicorn's threads and a worker-like
process write at once, and no request fails with "database is locked"."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_processes import http
from tests.services import ROOT, STARTUP_TIMEOUT, child_env, gunicorn_server, process

pytestmark = pytest.mark.integration

KEY = "sqlite-burst-test-key-0123456789"
WRITER = """
from supporthub.actors import SYSTEM
from tickets import services
from tickets.models import Ticket
for i in range(40):
    services.support_request_submit(
        channel="chat", name="Worker", email=f"w{i}@example.com", subject="from the worker", message="m"
    )
    for ticket in Ticket.objects.order_by("?")[:2]:
        services.ticket_update(ticket=ticket, actor=SYSTEM, priority=3)
print("writer done")
"""


def test_a_burst_of_writes_to_sqlite_beside_another_writer_gets_no_5xx(tmp_path):
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'supporthub.sqlite3'}", API_KEY=KEY)
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, env=env, cwd=ROOT, check=True, timeout=4 * STARTUP_TIMEOUT)
    headers = {"X-API-Key": KEY}

    def intake(i: int) -> int:
        body = {
            "channel": "chat",
            "name": "Eve",
            "email": f"e{i}@example.com",
            "subject": "Burst",
            "message": "hi",
        }
        return http("POST", f"{base}/v1/support/request", body, headers)[0]

    def urgent(ticket_id: int) -> int:
        return http("PATCH", f"{base}/v1/tickets/{ticket_id}", {"priority": "urgent"}, headers)[0]

    def listing(_: int) -> int:
        return http("GET", f"{base}/v1/tickets?page_size=50", headers=headers)[0]

    with gunicorn_server(tmp_path, threads=4, **env) as base:
        tickets = [http("POST", f"{base}/v1/tickets", _ticket(i), headers)[1]["id"] for i in range(12)]
        with process(
            [sys.executable, "manage.py", "shell", "-c", WRITER], env, tmp_path / "writer.log"
        ) as writer:
            with ThreadPoolExecutor(max_workers=12) as pool:
                statuses = [
                    *pool.map(intake, range(24)),
                    *pool.map(urgent, tickets),
                    *pool.map(listing, range(12)),
                ]
            assert writer.wait(timeout=4 * STARTUP_TIMEOUT) == 0, (tmp_path / "writer.log").read_text()

    assert (tmp_path / "writer.log").read_text().strip().endswith("writer done")
    assert sorted(set(statuses)) == [200, 201], (tmp_path / "gunicorn.log").read_text()[-3000:]


def _ticket(i: int) -> dict:
    return {"subject": f"Seed {i}", "contact": {"name": "Seed", "email": f"s{i}@example.com"}}
