"""The reports page in a real browser: charts drawn, nothing refused by the CSP."""

import pytest

from tests.e2e.conftest import ARTIFACTS, login
from tests.supporthub.test_reports import CHOSEN, seeded  # noqa: F401 - the known data set

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.mark.usefixtures("seeded")
def test_the_lead_reads_the_reports_under_the_content_security_policy(page, live_server, console_admin):
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    login(page, live_server, console_admin)
    page.click("#reports-link a")
    page.fill("#id_first", CHOSEN["first"])
    page.fill("#id_last", CHOSEN["last"])
    page.select_option("#id_zone", CHOSEN["zone"])
    page.click(".report-period input[type=submit]")
    assert page.locator("svg.chart").count() == 5
    assert page.locator("svg.chart rect[fill]").first.bounding_box()["height"] > 0
    assert "322 h 12 min" in page.inner_text("#report-response_times")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
    assert [m for m in refused if "Content Security Policy" in m or "Refused to" in m] == []
