"""`make run` works on SQLite: every migration applies there, the demo data loads, and the demo
student holding a certificate can open their courses (SQLite reads raw datetimes and uuids as
text)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_migration_and_the_demo_data_apply_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "educa.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
    }
    pages = (
        "from django.test import Client; from django.contrib.auth.models import User; "
        "from students.models import Certificate; c = Client(); "
        "certificate = Certificate.objects.get(student__username='student2'); "
        "c.force_login(certificate.student); "
        "paths = ['/students/courses/', f'/students/course/{certificate.course_id}/']; "
        "codes = [c.get(path, HTTP_HOST='127.0.0.1').status_code for path in paths]; "
        "assert codes == [200, 200], codes"
    )
    for command in (["migrate", "--no-input"], ["loaddemo"], ["shell", "-c", pages]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
