"""The OpenAPI schema: complete, served with its docs page from this site, and true of the API."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from courses import services
from courses.models import Text
from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    SubjectFactory,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/api/token/": {"post", "delete"},
    "/api/subjects/": {"get"},
    "/api/subjects/{id}/": {"get"},
    "/api/courses/": {"get", "post"},
    "/api/courses/{id}/": {"get", "put", "patch", "delete"},
    "/api/courses/{id}/publish/": {"post"},
    "/api/courses/{id}/unpublish/": {"post"},
    "/api/courses/{id}/enroll/": {"post"},
    "/api/courses/{id}/unenroll/": {"post"},
    "/api/courses/{id}/contents/": {"get"},
    "/api/courses/{id}/messages/": {"get"},
    "/api/courses/{id}/modules/": {"post"},
    "/api/courses/{id}/modules/order/": {"post"},
    "/api/modules/{id}/": {"get", "put", "patch", "delete"},
    "/api/modules/{id}/contents/": {"post"},
    "/api/modules/{id}/contents/order/": {"post"},
    "/api/contents/{id}/": {"get", "put", "patch", "delete"},
    "/api/contents/{id}/done/": {"post", "delete"},
    "/api/me/courses/": {"get"},
}


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_schema_is_openapi_3(schema):
    assert schema["openapi"].startswith("3.")


def test_the_schema_has_every_endpoint_and_method(schema):
    documented = {path: set(methods) for path, methods in schema["paths"].items()}

    assert documented == ENDPOINTS


def test_every_operation_documents_401_403_and_429(schema):
    for path, method, operation in operations(schema):
        assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)


def test_every_operation_on_an_id_documents_404(schema):
    for path, method, operation in operations(schema):
        if "{id}" in path:
            assert "404" in operation["responses"], (method, path)


def test_every_operation_with_input_documents_400_with_field_errors(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation or any(
            p["in"] == "query" for p in operation.get("parameters", [])
        ):
            response = operation["responses"]["400"]
            assert response["content"]["application/json"]["schema"]["$ref"].endswith(
                "/ValidationError"
            ), (method, path)


def test_a_429_documents_its_retry_after_header(schema):
    operation = schema["paths"]["/api/token/"]["post"]

    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_contents_are_documented_as_one_shape_per_kind(schema):
    content = schema["components"]["schemas"]["Content"]

    assert set(content["discriminator"]["mapping"]) == {"text", "video", "image", "file"}


def test_uploads_are_documented_as_multipart(schema):
    body = schema["paths"]["/api/modules/{id}/contents/"]["post"]["requestBody"]["content"]

    assert "multipart/form-data" in body


def test_only_token_and_session_authentication_are_documented(schema):
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_the_docs_page_loads_everything_from_this_site(client):
    response = client.get("/api/docs/")

    page = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert response.status_code == 200
    assert sources and all(source.startswith("/") for source in sources), sources
    # A Content-Security-Policy without 'unsafe-inline' allows no inline script.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)


# --- schemathesis against a live server -------------------------------------------------------

SCHEMATHESIS_TIMEOUT = 240


@pytest.fixture
def api_data(settings, tmp_path):
    """Objects for the generated requests to find: an instructor's course with every kind of
    content, a student enrolled in it, and the instructor's token (which schemathesis sends)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    instructor = InstructorFactory()
    course = CourseFactory(owner=instructor, subject=SubjectFactory(slug="music"))
    module = ModuleFactory(course=course)
    services.content_create(module=module, item=Text(title="Intro", content="*hi*"))
    EnrollmentFactory(course=course)
    return Token.objects.create(user=instructor)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(
    live_server, settings, throttle_in_memory, api_data, tmp_path
):
    # The generated traffic comes from one address and one user: the throttles must not
    # answer it all with 429.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/m", "user": "100000/m", "token": "100000/m"},
    }
    report = tmp_path / "report"
    command = [
        str(Path(sys.executable).with_name("st")), "run",
        f"{live_server.url}/api/schema/?format=json",
        "--header", f"Authorization: Token {api_data.key}",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_headers_conformance,response_schema_conformance",
        "--phases", "examples,coverage,fuzzing",
        # Revoking the token would leave the rest of the run unauthenticated.
        "--exclude-operation-id", "token_destroy",
        "--max-examples", "8", "--seed", "4", "--workers", "2",
        "--request-timeout", "10", "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", str(report),
    ]  # fmt: skip

    # Run in the test's folder: schemathesis and hypothesis keep their databases in the cwd.
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SCHEMATHESIS_TIMEOUT,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
