"""API clients for tests."""

from rest_framework.test import APIClient


def logged_in(user) -> APIClient:
    """An API client authenticated as `user` (no session, no CSRF: as a token would be)."""
    client = APIClient()
    client.force_authenticate(user)
    return client
