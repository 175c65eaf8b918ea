"""The audit table is append-only: triggers reject UPDATE and DELETE (PostgreSQL and SQLite)."""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION yiwang_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'core_auditrecord is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS core_auditrecord_append_only ON core_auditrecord;
CREATE TRIGGER core_auditrecord_append_only
  BEFORE UPDATE OR DELETE ON core_auditrecord
  FOR EACH ROW EXECUTE FUNCTION yiwang_audit_append_only();
DROP TRIGGER IF EXISTS core_auditrecord_no_truncate ON core_auditrecord;
CREATE TRIGGER core_auditrecord_no_truncate
  BEFORE TRUNCATE ON core_auditrecord
  FOR EACH STATEMENT EXECUTE FUNCTION yiwang_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS core_auditrecord_append_only ON core_auditrecord;
DROP TRIGGER IF EXISTS core_auditrecord_no_truncate ON core_auditrecord;
DROP FUNCTION IF EXISTS yiwang_audit_append_only();
"""
SQLITE_FORWARD = [
    "CREATE TRIGGER IF NOT EXISTS core_auditrecord_no_update BEFORE UPDATE ON core_auditrecord "
    "BEGIN SELECT RAISE(ABORT, 'core_auditrecord is append-only: UPDATE is not allowed'); END;",
    "CREATE TRIGGER IF NOT EXISTS core_auditrecord_no_delete BEFORE DELETE ON core_auditrecord "
    "BEGIN SELECT RAISE(ABORT, 'core_auditrecord is append-only: DELETE is not allowed'); END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_auditrecord_no_update;",
    "DROP TRIGGER IF EXISTS core_auditrecord_no_delete;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
