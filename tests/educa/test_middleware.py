import pytest
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory

from courses.models import Course
from educa.middleware import CSPMiddleware, course_slug_from_host
from tests.factories import CourseFactory

PARENT = "educa.test"


@pytest.fixture
def parent_host(settings):
    settings.PARENT_HOST = PARENT
    settings.ALLOWED_HOSTS = [PARENT, f".{PARENT}", "127.0.0.1", "localhost", "example.org"]
    return PARENT


@pytest.mark.django_db
def test_course_subdomain_redirects_to_the_course_page_on_the_parent_host(client, parent_host):
    course = CourseFactory(slug="python-basics")
    response = client.get("/", HTTP_HOST=f"python-basics.{PARENT}")
    assert response.status_code == 302
    assert response["Location"] == f"http://{PARENT}{course.get_absolute_url()}"


@pytest.mark.django_db
def test_redirect_keeps_the_port_and_the_scheme(client, parent_host):
    course = CourseFactory(slug="python-basics")
    response = client.get("/", HTTP_HOST=f"python-basics.{PARENT}:8443", secure=True)
    assert response["Location"] == f"https://{PARENT}:8443{course.get_absolute_url()}"


@pytest.mark.django_db
def test_unknown_course_subdomain_is_not_found(client, parent_host):
    response = client.get("/", HTTP_HOST=f"no-such-course.{PARENT}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_draft_course_subdomain_is_not_found(client, parent_host):
    CourseFactory(slug="secret-draft", status=Course.Status.DRAFT)
    response = client.get("/", HTTP_HOST=f"secret-draft.{PARENT}")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", f"www.{PARENT}", PARENT, "example.org"])
def test_other_hosts_pass_through_untouched(client, parent_host, host):
    response = client.get("/", HTTP_HOST=host)
    assert response.status_code == 200


@pytest.mark.django_db
def test_without_parent_host_subdomains_are_not_redirected(client, settings):
    settings.PARENT_HOST = ""
    settings.ALLOWED_HOSTS = [f".{PARENT}"]
    CourseFactory(slug="python-basics")
    response = client.get("/", HTTP_HOST=f"python-basics.{PARENT}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:8000", "10.0.0.1", "[::1]:8443", "[2001:db8::1]", "localhost:8000"],
)
def test_addresses_are_never_taken_for_a_course_slug(host):
    # Even with a parent host whose suffix an address ends with.
    assert course_slug_from_host(host=host, parent_host="0.0.1") is None
    assert course_slug_from_host(host=host, parent_host="0.1") is None


def test_deeper_subdomains_are_not_course_slugs():
    assert course_slug_from_host(host=f"a.b.{PARENT}", parent_host=PARENT) is None


def test_slug_is_read_from_the_first_label_whatever_the_case_and_port():
    assert course_slug_from_host(host=f"Python-Basics.{PARENT}:8443", parent_host=PARENT) == (
        "python-basics"
    )


# --- Content-Security-Policy ------------------------------------------------------------------


def _csp_request():
    return RequestFactory().get("/")


def test_the_site_policy_is_the_one_django_csp_builds():
    response = CSPMiddleware(lambda request: HttpResponse())(_csp_request())

    assert response["Content-Security-Policy"] == build_policy()


def test_a_changed_policy_is_sent_at_once(settings):
    middleware = CSPMiddleware(lambda request: HttpResponse())
    middleware(_csp_request())
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}

    response = middleware(_csp_request())

    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_a_view_with_a_policy_of_its_own_keeps_it():
    def view(request):
        response = HttpResponse()
        response._csp_update = {"img-src": ["https://images.example"]}
        return response

    response = CSPMiddleware(view)(_csp_request())

    assert "https://images.example" in response["Content-Security-Policy"]
    assert response["Content-Security-Policy"] != build_policy()
