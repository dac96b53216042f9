"""On PostgreSQL, refuse UPDATE and DELETE on the audit table at the database level.

SQLite has no equivalent worth trusting; there the hash chain still detects any change. TRUNCATE is
left to the database owner (test runners flush tables with it); the chain detects a truncated log
because the chain head remembers the last sequence number.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION approvals_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on approvals_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS approvals_auditevent_append_only ON approvals_auditevent;
CREATE TRIGGER approvals_auditevent_append_only
    BEFORE UPDATE OR DELETE ON approvals_auditevent
    FOR EACH ROW EXECUTE FUNCTION approvals_auditevent_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS approvals_auditevent_append_only ON approvals_auditevent;
DROP FUNCTION IF EXISTS approvals_auditevent_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
