"""The escalation policy page shows when each step fires and whom it reaches, on a 1,440-px screen."""

import datetime

import pytest

from escalation.models import (
    EscalationPolicy,
    EscalationStep,
    LayerParticipant,
    RotationLayer,
    Schedule,
    ShiftUnit,
    StepKind,
)
from tests.e2e.conftest import login
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def policy(transactional_db, settings):
    settings.SUPPORT_TEAM_EMAIL = "team@example.com"
    staffed = Schedule.objects.create(name="Primary desk", time_zone="Europe/Berlin")
    layer = RotationLayer.objects.create(
        schedule=staffed,
        shift_length=1,
        shift_unit=ShiftUnit.WEEKS,
        handoff_time=datetime.time(9, 0),
        start_date=datetime.date(2020, 1, 6),
    )
    LayerParticipant.objects.create(layer=layer, user=UserFactory(username="nina"), position=0)
    empty = Schedule.objects.create(name="Backup desk", time_zone="America/New_York")  # nobody: a gap
    policy = EscalationPolicy.objects.create(name="Sev 1", repeat_count=1)
    steps = [
        (StepKind.SCHEDULE, {"schedule": staffed}, 10),
        (StepKind.SCHEDULE, {"schedule": empty}, 30),  # reaches nobody: the next step runs at once
        (StepKind.USER, {"user": UserFactory(username="omar")}, 5),
        (StepKind.TEAM_EMAIL, {}, 15),
    ]
    for position, (kind, target, wait) in enumerate(steps):
        EscalationStep.objects.create(
            policy=policy, position=position, kind=kind, wait_minutes=wait, **target
        )
    return policy


def test_the_policy_page_shows_when_each_step_fires_and_fits_1440_px(
    browser, live_server, console_admin, policy
):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    login(page, live_server, console_admin)
    page.goto(f"{live_server.url}/admin/escalation/escalationpolicy/{policy.pk}/change/")
    rows = page.locator("#policy-timing tr:not(:first-child)")
    cells = [row.locator("td").all_inner_texts() for row in rows.all()]
    fires = [(c[0], c[2], c[3], c[5]) for c in cells]
    assert fires == [
        ("+0 min", "1", "1", "nina (on call on Primary desk)"),
        ("+10 min", "1", "2", "nobody on call on Backup desk (gap)"),
        ("+10 min", "1", "3", "omar"),
        ("+15 min", "1", "4", "team@example.com"),
        ("+30 min", "2", "1", "nina (on call on Primary desk)"),
        ("+40 min", "2", "2", "nobody on call on Backup desk (gap)"),
        ("+40 min", "2", "3", "omar"),
        ("+45 min", "2", "4", "team@example.com"),
    ]
    assert rows.nth(1).get_attribute("class") == "not-reached"
    assert "+60 min" in page.inner_text("#policy-exhausted")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
