"""Each runbook exists and names metrics that really exist."""

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.services import ROOT

RUNBOOKS = ROOT / "docs" / "runbooks"
REQUIRED = [
    "deliveries-failing.md",
    "broker-down.md",
    "twilio-webhooks-rejected.md",
    "oncall-schedule-gap.md",
    "database-full.md",
]
METRIC = re.compile(r"\b((?:supporthub|django)_[a-z_]+[a-z])\b")


def _known_metric_names(client) -> set[str]:
    client.get("/health/live")
    client.get("/nope")
    text = client.get("/metrics").content.decode()
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    # Gauges of apps not merged yet are skipped at scrape time; their names are in the module.
    names |= set(re.findall(r'"(supporthub_[a-z_]+)"', (ROOT / "supporthub" / "metrics.py").read_text()))
    names |= {name + "_total" for name in names}
    return names


@pytest.mark.parametrize("name", REQUIRED)
def test_each_runbook_names_a_metric_or_an_admin_page(name):
    text = (RUNBOOKS / name).read_text()
    assert "## How you notice" in text
    assert METRIC.search(text) or "/admin/" in text


@pytest.mark.django_db
def test_every_metric_named_in_the_runbooks_exists(client):
    known = _known_metric_names(client)
    named = {
        match.group(1)
        for path in sorted(Path(RUNBOOKS).glob("*.md"))
        for match in METRIC.finditer(path.read_text())
    }
    base = {re.sub(r"_(bucket|count|sum)$", "", name) for name in named} - {"django_session"}  # a table
    missing = sorted(name for name in base if name not in known and name + "_total" not in known)
    assert missing == []
