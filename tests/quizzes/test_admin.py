import pytest
from django.urls import reverse

from quizzes.services import attempt_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-12345")
    client.force_login(admin)
    return client


def test_attempts_are_listed_in_the_admin(admin_client, quiz_content, enrolled):
    attempt_start(student=enrolled, content=quiz_content)

    response = admin_client.get(reverse("admin:quizzes_attempt_changelist"), {"q": "x"})

    assert response.status_code == 200


def test_a_quiz_page_edits_its_questions_inline(admin_client, quiz):
    response = admin_client.get(reverse("admin:courses_quiz_change", args=[quiz.pk]))

    assert quiz.questions.first().text.encode() in response.content
