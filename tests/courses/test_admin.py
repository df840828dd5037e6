import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from courses.models import Course
from tests.factories import ContentFactory, CourseFactory, ModuleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-12345")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "model", ["subject", "course", "module", "text", "video", "image", "file", "quiz"]
)
def test_each_courses_model_has_an_admin_list(admin_client, model):
    ContentFactory()

    response = admin_client.get(reverse(f"admin:courses_{model}_changelist"), {"q": "x"})

    assert response.status_code == 200


def test_the_course_list_can_be_filtered_by_status(admin_client):
    CourseFactory(title="Public one")
    CourseFactory(title="Draft one", status=Course.Status.DRAFT)

    response = admin_client.get(reverse("admin:courses_course_changelist"), {"status": "draft"})

    assert (b"Draft one" in response.content, b"Public one" in response.content) == (True, False)


def test_the_course_page_edits_its_modules_inline(admin_client):
    module = ModuleFactory(title="Inline module")

    response = admin_client.get(reverse("admin:courses_course_change", args=[module.course_id]))

    assert b"Inline module" in response.content


def test_the_module_page_lists_its_contents_inline(admin_client):
    content = ContentFactory()

    response = admin_client.get(reverse("admin:courses_module_change", args=[content.module_id]))

    assert content.item.title.encode() in response.content


def test_saving_a_course_in_the_admin_bumps_its_version(admin_client):
    course = CourseFactory()
    data = {
        "owner": course.owner_id,
        "subject": course.subject_id,
        "title": "Renamed",
        "slug": course.slug,
        "overview": course.overview,
        "status": course.status,
        "modules-TOTAL_FORMS": "0",
        "modules-INITIAL_FORMS": "0",
        "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(reverse("admin:courses_course_change", args=[course.pk]), data)

    assert response.status_code == 302
    assert Course.objects.get(pk=course.pk).version == 2


def test_an_admin_promotes_a_user_by_adding_the_instructors_group(admin_client):
    user = UserFactory()
    group = Group.objects.get(name="Instructors")
    data = {
        "username": user.username,
        "email": user.email,
        "groups": [group.pk],
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    admin_client.post(reverse("admin:auth_user_change", args=[user.pk]), data)

    assert type(user).objects.get(pk=user.pk).has_perm("courses.change_course")
