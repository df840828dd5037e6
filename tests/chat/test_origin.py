"""The Origin check of cookie sockets: scheme, host and port, against what CSRF trusts."""

import pytest

from tests.chat.conftest import open_socket, room_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]

PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


async def handshake_accepted(course, user, *, origin, host, forwarded_proto=None) -> bool:
    """Whether a cookie socket of `user` with these headers gets past the handshake."""
    headers = [(b"host", host.encode())]
    if forwarded_proto is not None:
        headers.append((b"x-forwarded-proto", forwarded_proto.encode()))
    communicator, connected, _ = await open_socket(
        room_path(course.pk), user=user, origin=origin, headers=headers
    )
    await communicator.disconnect()
    return connected


async def test_an_origin_on_another_port_of_the_same_host_is_refused(room):
    course, owner, _ = room
    assert not await handshake_accepted(
        course, owner, origin="http://127.0.0.1:9999", host="127.0.0.1:8443"
    )


async def test_an_origin_without_the_hosts_port_is_refused(room):
    course, owner, _ = room
    assert not await handshake_accepted(
        course, owner, origin="http://127.0.0.1", host="127.0.0.1:8443"
    )


async def test_an_https_origin_on_a_plain_connection_is_refused(room):
    course, owner, _ = room
    assert not await handshake_accepted(
        course, owner, origin="https://127.0.0.1:8443", host="127.0.0.1:8443"
    )


async def test_an_http_origin_behind_a_proxy_that_says_https_is_refused(room, settings):
    settings.SECURE_PROXY_SSL_HEADER = PROXY_SSL_HEADER
    course, owner, _ = room
    assert not await handshake_accepted(
        course,
        owner,
        origin="http://127.0.0.1:8443",
        host="127.0.0.1:8443",
        forwarded_proto="https",
    )


async def test_the_proxys_scheme_header_counts_only_where_settings_name_it(room):
    course, owner, _ = room
    # Without SECURE_PROXY_SSL_HEADER the header is any client's word, not the scheme.
    assert not await handshake_accepted(
        course,
        owner,
        origin="https://127.0.0.1:8443",
        host="127.0.0.1:8443",
        forwarded_proto="https",
    )


async def test_a_handshake_behind_a_proxy_that_says_https_is_accepted_from_its_https_origin(
    room, settings
):
    settings.SECURE_PROXY_SSL_HEADER = PROXY_SSL_HEADER
    course, owner, _ = room
    assert await handshake_accepted(
        course,
        owner,
        origin="https://127.0.0.1:8443",
        host="127.0.0.1:8443",
        forwarded_proto="https",
    )


async def test_a_host_outside_allowed_hosts_is_no_origin_of_its_own(room):
    course, owner, _ = room
    assert not await handshake_accepted(
        course, owner, origin="http://evil.example", host="evil.example"
    )


async def test_an_origin_in_csrf_trusted_origins_is_accepted_from_another_host(room, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    course, owner, _ = room
    assert await handshake_accepted(
        course, owner, origin="https://app.example.com", host="127.0.0.1:8443"
    )


async def test_a_wildcard_trusted_origin_admits_its_subdomains_with_its_scheme(room, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    course, owner, _ = room
    assert await handshake_accepted(
        course, owner, origin="https://chat.example.com", host="127.0.0.1:8443"
    )


async def test_a_wildcard_trusted_origin_refuses_its_subdomains_with_another_scheme(room, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    settings.ALLOWED_HOSTS = [".example.com"]
    course, owner, _ = room
    assert not await handshake_accepted(
        course, owner, origin="http://chat.example.com", host="educa.example.com"
    )
