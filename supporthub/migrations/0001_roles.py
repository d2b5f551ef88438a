from django.db import migrations

from supporthub.roles import sync_roles


def create_roles(apps, schema_editor):
    sync_roles(apps)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Agent", "Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("rest_framework_api_key", "0005_auto_20220110_1102"),
        ("tickets", "0003_agent_console"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
