import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from students.models import Certificate
from students.services import content_completion_create
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    EnrollmentFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["enrollment", "contentcompletion"])
def test_the_admin_lists_students_records_with_search_and_filters(admin_client, model):
    enrollment = EnrollmentFactory(student__username="findme")
    ContentCompletionFactory(student=enrollment.student, content__module__course=enrollment.course)
    url = reverse(f"admin:students_{model}_changelist")

    response = admin_client.get(url, {"q": "findme"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert response.context["cl"].has_filters


@pytest.mark.parametrize("model", ["enrollment", "contentcompletion"])
def test_the_admin_change_page_of_a_students_record_renders(admin_client, model):
    record = EnrollmentFactory() if model == "enrollment" else ContentCompletionFactory()

    response = admin_client.get(reverse(f"admin:students_{model}_change", args=[record.pk]))

    assert response.status_code == 200


def test_an_enrollment_cannot_resume_at_a_module_of_another_course():
    enrollment = EnrollmentFactory()
    enrollment.last_module = ModuleFactory()

    with pytest.raises(ValidationError) as error:
        enrollment.full_clean()

    assert "last_module" in error.value.message_dict


def issued_certificate():
    enrollment = EnrollmentFactory(student__first_name="Marie", student__last_name="Curie")
    content = ContentFactory(module__course=enrollment.course)
    content_completion_create(student=enrollment.student, content=content)
    return Certificate.objects.get()


@pytest.mark.parametrize("model", ["coursecompletion", "certificate"])
def test_the_admin_lists_completions_and_certificates_with_search(admin_client, model):
    issued_certificate()

    response = admin_client.get(reverse(f"admin:students_{model}_changelist"), {"q": "Curie"})

    assert response.status_code == 200


def test_the_admin_change_page_of_a_certificate_renders(admin_client):
    certificate = issued_certificate()

    url = reverse("admin:students_certificate_change", args=[certificate.pk])

    assert admin_client.get(url).status_code == 200


def test_staff_revoke_certificates_with_an_admin_action(admin_client):
    certificate = issued_certificate()

    admin_client.post(
        reverse("admin:students_certificate_changelist"),
        {"action": "revoke", "_selected_action": [str(certificate.pk)]},
    )

    certificate.refresh_from_db()
    assert certificate.revoked_at is not None
