"""Fake third-party servers on 127.0.0.1 for the real client libraries to talk to.

Each runs in a daemon thread and records what it received. Behaviour is scripted with
a queue of responses (status, headers, body); when the queue is empty it answers with
its default (success).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.services import EVENTUALLY


@dataclass
class Reply:
    status: int = 200
    body: Any = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None  # block until set (simulates a slow provider)
    delay: float = 0.0  # accept, then answer this many seconds later (after the client gave up)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: int | None = None  # status we answered; None if the client went away

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


class FakeServer:
    """A scripted HTTP server; subclasses set `default()` for an unscripted request."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    # -- scripting -------------------------------------------------------------------------
    def answer(self, *replies: Reply) -> None:
        with self.lock:
            self.script.extend(replies)

    def default(self, request: Received) -> Reply:
        return Reply()

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def delivered(self) -> list[Received]:
        """Requests we answered with a 2xx (what a real provider would have accepted)."""
        return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = EVENTUALLY) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return self.requests
            time.sleep(0.02)
        raise TimeoutError(f"{type(self).__name__} got {len(self.requests)} requests, wanted {count}")

    # -- serving ---------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        received = Received(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=handler.rfile.read(length),
            at=time.time(),
        )
        with self.lock:
            self.requests.append(received)
            reply = self.script.pop(0) if self.script else None
        if reply is None:
            reply = self.default(received)
        if reply.hang is not None:
            reply.hang.wait(timeout=60)
            return  # never answer: the client was killed or gave up
        time.sleep(reply.delay)
        body = reply.body if isinstance(reply.body, bytes | str) else json.dumps(reply.body)
        data = body.encode() if isinstance(body, str) else body
        try:
            handler.send_response(reply.status)
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            received.answered = reply.status
        except OSError:
            pass

    @contextmanager
    def running(self) -> Iterator[FakeServer]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, a keep-alive client
            # waits ~40 ms for the delayed ACK on every request.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                server._handle(self)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()


class FakeSlack(FakeServer):
    """Slack incoming webhook: POST /services/T000/B000/XXX with a JSON body → 'ok'."""

    path = "/services/T000/B000/secret"

    @property
    def webhook_url(self) -> str:
        return self.url + self.path


class FakeSlackApi(FakeServer):
    """Slack's Web API (Bearer token): POST /api/chat.postMessage and /api/chat.update (JSON)
    → ok with the message ts; /api/users.info (user=U…, form or query) → the member's profile email from
    `members` (else user_not_found); /api/users.lookupByEmail (email=…) → the member with that
    email in `members` (else users_not_found); POST /actions/… (a response_url) → "ok"."""

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[str, str] = {}  # Slack user id → profile email

    def default(self, request: Received) -> Reply:
        path, _, query = request.path.partition("?")
        if path in ("/api/chat.postMessage", "/api/chat.update"):
            body = request.json()
            return Reply(
                200, {"ok": True, "channel": body["channel"], "ts": body.get("ts") or f"{time.time():.6f}"}
            )
        if path == "/api/users.info":
            fields = {**request.form(), **{key: values[0] for key, values in parse_qs(query).items()}}
            user_id = fields.get("user", "")
            if user_id not in self.members:
                return self.error("user_not_found")
            return Reply(
                200, {"ok": True, "user": {"id": user_id, "profile": {"email": self.members[user_id]}}}
            )
        if path == "/api/users.lookupByEmail":
            fields = {**request.form(), **{key: values[0] for key, values in parse_qs(query).items()}}
            ids = [user_id for user_id, email in self.members.items() if email == fields.get("email")]
            if not ids:
                return self.error("users_not_found")
            return Reply(200, {"ok": True, "user": {"id": ids[0]}})
        if path.startswith("/actions/"):
            return Reply(200, "ok")
        return Reply(404, {"ok": False, "error": "unknown_method"})

    def calls(self, method: str) -> list[Received]:
        """The requests made to Web API `method` (e.g. "chat.update")."""
        return [r for r in self.requests if r.path.partition("?")[0] == f"/api/{method}"]

    @staticmethod
    def error(error: str, status: int = 200, **headers: str) -> Reply:
        return Reply(status, {"ok": False, "error": error}, headers)

    @property
    def api_url(self) -> str:
        return self.url + "/api/"


class FakeTwilio(FakeServer):
    """Twilio REST API: Messages.json and Calls.json answer 201 with a new SID."""

    def default(self, request: Received) -> Reply:
        form = request.form()
        if request.path.endswith("/Messages.json"):
            sid = "SM" + uuid.uuid4().hex
            return Reply(
                201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
            )
        if request.path.endswith("/Calls.json"):
            sid = "CA" + uuid.uuid4().hex
            return Reply(201, {"sid": sid, "status": "queued", "to": form.get("To")})
        return Reply(404, {"code": 20404, "message": "not found", "status": 404})

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return Reply(status, {"code": code, "message": message, "status": status, "more_info": ""})


class FakePostmark(FakeServer):
    """Postmark's /email API, for anymail's Postmark backend."""

    def default(self, request: Received) -> Reply:
        data = request.json()
        return Reply(
            200,
            {"To": data.get("To"), "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "OK"},
        )
