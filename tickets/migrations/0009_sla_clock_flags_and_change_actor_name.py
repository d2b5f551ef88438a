"""One breach flag per SLA clock; a history row names a non-user actor (an API key, a customer)."""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce, Now


def split_breach_flags(apps, schema_editor):
    """Tickets breached before the split: each clock whose due time passed unmet is breached;
    a breached ticket whose clocks tell nothing keeps the flag on its resolution clock."""
    Ticket = apps.get_model("tickets", "Ticket")
    breached = Ticket.objects.filter(sla_breached=True)
    breached.filter(
        first_response_due__isnull=False,
        first_response_due__lt=Coalesce(F("first_responded_at"), Now()),
    ).update(first_response_breached=True)
    breached.filter(
        resolution_due__isnull=False, resolution_due__lt=Coalesce(F("resolved_at"), Now())
    ).update(resolution_breached=True)
    breached.filter(first_response_breached=False, resolution_breached=False).update(resolution_breached=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_triage_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="first_response_breached",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="ticket",
            name="resolution_breached",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="ticketchange",
            name="actor_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(split_breach_flags, migrations.RunPython.noop),
    ]
