import pytest
from django.urls import reverse

from courses.models import Content, Course, Module, Text, Video
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    SubjectFactory,
    UserFactory,
)

from .uploads import png_upload, upload

pytestmark = pytest.mark.django_db


def cms_urls(content):
    """(method, url) of every CMS page, for objects of the given content's course."""
    module, course = content.module, content.module.course
    item_id = content.object_id
    return [
        ("get", reverse("instructor_home")),
        ("get", reverse("course_create")),
        ("get", reverse("course_edit", args=[course.pk])),
        ("get", reverse("course_delete", args=[course.pk])),
        ("post", reverse("course_delete", args=[course.pk])),
        ("get", reverse("course_module_update", args=[course.pk])),
        ("post", reverse("course_publish", args=[course.pk])),
        ("post", reverse("course_unpublish", args=[course.pk])),
        ("get", reverse("module_content_list", args=[module.pk])),
        ("get", reverse("module_content_create", args=[module.pk, "text"])),
        ("get", reverse("module_content_update", args=[module.pk, "text", item_id])),
        ("post", reverse("module_content_delete", args=[content.pk])),
        ("post", reverse("module_order")),
        ("post", reverse("content_order")),
    ]


OWNED_URL_INDEXES = range(2, 12)  # the pages about one object (not the lists, not ordering)


@pytest.fixture
def content(course):
    return ContentFactory(module=ModuleFactory(course=course))


# --- who gets in --------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(14))
def test_anonymous_users_are_sent_to_log_in(client, content, index):
    method, url = cms_urls(content)[index]

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("index", range(14))
def test_students_without_the_instructor_permission_are_forbidden(client, content, index):
    method, url = cms_urls(content)[index]
    client.force_login(UserFactory())

    assert getattr(client, method)(url).status_code == 403


@pytest.mark.parametrize("index", OWNED_URL_INDEXES)
def test_another_instructors_objects_are_not_found(client, content, index):
    method, url = cms_urls(content)[index]
    client.force_login(InstructorFactory())

    assert getattr(client, method)(url).status_code == 404


@pytest.mark.parametrize("index", OWNED_URL_INDEXES)
def test_another_instructor_changes_nothing(client, content, index):
    method, url = cms_urls(content)[index]
    client.force_login(InstructorFactory())

    getattr(client, method)(url)

    assert Content.objects.filter(pk=content.pk).exists()
    assert Course.objects.get(pk=content.module.course_id).version == 1


@pytest.mark.parametrize("model_name", ["course", "module", "content", "user", "TEXT", "item"])
def test_an_unknown_content_model_is_not_found(instructor_client, module, model_name):
    url = reverse("module_content_create", args=[module.pk, model_name])

    assert instructor_client.get(url).status_code == 404


def test_editing_with_an_unknown_content_model_is_not_found(instructor_client, content):
    url = reverse("module_content_update", args=[content.module_id, "user", content.object_id])

    assert instructor_client.get(url).status_code == 404


def test_an_id_too_large_for_the_database_is_not_found(instructor_client):
    url = reverse("course_edit", args=[10**30])

    assert instructor_client.get(url).status_code == 404


# --- courses ------------------------------------------------------------------------------------


def test_the_instructor_home_lists_only_the_instructors_courses(instructor_client, course):
    CourseFactory(title="Someone else's")

    response = instructor_client.get(reverse("instructor_home"))

    assert list(response.context["courses"]) == [course]


def test_the_old_course_list_address_redirects_permanently_to_the_instructor_home(client):
    response = client.get("/course/mine/")

    assert (response.status_code, response["Location"]) == (301, reverse("instructor_home"))


def test_a_new_course_is_a_draft_with_a_slug_from_its_title(instructor_client, instructor):
    subject = SubjectFactory()

    instructor_client.post(
        reverse("course_create"),
        {"subject": subject.pk, "title": "Learning Python", "slug": "", "overview": "Hello."},
    )

    course = Course.objects.get(owner=instructor)
    assert (course.slug, course.status) == ("learning-python", Course.Status.DRAFT)


