"""The OpenAPI schema: complete and served with its docs page from this site (that the API keeps
to it, tests/security/test_api_fuzz.py checks)."""

import re

import pytest
from rest_framework.test import APIClient

from educa.db import BIGINT_MAX

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
    "/api/courses/{id}/pins/": {"get"},
    "/api/courses/{id}/questions/": {"get"},
    "/api/messages/{id}/edits/": {"get"},
    "/api/courses/{id}/attachments/": {"post"},
    "/api/courses/{id}/modules/": {"post"},
    "/api/courses/{id}/modules/order/": {"post"},
    "/api/modules/{id}/": {"get", "put", "patch", "delete"},
    "/api/modules/{id}/contents/": {"post"},
    "/api/modules/{id}/contents/order/": {"post"},
    "/api/contents/{id}/": {"get", "put", "patch", "delete"},
    "/api/contents/{id}/done/": {"post", "delete"},
    "/api/contents/{id}/attempts/": {"get", "post"},
    "/api/attempts/{id}/": {"get"},
    "/api/attempts/{id}/submit/": {"post"},
    "/api/me/courses/": {"get"},
    "/api/me/certificates/": {"get"},
    "/api/me/notifications/": {"get"},
    "/api/me/notifications/read/": {"post"},
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


def test_path_ids_are_documented_as_integers_in_the_databases_range(schema):
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"] == {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": BIGINT_MAX,
                }, (method, path)


def test_page_size_is_documented_with_its_bounds(schema):
    parameters = schema["paths"]["/api/courses/"]["get"]["parameters"]

    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 100)


def test_a_429_documents_its_retry_after_header(schema):
    operation = schema["paths"]["/api/token/"]["post"]

    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_contents_are_documented_as_one_shape_per_kind(schema):
    content = schema["components"]["schemas"]["Content"]

    assert set(content["discriminator"]["mapping"]) == {"text", "video", "image", "file", "quiz"}


def test_attempts_are_documented_with_their_conflicts(schema):
    start = schema["paths"]["/api/contents/{id}/attempts/"]["post"]
    submit = schema["paths"]["/api/attempts/{id}/submit/"]["post"]

    assert "409" in start["responses"] and "409" in submit["responses"]
    body = submit["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/AnswersRequest")


def test_uploads_are_documented_as_multipart(schema):
    body = schema["paths"]["/api/modules/{id}/contents/"]["post"]["requestBody"]["content"]

    assert "multipart/form-data" in body


def test_chat_attachments_are_documented_as_multipart_uploads(schema):
    operation = schema["paths"]["/api/courses/{id}/attachments/"]["post"]

    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert "201" in operation["responses"]


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
