"""Course completion, certificates (their page, PDF and revocation) and the gradebook."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from courses.models import Content
from students import services
from students.models import Certificate, CourseCompletion
from students.selectors import GRADEBOOK_SORT_INVALID, gradebook_csv_cell
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    owner = InstructorFactory(first_name="Ada", last_name="Lovelace")
    course = CourseFactory(owner=owner, title="Analytical engines")
    ContentFactory.create_batch(2, module__course=course)
    return course


@pytest.fixture
def student(course):
    user = UserFactory(username="marie", first_name="Marie", last_name="Curie")
    EnrollmentFactory(student=user, course=course)
    return user


def finish(student, course):
    """Mark every content of the course done, as the study view does."""
    for content in Content.objects.filter(module__course=course):
        services.content_completion_create(student=student, content=content)


def certificate_of(student, course) -> Certificate:
    finish(student, course)
    return Certificate.objects.get(student=student, course=course)


# --- completion -------------------------------------------------------------------------------


def test_marking_the_last_content_done_completes_the_course(course, student):
    finish(student, course)

    assert CourseCompletion.objects.filter(student=student, course=course).exists()


def test_a_course_with_a_content_left_is_not_complete(course, student):
    first = course.modules.first().contents.first()

    services.content_completion_create(student=student, content=first)

    assert not CourseCompletion.objects.exists()


def test_a_content_added_later_does_not_take_the_completion_back(course, student):
    finish(student, course)
    completed = CourseCompletion.objects.get().completed

    ContentFactory(module__course=course)

    assert CourseCompletion.objects.get().completed == completed


def test_marking_a_content_again_keeps_the_first_completion_date(course, student):
    finish(student, course)
    completion = CourseCompletion.objects.get()
    CourseCompletion.objects.update(completed=completion.completed - timedelta(days=3))

    finish(student, course)

    assert CourseCompletion.objects.get().completed == completion.completed - timedelta(days=3)


def test_the_owner_marking_every_content_done_completes_nothing(course):
    finish(course.owner, course)

    assert not CourseCompletion.objects.exists()


# --- issuing ----------------------------------------------------------------------------------


def test_completing_a_course_issues_its_certificate_with_the_names_as_printed(course, student):
    certificate = certificate_of(student, course)

    assert (
        certificate.student_name,
        certificate.course_title,
        certificate.instructor_name,
        certificate.revoked_at,
    ) == ("Marie Curie", "Analytical engines", "Ada Lovelace", None)


def test_a_student_without_a_full_name_completes_but_waits_for_the_certificate(course, student):
    student.last_name = ""
    student.save()

    finish(student, course)

    assert (CourseCompletion.objects.count(), Certificate.objects.count()) == (1, 0)


def test_giving_the_name_issues_the_certificates_that_waited(course, student):
    student.first_name = student.last_name = ""
    student.save()
    finish(student, course)

    issued = services.student_name_set(student=student, first_name=" Marie ", last_name="Curie")

    assert [certificate.student_name for certificate in issued] == ["Marie Curie"]


def test_a_name_without_a_last_name_is_refused(student):
    with pytest.raises(services.ValidationError) as error:
        services.student_name_set(student=student, first_name="Marie", last_name="  ")

    assert error.value.messages == [str(services.CERTIFICATE_NAME_REQUIRED)]


def test_saving_the_profile_with_a_full_name_issues_the_waiting_certificates(course, student):
    student.last_name = ""
    student.save()
    finish(student, course)

    services.user_profile_update(
        user=student, first_name="Marie", last_name="Curie", email=student.email
    )

    assert Certificate.objects.filter(student=student).count() == 1


def test_a_renamed_course_keeps_the_title_its_certificates_printed(course, student):
    certificate = certificate_of(student, course)
    course.title = "Something else"
    course.save()

    certificate.refresh_from_db()

    assert certificate.course_title == "Analytical engines"


def test_revoking_twice_keeps_the_first_revocation_date(course, student):
    certificate = services.certificate_revoke(certificate=certificate_of(student, course))
    first = certificate.revoked_at

    services.certificate_revoke(certificate=certificate)

    assert Certificate.objects.get().revoked_at == first


# --- the certificate's page and PDF -----------------------------------------------------------


def test_anyone_can_verify_a_certificate_on_its_page(client, course, student):
    certificate = certificate_of(student, course)

    page = client.get(certificate.get_absolute_url()).content.decode()

    for shown in ("Marie Curie", "Analytical engines", "Ada Lovelace", str(certificate.pk)):
        assert shown in page


def test_the_certificate_page_shows_no_other_personal_data(client, course, student):
    certificate = certificate_of(student, course)

    page = client.get(certificate.get_absolute_url()).content.decode()

    assert student.email not in page and "marie" not in page.replace("Marie", "")


def test_a_revoked_certificate_page_says_it_is_revoked(client, course, student):
    certificate = services.certificate_revoke(certificate=certificate_of(student, course))

    page = client.get(certificate.get_absolute_url()).content.decode()

    assert "This certificate has been revoked." in page


def test_an_unknown_certificate_is_a_404(client):
    assert client.get(reverse("certificate_detail", args=[uuid.uuid4()])).status_code == 404


def pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(page.extract_text() for page in reader.pages)


def test_the_pdf_prints_the_name_the_course_and_the_verification_address(
    client, settings, course, student
):
    settings.SITE_URL = "https://educa.example.com"
    certificate = certificate_of(student, course)

    response = client.get(reverse("certificate_pdf", args=[certificate.pk]))

    text = pdf_text(response)
    assert response["Content-Type"] == "application/pdf"
    assert "Marie Curie" in text and "Analytical engines" in text
    assert f"https://educa.example.com/certificates/{certificate.pk}/" in text


ISSUED_ON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DATES_BY_LANGUAGE = [("en", "December 5, 2026"), ("es", "5 de diciembre de 2026")]


def issued_on_a_known_day(student, course) -> Certificate:
    certificate = certificate_of(student, course)
    Certificate.objects.filter(pk=certificate.pk).update(issued_at=ISSUED_ON)
    return certificate


@pytest.mark.parametrize(("language", "shown"), DATES_BY_LANGUAGE)
def test_the_certificate_page_prints_the_date_as_its_language_does(
    client, course, student, language, shown
):
    certificate = issued_on_a_known_day(student, course)

    page = client.get(certificate.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language)

    assert shown in page.content.decode()


@pytest.mark.parametrize(("language", "shown"), DATES_BY_LANGUAGE)
def test_the_pdf_prints_the_date_as_its_language_does(client, course, student, language, shown):
    certificate = issued_on_a_known_day(student, course)

    response = client.get(
        reverse("certificate_pdf", args=[certificate.pk]), HTTP_ACCEPT_LANGUAGE=language
    )

    assert shown in pdf_text(response)


def test_the_pdf_links_to_the_verification_address(client, settings, course, student):
    settings.SITE_URL = "https://educa.example.com"
    certificate = certificate_of(student, course)

    response = client.get(reverse("certificate_pdf", args=[certificate.pk]))

    reader = PdfReader(io.BytesIO(response.content))
    links = {annotation.get_object()["/A"]["/URI"] for annotation in reader.pages[0]["/Annots"]}
    assert links == {f"https://educa.example.com/certificates/{certificate.pk}/"}


def test_the_pdf_of_a_revoked_certificate_is_gone(client, course, student):
    certificate = services.certificate_revoke(certificate=certificate_of(student, course))

    response = client.get(reverse("certificate_pdf", args=[certificate.pk]))

    assert response.status_code == 410


# --- what the student sees --------------------------------------------------------------------


def test_the_study_view_links_to_the_certificate(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(student)

    page = client.get(reverse("student_course_detail", args=[course.pk])).content.decode()

    assert "Course complete." in page and certificate.get_absolute_url() in page


def test_the_study_view_still_says_complete_after_a_content_was_added(client, course, student):
    finish(student, course)
    ContentFactory(module__course=course)
    client.force_login(student)

    page = client.get(reverse("student_course_detail", args=[course.pk])).content.decode()

    assert "Course complete." in page


def test_the_study_view_shows_the_certificate_once_the_name_is_given(client, course, student):
    student.last_name = ""
    student.save()
    finish(student, course)
    client.force_login(student)
    study = reverse("student_course_detail", args=[course.pk])
    assert reverse("certificate_name") in client.get(study).content.decode()

    client.post(reverse("certificate_name"), {"first_name": "Marie", "last_name": "Curie"})

    page = client.get(study).content.decode()
    assert Certificate.objects.get().get_absolute_url() in page


def test_my_courses_links_to_the_certificate(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(student)

    page = client.get(reverse("student_course_list")).content.decode()

    assert certificate.get_absolute_url() in page


def test_the_name_form_refuses_a_missing_last_name_with_a_400(client, student):
    client.force_login(student)

    response = client.post(reverse("certificate_name"), {"first_name": "Marie", "last_name": ""})

    assert response.status_code == 400


def test_my_certificates_api_lists_the_users_certificates(client, settings, course, student):
    settings.SITE_URL = "https://educa.example.com"
    certificate = certificate_of(student, course)
    client.force_login(student)

    body = client.get("/api/me/certificates/").json()

    assert [(row["id"], row["url"]) for row in body["results"]] == [
        (str(certificate.pk), f"https://educa.example.com/certificates/{certificate.pk}/")
    ]


def test_my_courses_api_gives_the_completion_and_certificate(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(student)

    body = client.get("/api/me/courses/").json()

    assert body["results"][0]["completion"]["certificate"] == str(certificate.pk)


# --- the gradebook ----------------------------------------------------------------------------


def grades_url(course, **query):
    url = reverse("course_grades", args=[course.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_owner_revokes_a_certificate_from_the_gradebook(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(course.owner)

    response = client.post(reverse("certificate_revoke", args=[certificate.pk]))

    assert response.url == grades_url(course)
    assert Certificate.objects.get().revoked_at is not None


def test_another_instructor_cannot_revoke_a_certificate(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(InstructorFactory())

    response = client.post(reverse("certificate_revoke", args=[certificate.pk]))

    assert (response.status_code, Certificate.objects.get().revoked_at) == (404, None)


def test_the_gradebook_shows_the_completion_date_and_a_revoke_button(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(course.owner)

    page = client.get(grades_url(course)).content.decode()

    assert timezone.now().strftime("%Y-%m-%d") in page
    assert reverse("certificate_revoke", args=[certificate.pk]) in page


def test_the_gradebook_sorts_by_progress_descending(client, course, student):
    EnrollmentFactory(course=course, student__username="idle")
    finish(student, course)
    client.force_login(course.owner)

    ascending = client.get(grades_url(course, sort="progress")).content.decode()
    descending = client.get(grades_url(course, sort="-progress")).content.decode()

    assert ascending.index("idle") < ascending.index("marie")
    assert descending.index("marie") < descending.index("idle")


def test_the_gradebook_refuses_an_unknown_sort_with_a_400(client, course):
    client.force_login(course.owner)

    response = client.get(grades_url(course, sort="password"))

    assert response.status_code == 400
    assert str(GRADEBOOK_SORT_INVALID) in response.content.decode()


def test_the_gradebook_downloads_as_csv_one_row_per_student(client, course, student):
    EnrollmentFactory(course=course, student__username="idle")
    finish(student, course)
    client.force_login(course.owner)

    response = client.get(grades_url(course, format="csv", sort="student"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [row[0] for row in rows] == ["Student", "idle", "marie"]
    assert rows[2][3] == "100"


def test_the_csv_defuses_cells_a_spreadsheet_would_run_as_formulas(client, course):
    EnrollmentFactory(
        course=course,
        student__username="mallory",
        student__first_name='=HYPERLINK("http://evil.example","x")',
        student__last_name="Smith",
    )
    client.force_login(course.owner)

    response = client.get(grades_url(course, format="csv"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","x") Smith'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_prefixed_with_a_quote(start):
    assert gradebook_csv_cell(f"{start}1+1") == f"'{start}1+1"


def test_plain_cells_are_left_as_they_are():
    assert gradebook_csv_cell("Marie Curie") == "Marie Curie"


def test_the_sorted_column_links_to_its_reverse_order(client, course, student):
    client.force_login(course.owner)

    page = client.get(grades_url(course, sort="progress")).content.decode()

    assert 'href="?sort=-progress"' in page and 'aria-sort="ascending"' in page


def test_the_gradebook_pages_keep_the_sort(client, course, student):
    EnrollmentFactory.create_batch(50, course=course)
    client.force_login(course.owner)

    page = client.get(grades_url(course, sort="-progress")).content.decode()

    assert 'href="?sort=-progress&amp;page=2"' in page and "Page 1 of 2" in page


def test_the_gradebook_refuses_an_unknown_format_with_a_400(client, course):
    client.force_login(course.owner)

    assert client.get(grades_url(course, format="xlsx")).status_code == 400


def test_the_gradebook_runs_as_many_queries_for_many_students_as_for_one(
    client, course, student, django_assert_max_num_queries
):
    client.force_login(course.owner)
    with CaptureQueriesContext(connection) as one:
        client.get(grades_url(course))
    for _ in range(5):
        finish(EnrollmentFactory(course=course, student__first_name="A").student, course)

    with django_assert_max_num_queries(len(one)):
        client.get(grades_url(course))


def test_the_study_view_says_so_once_the_certificate_is_revoked(client, course, student):
    certificate = certificate_of(student, course)
    client.force_login(student)
    study = reverse("student_course_detail", args=[course.pk])
    client.get(study)  # a CSRF cookie, so that the next page is cached
    assert certificate.get_absolute_url() in client.get(study).content.decode()

    services.certificate_revoke(certificate=certificate)

    assert "has been revoked" in client.get(study).content.decode()
