"""The fact change log and the triggers that fill it (docs/adr/0018-policy-fact-columns.md)."""

from django.db import migrations, models


def install_triggers(apps, schema_editor):
    from yiwang.policies import factlog

    factlog.install(schema_editor.connection, apps)


def uninstall_triggers(apps, schema_editor):
    from yiwang.policies import factlog

    factlog.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_initial"),
        ("registry", "0002_drop_duplicate_person_grid_index"),
        ("grid", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="FactChange",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("organisation_id", models.BigIntegerField(null=True)),
                ("txid", models.BigIntegerField(db_index=True, null=True)),
                ("tok", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "verbose_name": "enterprise fact change",
                "verbose_name_plural": "enterprise fact changes",
            },
        ),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