def test_after_creating_a_course_the_instructor_adds_its_modules(instructor_client):
    response = instructor_client.post(
        reverse("course_create"),
        {"subject": SubjectFactory().pk, "title": "Python", "overview": "Hello."},
    )

    assert response.url == reverse("course_module_update", args=[Course.objects.get().pk])


def test_a_reserved_slug_is_a_form_error(instructor_client):
    response = instructor_client.post(
        reverse("course_create"),
        {"subject": SubjectFactory().pk, "title": "Python", "slug": "mine", "overview": "Hi."},
    )

    assert "slug" in response.context["form"].errors


def test_an_unknown_subject_id_is_a_form_error(instructor_client):
    response = instructor_client.post(
        reverse("course_create"), {"subject": 999999, "title": "Python", "overview": "Hi."}
    )

    assert "subject" in response.context["form"].errors


def test_editing_a_course_saves_it(instructor_client, course):
    instructor_client.post(
        reverse("course_edit", args=[course.pk]),
        {"subject": course.subject.pk, "title": "Renamed", "slug": course.slug, "overview": "x"},
    )

    assert Course.objects.get(pk=course.pk).title == "Renamed"


def test_the_delete_page_asks_for_confirmation(instructor_client, course):
    response = instructor_client.get(reverse("course_delete", args=[course.pk]))

    assert (response.status_code, Course.objects.filter(pk=course.pk).exists()) == (200, True)


def test_deleting_a_course_with_enrollments_and_progress_works(instructor_client, content):
    course = content.module.course
    enrollment = EnrollmentFactory(course=course, last_module=content.module)
    ContentCompletionFactory(student=enrollment.student, content=content)

    response = instructor_client.post(reverse("course_delete", args=[course.pk]))

    assert response.status_code == 302
    assert not Course.objects.filter(pk=course.pk).exists()


def test_publishing_puts_the_course_in_the_catalogue(instructor_client, instructor):
    draft = CourseFactory(owner=instructor, status=Course.Status.DRAFT)

    instructor_client.post(reverse("course_publish", args=[draft.pk]))

    assert Course.objects.get(pk=draft.pk).status == Course.Status.PUBLISHED


def test_unpublishing_takes_the_course_out_of_the_catalogue(instructor_client, course):
    instructor_client.post(reverse("course_unpublish", args=[course.pk]))

    assert Course.objects.get(pk=course.pk).status == Course.Status.DRAFT


@pytest.mark.parametrize("name", ["course_publish", "course_unpublish"])
def test_publishing_by_get_is_not_allowed(instructor_client, course, name):
    assert instructor_client.get(reverse(name, args=[course.pk])).status_code == 405


# --- modules ------------------------------------------------------------------------------------


def module_formset_data(modules, new=()):
    data = {
        "modules-TOTAL_FORMS": str(len(modules) + len(new)),
        "modules-INITIAL_FORMS": str(len(modules)),
        "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000",
    }
    rows = [(m.pk, m.title) for m in modules] + [("", title) for title in new]
    for index, (pk, title) in enumerate(rows):
        data[f"modules-{index}-id"] = pk
        data[f"modules-{index}-title"] = title
        data[f"modules-{index}-description"] = ""
    return data


def test_the_module_formset_adds_modules_in_order(instructor_client, course):
    data = module_formset_data([], new=["First", "Second"])

    instructor_client.post(reverse("course_module_update", args=[course.pk]), data)

    assert list(course.modules.values_list("title", "order")) == [("First", 0), ("Second", 1)]


def test_the_module_formset_shows_one_blank_form_and_a_template_for_more(instructor_client, module):
    html = instructor_client.get(
        reverse("course_module_update", args=[module.course.pk])
    ).content.decode()

    assert 'name="modules-TOTAL_FORMS" value="2"' in html
    template = html.split('id="module-empty-form">')[1].split("</template>")[0]
    assert 'name="modules-__prefix__-title"' in template
    assert 'id="add-module" hidden>Add another module</button>' in html


def test_the_module_formset_renames_modules(instructor_client, module):
    module.title = "Renamed"
    data = module_formset_data([module])

    instructor_client.post(reverse("course_module_update", args=[module.course_id]), data)

    assert Module.objects.get(pk=module.pk).title == "Renamed"


