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
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.db.models import F
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from educa.db import BIGINT_MAX

from . import selectors
from .models import Catalogue, Course, Module, Quiz

CATALOGUE_PK = 1
PAGE_CACHE_HEADER = "X-Cache"

# --- versions ---------------------------------------------------------------------------------


# Every cached page reads a version first, so these lookups are plain SQL: building the same
# query with the ORM costs several times what PostgreSQL takes to answer it.
_CATALOGUE_VERSION_SQL = 'SELECT "version" FROM "courses_catalogue" WHERE "id" = %s'
_COURSE_STAMP_SQL = 'SELECT "id", "slug", "version", "status", "owner_id" FROM "courses_course" '


def _fetch_one(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def catalogue_version() -> int:
    """The version of the public lists (one query)."""
    row = _fetch_one(_CATALOGUE_VERSION_SQL, [CATALOGUE_PK])
    return (row[0] if row is not None else None) or 0


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
    if course_id is not None:
        if not 0 < course_id <= BIGINT_MAX:
            return None
        row = _fetch_one(_COURSE_STAMP_SQL + 'WHERE "id" = %s', [course_id])
    else:
        row = _fetch_one(_COURSE_STAMP_SQL + 'WHERE "slug" = %s', [slug])
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
    # A quiz's own row, kept so that the study view reads no quiz to show a student's attempts.
    quiz: Quiz | None = None

    @property
    def safe_html(self) -> SafeString:
        # Rendered by our own content templates (text is sanitized Markdown).
        return mark_safe(self.html)  # noqa: S308


def module_list_for_course_cached(*, course: Course) -> list[Module]:
    """The course's modules in order, each annotated with content_count and quiz_count; cached
    under the course's version (fresh instances on every call).

    Precondition: the caller may see the course.
    """

    def build():
        return list(selectors.module_list_for_course(course=course))

    return read_through(course_key(course, "modules"), build)


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
                quiz=content.item if content.kind == "quiz" else None,
            )
            for content in contents
        ]

    # Files and videos are rendered with words around them: one entry per language.
    key = cache_key(
        "course", module.course_id, version, "module", module.pk, "contents",
        translation.get_language(),
    )  # fmt: skip
    return read_through(key, build)


# --- whole pages for anonymous visitors -------------------------------------------------------


class AnonymousPageCacheMixin:
    """Marks a view whose whole page anonymous visitors get from one cache entry.

    AnonymousPageCacheMiddleware serves and stores the entries; the view only names them.
    """

    def page_cache_key(self) -> str | None:
        """The entry for this anonymous GET (computed from versions), or None not to cache it.

        Called before sessions and authentication run: `self.request` has no user, and only
        requests of visitors without a session get here.
        """
        raise NotImplementedError


def _has_cookie(request, name: str) -> bool:
    # A deleted cookie comes back empty from some clients until it expires.
    return bool(request.COOKIES.get(name))


def _page_cache_view(request):
    """The AnonymousPageCacheMixin view set up for this request, or None."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, AnonymousPageCacheMixin):
        return None
    view = view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)
    return view


class AnonymousPageCacheMiddleware:
    """Whole pages for anonymous visitors, answered before sessions, CSRF, authentication,
    messages and the view run: such a hit costs the version query and one cache read.

    Only GETs without a session or messages cookie qualify (their page is the same for every
    such visitor in one language: the key names the language). A response is stored, with the
    headers the inner middleware gave it, only when it is a 200 that set no cookie and did not
    use the CSRF token: it then holds nothing of the visitor who caused it. Responses say
    `X-Cache: hit` or `miss`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = self._key(request)
        if key is None:
            return self.get_response(request)
        cached = cache.get(key)
        if cached is not None:
            headers, content = cached
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            response[PAGE_CACHE_HEADER] = "hit"
            return response
        response = self.get_response(request)
        if response.status_code == 200:
            if self._storable(request, response):
                cache.set(key, (list(response.items()), response.content), settings.CACHE_TIMEOUT)
            response[PAGE_CACHE_HEADER] = "miss"
        return response

    @staticmethod
    def _key(request) -> str | None:
        if (
            request.method != "GET"
            or _has_cookie(request, settings.SESSION_COOKIE_NAME)
            or _has_cookie(request, CookieStorage.cookie_name)
        ):
            return None
        try:
            # The same host validation the rest of the chain would do (else a 400 follows).
            request.get_host()
        except DisallowedHost:
            return None
        view = _page_cache_view(request)
        key = view.page_cache_key() if view is not None else None
        if key is None:
            return None
        # What LocaleMiddleware will pick (cookie, else Accept-Language): no query, no session.
        return f"{key}:{translation.get_language_from_request(request)}"

    @staticmethod
    def _storable(request, response) -> bool:
        user = getattr(request, "user", None)
        return (
            not response.streaming
            and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and user is not None
            and not user.is_authenticated
        )
