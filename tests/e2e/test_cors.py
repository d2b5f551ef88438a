"""A page on another, allowed origin calls the API from a real Chromium with X-API-Key."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.factories import TicketFactory, make_api_key

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>partner site</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A page served from 127.0.0.1 on its own port: another origin than the live server's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


CALL = """async ([url, key]) => {
    const list = await fetch(url + "/v1/tickets", {headers: {"X-API-Key": key}});
    const intake = await fetch(url + "/v1/support/request", {
        method: "POST",
        headers: {"X-API-Key": key, "Idempotency-Key": "browser-1", "Content-Type": "application/json"},
        body: JSON.stringify({channel: "chat", name: "Web", email: "web@example.com",
                              subject: "From the site", message: "Hello"}),
    });
    return {list: list.status, count: (await list.json()).count, intake: intake.status,
            requestId: intake.headers.get("X-Request-ID")};
}"""


def test_a_page_on_an_allowed_origin_calls_the_api_with_its_key(page, live_server, other_origin, settings):
    settings.CORS_ALLOWED_ORIGINS = [other_origin]
    TicketFactory()
    key = make_api_key("partner site")
    page.goto(other_origin)

    result = page.evaluate(CALL, [live_server.url, key])

    assert result["list"] == 200 and result["count"] == 1
    assert result["intake"] == 201
    assert result["requestId"]  # exposed to the page


def test_a_page_on_another_origin_is_refused_by_the_browser(page, live_server, other_origin, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]
    key = make_api_key("partner site")
    page.goto(other_origin)

    failed = page.evaluate(
        """async ([url, key]) => {
            try { await fetch(url + "/v1/tickets", {headers: {"X-API-Key": key}}); return false; }
            catch (error) { return true; }
        }""",
        [live_server.url, key],
    )

    assert failed
