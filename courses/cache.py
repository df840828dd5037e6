"""Cached course content: keys built from ids and versions kept in the database.

Course.version is bumped in the transaction of every change to a course, its modules, its
contents, their order or its publication state (services.py); Catalogue.version likewise for
everything the public lists show (receivers.py). A key names the version it was built from, so
a change is visible on the next request and no entry ever needs deleting; a version kept in
the database survives a Memcached restart, so stale entries cannot come back.

Nothing here is user-specific: callers check permissions first and add per-user parts
(progress, buttons, CSRF tokens) outside the cached values.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import F
from django.http import HttpResponse
from django.utils.safestring import SafeString, mark_safe

from . import selectors
from .models import Catalogue, Course, Module

CATALOGUE_PK = 1
PAGE_CACHE_HEADER = "X-Cache"

# --- versions ---------------------------------------------------------------------------------


def catalogue_version() -> int:
    """The version of the public lists (one query)."""
    version = Catalogue.objects.filter(pk=CATALOGUE_PK).values_list("version", flat=True).first()
    return version or 0


def catalogue_version_bump() -> None:
    """Invalidate the cached public lists; call inside the transaction of the change."""
    if not Catalogue.objects.filter(pk=CATALOGUE_PK).update(version=F("version") + 1):
        # The row comes from a migration; a flushed test database has lost it.
        Catalogue.objects.get_or_create(pk=CATALOGUE_PK, defaults={"version": 2})


@dataclass(frozen=True)
class CourseStamp:
    """What a cache lookup needs to know about a course before deciding anything."""

    id: int
    slug: str
    version: int
    status: str
    owner_id: int

    @property
    def is_published(self) -> bool:
        return self.status == Course.Status.PUBLISHED


def course_stamp(*, course_id: int | None = None, slug: str | None = None) -> CourseStamp | None:
    """The course's id, slug, version, status and owner (one query), or None if unknown."""
    courses = Course.objects.all()
    courses = courses.filter(pk=course_id) if course_id is not None else courses.filter(slug=slug)
    row = courses.values_list("pk", "slug", "version", "status", "owner_id").first()
    return CourseStamp(*row) if row is not None else None


# --- keys and reads ---------------------------------------------------------------------------


def text_digest(text: str) -> str:
    """Free text (a search, a host) as a short key part: keys never hold user strings."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def cache_key(*parts) -> str:
    """`educa:<part>:<part>...`; parts are ids, versions, fixed words and digests."""
    return ":".join(["educa", *(str(part) for part in parts)])


def read_through(key: str, build, timeout: int | None = None):
    """The cached value under `key`, or `build()` stored there (never None).

    `timeout` (seconds, default CACHE_TIMEOUT) bounds how stale a value may get when it also
    shows things no version follows (enrollment counts).
    """
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, settings.CACHE_TIMEOUT if timeout is None else timeout)
    return value


def catalogue_key(*parts) -> str:
    return cache_key("catalogue", catalogue_version(), *parts)


def course_key(stamp: CourseStamp | Course, *parts) -> str:
    course_id = stamp.id if isinstance(stamp, CourseStamp) else stamp.pk
    return cache_key("course", course_id, stamp.version, *parts)


# --- rendered contents ------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedContent:
    """One content of a module as the study view shows it."""

    id: int
    kind: str
    title: str
    html: str

    @property
    def safe_html(self) -> SafeString:
        # Rendered by our own content templates (text is sanitized Markdown).
        return mark_safe(self.html)  # noqa: S308


def module_contents_rendered(*, module: Module, version: int) -> list[RenderedContent]:
    """The module's contents in order, rendered; cached under the course's `version`.

    Precondition: the caller may see the module (course_get_for_member).
    """

    def build():
        contents = selectors.content_list_for_module(module=module)
        return [
            RenderedContent(
                id=content.pk,
                kind=content.kind,
                title=content.item.title if content.item is not None else "",
                html=str(content.render()),
            )
            for content in contents
        ]

    key = cache_key("course", module.course_id, version, "module", module.pk, "contents")
    return read_through(key, build)


# --- whole pages for anonymous visitors -------------------------------------------------------


def _page_cacheable(request) -> bool:
    """Only anonymous GETs with no messages waiting: their page is the same for everyone."""
    return (
        request.method == "GET"
        and not request.user.is_authenticated
        and len(messages.get_messages(request)) == 0
    )


class AnonymousPageCacheMixin:
    """Anonymous visitors get this view's page from one cache entry named by page_cache_key().

    A response is stored only when it is a 200 that set no cookie and did not use the CSRF
    token: such a page holds nothing of the visitor who caused it. Logged-in users never read
    or write these entries. Responses say `X-Cache: hit` or `miss`.
    """

    def page_cache_key(self) -> str | None:
        """The entry for this request (computed from versions), or None not to cache it."""
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if not _page_cacheable(request):
            return super().dispatch(request, *args, **kwargs)
        key = self.page_cache_key()
        if key is None:
            return super().dispatch(request, *args, **kwargs)
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            response = HttpResponse(content, content_type=content_type)
            response[PAGE_CACHE_HEADER] = "hit"
            return response
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 200:

            def store(rendered):
                if not rendered.cookies and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
                    value = (rendered.content, rendered["Content-Type"])
                    cache.set(key, value, settings.CACHE_TIMEOUT)

            if hasattr(response, "add_post_render_callback"):
                response.add_post_render_callback(store)
            else:
                store(response)
            response[PAGE_CACHE_HEADER] = "miss"
        return response
