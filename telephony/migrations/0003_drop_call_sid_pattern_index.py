from django.db import migrations

from supporthub.migration_operations import DropPatternIndex


class Migration(migrations.Migration):
    """Every call writes a CallLog row; a CallSid is only ever matched exactly."""

    dependencies = [("telephony", "0002_caller_name_and_ticket_pending")]

    operations = [DropPatternIndex(model_name="calllog", name="call_sid")]
