"""Schemathesis checks of Educa's own (SCHEMATHESIS_HOOKS=tests.security.api_fuzz_checks)."""

import json

import schemathesis


@schemathesis.check
def errors_are_json(ctx, response, case):
    """Every error answer of the API is JSON with a `message` and a `code`, whatever its status
    (the schema's checks pass an undocumented content type on statuses it does not list)."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    if not content_type.startswith("application/json"):
        raise AssertionError(f"A {response.status_code} answered {content_type!r}, not JSON")
    body = json.loads(response.content)
    if not isinstance(body, dict) or not {"message", "code"} <= set(body):
        raise AssertionError(f"A {response.status_code} without message and code: {body!r}")
    return None
