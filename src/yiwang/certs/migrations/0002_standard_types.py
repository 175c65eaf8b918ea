from django.db import migrations


def forwards(apps, schema_editor):
    from yiwang.certs.standard_types import upsert_types

    upsert_types(apps.get_model("certs", "CertificateType"))


class Migration(migrations.Migration):
    dependencies = [("certs", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
