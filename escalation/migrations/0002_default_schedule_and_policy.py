"""A fresh install pages out of the box: a "Support" schedule and a default policy.

The policy pages whoever is on call on "Support", then emails the team and posts to Slack
(SUPPORT_TEAM_EMAIL / SLACK_CHANNEL when the step leaves them empty), and runs once more if
nobody acknowledges. Urgent tickets, SLA breaches (for SLA policies that ask for it) and missed
calls open incidents on it. With nobody on the schedule yet the team channels are told at once.
"""

from django.db import migrations


def seed(apps, schema_editor):
    Schedule = apps.get_model("escalation", "Schedule")
    EscalationPolicy = apps.get_model("escalation", "EscalationPolicy")
    EscalationStep = apps.get_model("escalation", "EscalationStep")
    schedule, _ = Schedule.objects.get_or_create(
        name="Support",
        defaults={"time_zone": "UTC", "description": "Default on-call schedule for the support team."},
    )
    policy, created = EscalationPolicy.objects.get_or_create(
        name="Default",
        defaults={
            "description": "Page the Support on-call person, then the team email and Slack.",
            "repeat_count": 1,
            "ack_timeout_minutes": 60,
            "on_urgent_ticket": True,
            "on_sla_breach": True,
            "on_missed_call": True,
        },
    )
    if created:
        EscalationStep.objects.create(
            policy=policy, position=1, kind="schedule", schedule=schedule, wait_minutes=5
        )
        EscalationStep.objects.create(policy=policy, position=2, kind="team_email", wait_minutes=0)
        EscalationStep.objects.create(policy=policy, position=3, kind="slack", wait_minutes=15)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
