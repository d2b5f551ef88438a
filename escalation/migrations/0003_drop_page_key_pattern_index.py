from django.db import migrations

from supporthub.migration_operations import DropPatternIndex


class Migration(migrations.Migration):
    """Every page writes an IncidentPage row; its idempotency key is only matched exactly."""

    dependencies = [("escalation", "0002_default_schedule_and_policy")]

    operations = [DropPatternIndex(model_name="incidentpage", name="idempotency_key")]
