"""403, 404 and 500 in the site's layout, saying why and offering a way on; the API keeps JSON."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from educa.errors import server_error
from tests.factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_non_member_is_told_to_enroll_from_the_course_page(client):
    course = CourseFactory(title="Waves and optics")
    client.force_login(UserFactory(username="marie"))

    response = client.get(reverse("student_course_detail", args=[course.pk]))

    html = response.content.decode()
    assert response.status_code == 403
    assert 'id="header"' in html
    assert f'<a href="{course.get_absolute_url()}">the course page</a>' in html
    assert "Waves and optics" in html


def test_the_403_page_offers_to_log_in_as_someone_else(client):
    course = CourseFactory()
    client.force_login(UserFactory(username="marie"))
    room = reverse("chat_room", args=[course.pk])

    html = client.get(room).content.decode()

    assert "logged in as <strong>marie</strong>" in html
    assert f'name="next" value="/accounts/login/?next={room}"' in html
    assert ">Log in as someone else</button>" in html


def test_an_unknown_page_is_404_in_the_sites_layout_with_a_way_back(client):
    response = client.get("/no/such/page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="header"' in html
    assert "We could not find this page" in html
    assert f'<a href="{reverse("course_list")}">Back to the catalogue</a>' in html


def test_a_server_error_is_500_in_the_sites_layout_with_a_way_back():
    request = RequestFactory().get("/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(request)

    html = response.content.decode()
    assert response.status_code == 500
    assert 'id="header"' in html
    assert "Something went wrong on our side" in html
    assert f'<a href="{reverse("course_list")}">Back to the catalogue</a>' in html


def test_api_errors_stay_json(client):
    response = client.get("/api/courses/999999/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