def test_the_module_formset_deletes_modules(instructor_client, content):
    data = module_formset_data([content.module])
    data["modules-0-DELETE"] = "on"

    instructor_client.post(reverse("course_module_update", args=[content.module.course_id]), data)

    assert not Module.objects.filter(pk=content.module_id).exists()
    assert not Text.objects.filter(pk=content.object_id).exists()


def test_the_module_formset_bumps_the_course_version(instructor_client, course):
    data = module_formset_data([], new=["First"])

    instructor_client.post(reverse("course_module_update", args=[course.pk]), data)

    assert Course.objects.get(pk=course.pk).version == 2


def test_a_module_of_another_course_slipped_into_the_formset_is_left_alone(
    instructor_client, course
):
    foreign = ModuleFactory(title="Theirs")
    data = module_formset_data([foreign])
    data["modules-0-title"] = "Hijacked"

    instructor_client.post(reverse("course_module_update", args=[course.pk]), data)

    assert list(Module.objects.values_list("title", "course")) == [("Theirs", foreign.course_id)]


def test_a_broken_management_form_is_a_form_error(instructor_client, course):
    response = instructor_client.post(reverse("course_module_update", args=[course.pk]), {})

    assert response.status_code == 400
    assert response.context["formset"].non_form_errors()


# --- contents -----------------------------------------------------------------------------------


def test_the_content_list_shows_the_module_contents(instructor_client, content):
    response = instructor_client.get(reverse("module_content_list", args=[content.module_id]))

    assert content.item.title.encode() in response.content


def test_a_module_without_contents_shows_an_empty_state(instructor_client, module):
    response = instructor_client.get(reverse("module_content_list", args=[module.pk]))

    assert b"no contents yet" in response.content


def test_adding_a_text_creates_the_item_and_its_content(instructor_client, module):
    url = reverse("module_content_create", args=[module.pk, "text"])

    instructor_client.post(url, {"title": "Intro", "content": "# Hello"})

    assert module.contents.get().item.title == "Intro"


def test_adding_a_youtube_video_works(instructor_client, module):
    url = reverse("module_content_create", args=[module.pk, "video"])

    instructor_client.post(url, {"title": "Clip", "url": "https://youtu.be/dQw4w9WgXcQ"})

    assert Video.objects.get().embed_url.endswith("/dQw4w9WgXcQ")


def test_a_video_elsewhere_than_youtube_or_vimeo_is_a_form_error(instructor_client, module):
    url = reverse("module_content_create", args=[module.pk, "video"])

    response = instructor_client.post(url, {"title": "Clip", "url": "https://evil.test/v.mp4"})

    assert "url" in response.context["form"].errors
    assert not Content.objects.exists()


def test_adding_an_image_stores_it(instructor_client, module, media_root):
    url = reverse("module_content_create", args=[module.pk, "image"])

    instructor_client.post(url, {"title": "Picture", "file": png_upload()})

    assert module.contents.get().item.width == 4


def test_adding_a_file_stores_it(instructor_client, module, media_root):
    url = reverse("module_content_create", args=[module.pk, "file"])

    instructor_client.post(url, {"title": "Notes", "file": upload("notes.txt", b"hello")})

    assert module.contents.get().item.file.read() == b"hello"


def test_editing_a_content_saves_the_item(instructor_client, content):
    url = reverse("module_content_update", args=[content.module_id, "text", content.object_id])

    instructor_client.post(url, {"title": "Renamed", "content": "New text"})

    assert Text.objects.get(pk=content.object_id).title == "Renamed"


def test_editing_an_item_through_another_module_is_not_found(instructor_client, content):
    other_module = ModuleFactory(course=content.module.course)
    url = reverse("module_content_update", args=[other_module.pk, "text", content.object_id])

    assert instructor_client.get(url).status_code == 404


def test_deleting_a_content_removes_it_and_its_item(instructor_client, content):
    instructor_client.post(reverse("module_content_delete", args=[content.pk]))

    assert not Content.objects.exists()
    assert not Text.objects.exists()


def test_deleting_a_content_by_get_is_not_allowed(instructor_client, content):
    assert (
        instructor_client.get(reverse("module_content_delete", args=[content.pk])).status_code
        == 405
    )
