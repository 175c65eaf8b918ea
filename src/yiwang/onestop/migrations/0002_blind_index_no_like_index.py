"""Blind-index columns lose the LIKE index Django gave them on PostgreSQL (ADR 0021)."""

from django.db import migrations

from yiwang.core.personal import DropBlindIndexLikeIndexes


class Migration(migrations.Migration):
    dependencies = [
        ("onestop", "0001_initial"),
    ]

    operations = [
        DropBlindIndexLikeIndexes("onestop"),
    ]
