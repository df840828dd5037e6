"""Every URL of the project, built from the URL configuration itself.

A test that walks `project_routes()` covers a URL added tomorrow without being edited; a URL
with a parameter nobody has a sample for fails the walk (KeyError) instead of being skipped.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    name: str | None  # "admin:login", "course_edit"; None for unnamed patterns
    template: str  # the full pattern, e.g. "course/<int:pk>/edit/"
    callback: object

    def url(self, samples: dict) -> str:
        """The route's address with each parameter replaced by its sample."""
        values = {**samples, **samples.get(self.name, {})} if self.name else samples
        path = _REGEX_GROUP.sub(lambda m: str(values[m.group(1)]), self.template)
        return "/" + _ROUTE_PARAMETER.sub(lambda m: str(values[m.group(1)]), path)


def _pattern_text(pattern) -> str:
    text = str(pattern)
    return text if isinstance(pattern, RoutePattern) else text.removeprefix("^").removesuffix("$")


def _walk(resolver, namespace: str | None, prefix: str):
    for entry in resolver.url_patterns:
        text = prefix + _pattern_text(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, inner, text)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield Route(name=name, template=text, callback=entry.callback)


def project_routes() -> list[Route]:
    return list(_walk(get_resolver(), None, ""))


def route_urls(samples: dict) -> list[tuple[Route, str]]:
    """(route, address) for every route; asserts each address resolves back to its own view."""
    pairs = []
    for route in project_routes():
        url = route.url(samples)
        assert resolve(url).func == route.callback, f"{url} does not lead to {route.template}"
        pairs.append((route, url))
    return pairs
