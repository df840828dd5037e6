"""Which address a request is counted under (log-in lock-out, e-mail throttles)."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from educa.client_ip import client_ip_address


def request_from(remote_addr="127.0.0.1", forwarded_for=None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().post("/accounts/login/", **headers)


def test_without_a_trusted_proxy_the_socket_address_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip_address(request_from("198.51.100.7")) == "198.51.100.7"


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    request = request_from("198.51.100.7", forwarded_for="203.0.113.9")

    assert client_ip_address(request) == "198.51.100.7"


def test_behind_a_proxy_the_address_it_forwards_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    request = request_from("127.0.0.1", forwarded_for="203.0.113.9")

    assert client_ip_address(request) == "203.0.113.9"


def test_behind_a_proxy_addresses_a_client_added_on_the_left_are_ignored(settings):
    # A proxy with $proxy_add_x_forwarded_for keeps what the client sent and appends its peer.
    settings.TRUSTED_PROXY_COUNT = 1

    request = request_from("127.0.0.1", forwarded_for="198.51.100.1, 203.0.113.9")

    assert client_ip_address(request) == "203.0.113.9"


def test_behind_two_proxies_the_address_the_outer_one_saw_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    request = request_from("10.0.0.2", forwarded_for="198.51.100.1, 203.0.113.9, 10.0.0.1")

    assert client_ip_address(request) == "203.0.113.9"


def test_a_request_that_skipped_the_proxy_counts_under_its_socket(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip_address(request_from("127.0.0.1")) == "127.0.0.1"


def test_ipv6_addresses_are_kept(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    request = request_from("::1", forwarded_for="2001:db8::7")

    assert client_ip_address(request) == "2001:db8::7"


@pytest.mark.parametrize("forwarded", ["not-an-address", "203.0.113.9:443", "<script>"])
def test_a_malformed_forwarded_address_is_no_address(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip_address(request_from("127.0.0.1", forwarded_for=forwarded)) is None


def test_by_default_no_forwarded_header_is_trusted():
    assert django_settings.TRUSTED_PROXY_COUNT == 0


def test_nginx_hands_uwsgi_the_clients_address_as_remote_addr():
    # Why no header needs trusting in production: Django's REMOTE_ADDR is Nginx's $remote_addr.
    params = Path(django_settings.BASE_DIR, "nginx", "uwsgi_params").read_text().split("\n")
    template = Path(django_settings.BASE_DIR, "nginx", "educa.conf.template").read_text()

    assert "uwsgi_param  REMOTE_ADDR        $remote_addr;" in params
    assert "include ${NGINX_CONF_DIR}/uwsgi_params;" in template
