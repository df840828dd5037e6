"""Schemathesis over every operation of the OpenAPI schema, against a live server.

Generated requests (valid and invalid: wrong types, out-of-range numbers, odd strings, missing
fields) go to a real Uvicorn process with PostgreSQL and Redis, anonymously and with a student's
and an instructor's token. Any 5xx, any answer off the schema, invalid input answered with a
2xx and any error that is not JSON fails. Limits are raised as for the benchmark so that
throttles and the log-in lock-out do not answer most requests. `make test` runs
FUZZ_EXAMPLES=25 examples per operation and role with a fixed seed; `make fuzz` runs 500.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from rest_framework.authtoken.models import Token

from courses import services
from courses.models import File, Image, Text, Video
from tests.courses.uploads import png_upload, upload
from tests.factories import CourseFactory, EnrollmentFactory, InstructorFactory, SubjectFactory

REPOSITORY = Path(__file__).resolve().parents[2]
CHECKS_MODULE = "tests.security.api_fuzz_checks"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SEED = 20261204
# A run per role (and one for revoking each token, which has to come last).
RUN_TIMEOUT = 120 + EXAMPLES * 6
RUNS = 5  # anonymous, student, instructor, and the two revocations
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        # Invalid input (by the schema) must be refused with a 4xx, not quietly accepted.
        "negative_data_rejection",
        "errors_are_json",  # CHECKS_MODULE
    ]
)
TOKEN_REVOKE = "token_destroy"  # DELETE /api/token/
RAISED_LIMITS = {
    # bench/run.py's raised rates, and the token endpoint's and the lock-out's too.
    "API_THROTTLE_ANON": "100000000/m",
    "API_THROTTLE_USER": "100000000/m",
    "API_THROTTLE_TOKEN": "100000000/m",
    "AXES_FAILURE_LIMIT": "100000000",
}


@pytest.fixture
def fuzz_world(tmp_path, settings):
    """What the generated requests can find: an instructor's published course with every kind
    of content, an enrolled student, and a token for each."""
    settings.MEDIA_ROOT = tmp_path / "media"
    instructor = InstructorFactory()
    course = CourseFactory(owner=instructor, subject=SubjectFactory(slug="music"))
    module = services.module_create(course=course, title="One", description="")
    items = [
        Text(title="Intro", content="*hi*"),
        Video(title="Talk", url="https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        Image(title="Chart", file=png_upload()),
        File(title="Notes", file=upload("notes.txt", b"notes")),
    ]
    for item in items:
        services.content_create(module=module, item=item)
    student = EnrollmentFactory(course=course).student
    return {
        "student": Token.objects.create(user=student).key,
        "instructor": Token.objects.create(user=instructor).key,
    }


@pytest.fixture
def fuzz_server(live_asgi_server, redis_server, fuzz_world, settings):
    redis.Redis.from_url(redis_server.url).flushdb()
    # Uvicorn: Daphne (Twisted) answers a malformed multipart body itself, with a bare 400,
    # before Django sees it; production serves HTTP with uWSGI, which leaves it to Django.
    return live_asgi_server(
        "uvicorn",
        REDIS_URL=redis_server.url,
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
        **RAISED_LIMITS,
    )


def schemathesis_run(server, folder: Path, *options: str) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("st")), "run",
        f"{server.url}/api/schema/?format=json",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--request-timeout", "10", "--suppress-health-check", "all",
        *options,
    ]  # fmt: skip
    # Run in a folder of the test's: schemathesis and hypothesis keep their databases in the cwd.
    return subprocess.run(
        command,
        cwd=folder,
        env={**os.environ, "SCHEMATHESIS_HOOKS": CHECKS_MODULE, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.mark.timeout(RUNS * RUN_TIMEOUT)
def test_generated_requests_of_every_role_get_no_5xx_no_answer_off_the_schema_and_json_errors(
    fuzz_server, fuzz_world, tmp_path
):
    headers = {
        role: ["--header", f"Authorization: Token {key}"] for role, key in fuzz_world.items()
    }
    runs = [("anonymous", [])]
    runs += [
        (role, [*header, "--exclude-operation-id", TOKEN_REVOKE])
        for role, header in headers.items()
    ]
    # Revoking its token would leave the rest of a role's run unauthenticated: it comes last.
    runs += [
        (f"{role}, revoking", [*header, "--include-operation-id", TOKEN_REVOKE])
        for role, header in headers.items()
    ]

    failures = []
    for name, options in runs:
        result = schemathesis_run(fuzz_server, tmp_path, *options)
        if result.returncode != 0:
            failures.append(f"--- {name}\n{result.stdout[-8000:]}{result.stderr[-2000:]}")

    assert failures == [], "\n".join(failures) + fuzz_server.log()[-3000:]
