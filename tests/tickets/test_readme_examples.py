"""The README's first API examples work together: its list query finds its example request."""

import json
import re

import pytest

from tests.services import ROOT

pytestmark = pytest.mark.django_db

README = (ROOT / "README.md").read_text()


def test_the_readme_list_query_finds_the_readme_example_request(api):
    intake = re.search(r"/v1/support/request \\\n.*?-d '(\{.*?\})'", README, re.DOTALL)
    query = re.search(r'"http://127\.0\.0\.1:8000(/v1/tickets\?[^"]+)"', README)
    assert intake and query, "the README's intake and list examples moved"
    created = api.post("/v1/support/request", json.loads(intake.group(1)), format="json")
    assert created.status_code == 201, created.content

    found = api.get(query.group(1)).json()

    assert [ticket["id"] for ticket in found["results"]] == [created.json()["ticket"]["id"]]
