"""Seed the workflow states and the common categories (idempotent)."""

from django.db import migrations


def forward(apps, schema_editor):
    from yiwang.cases.catalog import seed

    seed(apps)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
