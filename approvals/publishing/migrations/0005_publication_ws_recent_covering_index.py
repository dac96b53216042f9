"""A covering index for the API's publication list on PostgreSQL: (workspace, -id) carrying created_at,
variant and target_format, so a filtered page's ids (since, format, campaign and locale through the
variant) come from an index-only scan of the workspace's own rows. Without it PostgreSQL walks the primary
key backwards, reading every newer row of other workspaces from the heap (tests/bench/bench_api.py:
3.8 ms instead of 1.2 ms for campaign + locale + since at 100k publications).

Raw SQL because SQLite (the unit tests, local development) has no INCLUDE: declared in Meta.indexes,
Django would warn (models.W040) on every command there. The plain (workspace, -id) index in Meta stays
for every database."""

from django.db import migrations

INDEX = "publication_ws_recent_cover"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON approvals_publication "
            "(workspace_id, id DESC) INCLUDE (created_at, variant_id, target_format_id)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("publishing", "0004_publication_workspace_recent_index")]

    operations = [migrations.RunPython(create, drop)]
