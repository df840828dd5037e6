"""The database table of the API throttle counters when Redis is not configured (settings).

Made here rather than by `createcachetable`, so that `migrate` alone prepares any database.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "educa_throttle_cache"


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    # Skips a table that already exists.
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0004_catalogue"),
    ]

    operations = [
        migrations.RunPython(create_table, drop_table),
    ]
