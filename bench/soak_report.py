"""The numbers of bench/soak.py: memory of process trees, slopes, percentiles, the printed report."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def process_tree_rss(pid: int) -> dict[int, int]:
    """VmRSS in bytes of `pid` and of each of its descendants, `pid` first ({} for pid 0)."""
    parents: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents[parent].append(int(stat.parent.name))
    found: dict[int, int] = {}
    todo = [pid] if pid else []
    while todo:
        current = todo.pop(0)
        found[current] = _rss(current)
        todo.extend(parents.get(current, []))
    return found


def _rss(pid: int) -> int:
    """VmRSS of `pid` in bytes (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return round(60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var, 3)


def memory_summary(samples: list[dict[str, Any]], field: str) -> dict[str, Any]:
    """Start/end/max of one process group; its slope over the second half of its samples.

    The first half is warm-up (imports, caches, pools filling); growth that goes on in the
    second half is what a leak looks like.
    """
    values = [s[field] for s in samples if s.get(field)]
    if not values:
        return {}
    points = [(s["t"], s[field]) for s in samples if s.get(field)]
    middle = (points[0][0] + points[-1][0]) / 2
    steady = [(t, v) for t, v in points if t >= middle]
    return {
        "start": values[0],
        "end": values[-1],
        "max": max(values),
        "growth": round(values[-1] - values[0], 1),
        "slope_mb_per_min": slope(steady),
        "slope_window_s": [steady[0][0], steady[-1][0]] if steady else None,
        "samples": len(values),
    }


def pct(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 1)


def per_minute(timeline: list[tuple[float, float, bool]]) -> list[dict[str, Any]]:
    """Requests, failures and latency percentiles per minute of the run: drift shows here."""
    minutes: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for start, elapsed, ok in timeline:
        minutes[int(start // 60)].append((elapsed, ok))
    out = []
    for minute, items in sorted(minutes.items()):
        times = sorted(elapsed for elapsed, _ in items)
        out.append(
            {"minute": minute + 1, "requests": len(items), "failed": sum(1 for _, ok in items if not ok),
             "p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "max_ms": round(times[-1] * 1000, 1)}
        )  # fmt: skip
    return out


def log_counts(path: Path) -> dict[str, int]:
    """Task outcomes and warning/error/traceback lines in one log file."""
    counts: Counter[str] = Counter()
    with path.open(errors="replace") as lines:
        for line in lines:
            lowered = line.lower()
            if "] retry:" in lowered:
                counts["task_retries"] += 1
            elif "] succeeded in" in lowered:
                counts["tasks_succeeded"] += 1
            if "traceback" in lowered:
                counts["traceback"] += 1
            if '"level": "error"' in lowered or '"level": "critical"' in lowered or "] error" in lowered:
                counts["error"] += 1
            if '"level": "warning"' in lowered or "] warning" in lowered:
                counts["warning"] += 1
    return dict(counts)


def render(r: dict[str, Any]) -> str:
    lines = [f"\n{r['command']}", f"before: {r['machine']['uptime_before']}",
             f"after:  {r['machine']['uptime_after']}", "", f"events: {r['events']}", "",
             "| kind | sent | non-2xx | 5xx | no answer | p50 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for kind, h in r["http"].items():
        lines.append(
            f"| {kind} | {h['sent']} | {h['non_2xx']} | {h['5xx']} | {h['no_answer']} | {h['p50_ms']} "
            f"| {h['p99_ms']} | {h['max_ms']} |"
        )
    lines += ["", "| process group | start MB | end MB | max MB | growth MB | slope MB/min (window s) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for name, m in r["memory_mb"].items():
        if m:
            lines.append(
                f"| {name} | {m['start']} | {m['end']} | {m['max']} | {m['growth']} "
                f"| {m['slope_mb_per_min']} ({m['slope_window_s']}) |"
            )
    lines += ["", "| minute | requests | failed | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {m['minute']} | {m['requests']} | {m['failed']} | {m['p50_ms']} | {m['p99_ms']} | {m['max_ms']} |"
        for m in r["per_minute"]
    ]
    d = r["deliveries"]
    lines += [
        "",
        f"deliveries: {d['rows']} rows {d['by_channel']}; by status {d['by_status']}",
        f"received: {d['received']}; unmatched received: {d['unmatched_received']}",
        f"created -> sent: {d['created_to_sent']}; attempts > 1: {d['rows_with_more_than_one_attempt']}; "
        f"last errors: {d['last_errors']}",
        f"drain: {r['drain']}; outbox backlog max {r['outbox_backlog_max']}; redis at end {r['redis_end']}",
        f"tables: {d['tables']}; prometheus dir {r['prometheus_dir']}",
        f"log problems: {r['log_counts']}",
        f"LOST {d['lost']}  DUPLICATED {d['duplicated']} "
        f"(in flight at the kill: {d['duplicated_in_flight_at_kill']})  5xx {r['verdict']['http_5xx']}  "
        f"no answer {r['verdict']['no_answer']}  -> {'OK' if r['verdict']['ok'] else 'FAILED'}",
    ]
    if d["lost_examples"] or d["duplicated_examples"]:
        lines.append(f"examples: lost {d['lost_examples']} duplicated {d['duplicated_examples']}")
    return "\n".join(lines)
