"""The site's own address, and e-mails built from it.

E-mails are read away from the site, so every link in them is absolute. They are built from
SITE_URL (one setting, not whatever Host a request carried), by default the first allowed host,
and sent as plain text with an HTML part in the site's look beside it.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def site_url() -> str:
    """`scheme://host[:port]` of the site, without a trailing slash."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    host = next(
        (host.lstrip(".") for host in settings.ALLOWED_HOSTS if host not in ("*", ".")),
        "localhost",
    )
    scheme = "https" if getattr(settings, "SECURE_SSL_REDIRECT", False) else "http"
    return f"{scheme}://{host}"


def absolute_url(path: str) -> str:
    """The site's address of a path (`/courses/...`)."""
    return site_url() + path


def email_send(*, template: str, context: dict, to: list[str]) -> None:
    """Send `<template>_subject.txt`, `<template>.txt` and its HTML twin `<template>.html`.

    The templates get `site_url` beside `context`.
    """
    context = {**context, "site_url": site_url()}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"{template}.txt", context), to=to
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
