"""The client's address, for the log-in lock-out (django-axes) and the e-mail throttles.

Behind Educa's Nginx, REMOTE_ADDR already is the client's address (Nginx passes it to uWSGI;
Daphne takes it from Nginx's header with --proxy-headers). Behind an HTTP proxy that Django
sees as the peer, the client's address is in X-Forwarded-For: that header is trusted only as far
as settings.TRUSTED_PROXY_COUNT says, so a client cannot pick the address it is counted under.
"""

import ipaddress

from django.conf import settings


def client_ip_address(request) -> str | None:
    """The address the request came from, or None when no valid one is known.

    With TRUSTED_PROXY_COUNT = 0 it is the socket's address (REMOTE_ADDR) and X-Forwarded-For is
    ignored. With N > 0 it is the N-th address from the right of X-Forwarded-For: each trusted
    proxy adds the address it saw at the right, and anything further left may be forged.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    address = request.META.get("REMOTE_ADDR")
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        # A request that skipped the proxies (a health check) has no header: its socket counts.
        if len(hops) >= proxies:
            address = hops[-proxies]
    return _valid_address(address)


def _valid_address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
