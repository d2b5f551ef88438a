from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("telephony", "0003_drop_call_sid_pattern_index")]

    operations = [
        migrations.AddField(
            model_name="calllog",
            name="dial_results",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="DialCallStatus reported by each ringing attempt, by attempt number (0 first).",
            ),
        ),
    ]
