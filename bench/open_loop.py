"""Open-loop load: requests leave on a schedule computed in advance, whatever the answers.

A closed loop (wrk) sends a connection's next request only when the last one is answered,
so a slow server slows the load down and its queue never shows (coordinated omission).
Here sessions (a phone call and its callbacks, say) arrive as a Poisson process: gaps
drawn from an exponential distribution with a fixed seed, over a fixed time. Each request
of a session is due at its own offset after the session's arrival; the first one opens the
session and the others never leave before it was answered (Twilio dials, and then reports
on the call, only once the webhook has answered with the TwiML). A latency runs from the
moment the request was due, so waiting for a late answer, in a queue or in this client
counts. Each request opens a new connection, as webhook senders do. Bounded: the schedule
is finite and each request gives up after `timeout` seconds (counted as an error).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """One HTTP request of a session."""

    kind: str  # the row it is reported under
    offset: float  # seconds after its session's arrival
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    expect: bytes = b""  # an answer must contain this (and be a 200) to count as a success


Session = list[Request]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else 0.0


@dataclass
class Latencies:
    """Milliseconds from due to answered, per request, and the failures among them."""

    ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)  # "HTTP/1.1 500 ...", "timeout", ...
    late_sends_ms: list[float] = field(default_factory=list)  # how late each left this client

    def __add__(self, other: Latencies) -> Latencies:
        return Latencies(
            self.ms + other.ms, self.failures + other.failures, self.late_sends_ms + other.late_sends_ms
        )

    def summary(self) -> dict[str, Any]:
        return {
            "n": len(self.ms),
            "errors": self.failures.total(),
            "failures": dict(self.failures),
            **{f"p{p}_ms": round(percentile(self.ms, p), 1) for p in (50, 95, 99)},
            "max_ms": round(max(self.ms, default=0.0), 1),
            "client_late_p99_ms": round(percentile(self.late_sends_ms, 99), 1),
        }


def arrivals(rate: float, seconds: float, seed: int) -> list[float]:
    """Poisson arrival times in [0, seconds) at `rate` per second."""
    rng = random.Random(seed)
    times: list[float] = []
    at = rng.expovariate(rate)
    while at < seconds:
        times.append(at)
        at += rng.expovariate(rate)
    return times


def run(base: str, schedule: list[tuple[float, Session]], timeout: float = 15.0) -> dict[str, Latencies]:
    """Play `schedule` ((arrival, session) pairs) against `base`; latencies by request kind."""
    return asyncio.run(_play(base, schedule, timeout))


async def _play(base: str, schedule: list[tuple[float, Session]], timeout: float) -> dict[str, Latencies]:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    results: dict[str, Latencies] = {}
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5  # time to create every session's task first

    async def send(arrival: float, request: Request) -> None:
        due = start + arrival + request.offset
        await asyncio.sleep(due - loop.time())
        latencies = results.setdefault(request.kind, Latencies())
        latencies.late_sends_ms.append(max(0.0, loop.time() - due) * 1000)
        try:
            failure = await asyncio.wait_for(_exchange(host, port, request), timeout)
        except TimeoutError:
            failure = "timeout"
        except OSError as exc:
            failure = type(exc).__name__
        latencies.ms.append((loop.time() - due) * 1000)
        if failure:
            latencies.failures[failure] += 1

    async def session(arrival: float, requests: Session) -> None:
        first, *rest = requests
        await send(arrival, first)
        await asyncio.gather(*(send(arrival, request) for request in rest))

    await asyncio.gather(*(session(arrival, requests) for arrival, requests in schedule))
    return results


async def _exchange(host: str, port: int, request: Request) -> str:
    """Send one request over a new connection; "" if it was answered 200 as expected, else why not."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                f"Content-Length: {len(request.body)}", *(f"{k}: {v}" for k, v in request.headers)]  # fmt: skip
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
        answer = await reader.read()
    finally:
        writer.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status:
        return status or "no answer"
    return "" if request.expect in answer else f"no {request.expect.decode()} in the answer"
