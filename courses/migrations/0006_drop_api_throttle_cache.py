"""The API throttles count in Redis or in each process (educa/ratelimit.py): their table goes."""

from importlib import import_module

from django.db import migrations

made_in = import_module("courses.migrations.0005_api_throttle_cache")


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0005_api_throttle_cache"),
    ]

    operations = [
        migrations.RunPython(made_in.drop_table, made_in.create_table),
    ]
