import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.factories import ContentFactory, ModuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def modules(course):
    return [ModuleFactory(course=course, title=title) for title in ("a", "b")]


@pytest.fixture
def csrf_client(instructor):
    """A client that, like a browser, must send the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    return client


def csrf_token_of(client, url) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def post_json(client, url, payload, **headers):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", **headers)


def titles(course):
    return list(course.modules.order_by("order").values_list("title", flat=True))


def test_reordering_without_the_csrf_token_is_forbidden(csrf_client, course, modules):
    a, b = modules

    response = post_json(csrf_client, reverse("module_order"), {a.pk: 1, b.pk: 0})

    assert (response.status_code, titles(course)) == (403, ["a", "b"])


def test_reordering_with_the_csrf_token_from_the_page_works(csrf_client, course, modules):
    a, b = modules
    token = csrf_token_of(csrf_client, reverse("module_content_list", args=[a.pk]))

    response = post_json(
        csrf_client, reverse("module_order"), {a.pk: 1, b.pk: 0}, HTTP_X_CSRFTOKEN=token
    )

    assert (response.json(), titles(course)) == ({"saved": True}, ["b", "a"])


def test_reordering_contents_with_the_csrf_token_works(csrf_client, module):
    first, second = ContentFactory(module=module), ContentFactory(module=module)
    token = csrf_token_of(csrf_client, reverse("module_content_list", args=[module.pk]))

    post_json(
        csrf_client,
        reverse("content_order"),
        {first.pk: 1, second.pk: 0},
        HTTP_X_CSRFTOKEN=token,
    )

    assert list(module.contents.order_by("order").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]


def test_the_content_order_endpoint_also_needs_the_csrf_token(csrf_client, module):
    content = ContentFactory(module=module)

    response = post_json(csrf_client, reverse("content_order"), {content.pk: 0})

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        "{}",
        '{"a": 1}',
        '{"1": -1}',
        '{"1": "2"}',
        '{"1": true}',
        '{"1": 1.5}',
        '{"1234567890123456789012": 0}',
        '{"1": ' + "1" * 5000 + "}",  # over Python's 4,300-digit limit for int()
        '{"1": 1e400}',
        '{"1": NaN}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_a_malformed_body_is_a_400_with_a_json_error(instructor_client, body):
    response = post_json(instructor_client, reverse("module_order"), body)

    assert response.status_code == 400
    assert "error" in response.json()


def test_ids_of_another_instructor_are_a_404_with_a_json_error(instructor_client):
    foreign = ModuleFactory()

    response = post_json(instructor_client, reverse("module_order"), {foreign.pk: 0})

    assert (response.status_code, "error" in response.json()) == (404, True)


def test_unknown_ids_change_nothing(instructor_client, course, modules):
    a, b = modules

    post_json(instructor_client, reverse("module_order"), {a.pk: 1, b.pk: 0, 999999: 2})

    assert titles(course) == ["a", "b"]


@pytest.mark.parametrize("name", ["module_order", "content_order"])
def test_the_ordering_endpoints_refuse_get(instructor_client, name):
    assert instructor_client.get(reverse(name)).status_code == 405


def test_the_content_list_page_carries_what_the_script_needs(instructor_client, module):
    content = ContentFactory(module=module)

    page = instructor_client.get(reverse("module_content_list", args=[module.pk])).content.decode()

    assert 'name="csrfmiddlewaretoken"' in page
    assert f'data-order-url="{reverse("content_order")}"' in page
    assert f'data-id="{content.pk}"' in page
    assert "js/sortable.js" in page
    assert 'class="move-up' in page


def test_the_sortable_script_is_served_locally():
    assert finders.find("js/sortable.js") is not None
