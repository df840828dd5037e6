import pytest
from django.core.exceptions import ValidationError

from courses import services
from courses.models import Content, Course, Image, Text, Video
from tests.factories import (
    ContentFactory,
    CourseFactory,
    InstructorFactory,
    ModuleFactory,
    SubjectFactory,
    UserFactory,
)

from .uploads import files_on_disk, png_upload

pytestmark = pytest.mark.django_db


def version_of(course) -> int:
    return Course.objects.values_list("version", flat=True).get(pk=course.pk)


def create_course(title="Learning Python", slug="", owner=None):
    return services.course_create(
        owner=owner or InstructorFactory(),
        subject=SubjectFactory(),
        title=title,
        overview="An overview.",
        slug=slug,
    )


# --- slugs ------------------------------------------------------------------------------------


def test_a_blank_slug_is_made_from_the_title():
    assert create_course("Learning Python").slug == "learning-python"


def test_a_taken_slug_gets_a_number():
    create_course("Learning Python")

    assert create_course("Learning Python").slug == "learning-python-2"


def test_numbers_continue_after_the_last_taken_one():
    for _ in range(2):
        create_course("Learning Python")

    assert create_course("Learning Python").slug == "learning-python-3"


@pytest.mark.parametrize("title", ["Mine", "Create", "Module", "Content", "Subject", "Order"])
def test_a_title_that_is_a_url_word_never_becomes_the_slug(title):
    assert create_course(title).slug == f"{title.lower()}-2"


def test_a_title_without_latin_letters_still_gets_a_slug():
    assert create_course("日本語").slug == "course"


def test_a_very_long_title_gets_a_slug_that_fits_with_its_number():
    create_course("x" * 200)

    second = create_course("x" * 200)

    assert second.slug.endswith("-2")
    assert len(second.slug) <= Course._meta.get_field("slug").max_length


def test_a_reserved_slug_given_explicitly_is_refused():
    with pytest.raises(ValidationError) as error:
        create_course(slug="mine")

    assert "slug" in error.value.message_dict


def test_a_taken_slug_given_explicitly_is_refused():
    create_course(slug="python")

    with pytest.raises(ValidationError) as error:
        create_course(slug="python")

    assert "slug" in error.value.message_dict


def test_editing_with_a_blank_slug_remakes_it_from_the_new_title():
    course = create_course("Old title")

    services.course_update(
        course=course, subject=course.subject, title="New title", overview="x", slug=""
    )

    assert Course.objects.get(pk=course.pk).slug == "new-title"


def test_editing_keeps_the_slug_it_is_given():
    course = create_course("Old title")

    services.course_update(
        course=course, subject=course.subject, title="New title", overview="x", slug="old-title"
    )

    assert Course.objects.get(pk=course.pk).slug == "old-title"


# --- courses ----------------------------------------------------------------------------------


def test_a_new_course_is_a_draft_of_its_owner():
    owner = InstructorFactory()

    course = create_course(owner=owner)

    assert (course.status, course.owner) == (Course.Status.DRAFT, owner)


def test_editing_a_course_bumps_its_version():
    course = CourseFactory()

    services.course_update(
        course=course, subject=course.subject, title="Renamed", overview="x", slug=course.slug
    )

    assert version_of(course) == 2


def test_publishing_makes_the_course_public_and_bumps_its_version():
    course = CourseFactory(status=Course.Status.DRAFT)

    services.course_publish(course=course)

    course.refresh_from_db()
    assert (course.status, course.version) == (Course.Status.PUBLISHED, 2)


def test_publishing_a_published_course_changes_nothing():
    course = CourseFactory(status=Course.Status.PUBLISHED)

    services.course_publish(course=course)

    assert version_of(course) == 1


def test_unpublishing_returns_the_course_to_draft_and_bumps_its_version():
    course = CourseFactory(status=Course.Status.PUBLISHED)

    services.course_unpublish(course=course)

    course.refresh_from_db()
    assert (course.status, course.version) == (Course.Status.DRAFT, 2)


def test_promoting_a_user_puts_them_in_the_instructors_group():
    user = UserFactory()

    services.instructor_promote(user=user)

    assert user.has_perm("courses.add_course")


# --- modules ----------------------------------------------------------------------------------


def test_a_new_module_goes_after_the_last_one():
    course = CourseFactory()
    ModuleFactory(course=course, order=4)

    module = services.module_create(course=course, title="Next")

    assert module.order == 5


def test_creating_a_module_bumps_the_course_version():
    course = CourseFactory()

    services.module_create(course=course, title="First")

    assert version_of(course) == 2


def test_editing_a_module_bumps_the_course_version():
    module = ModuleFactory()

    services.module_update(module=module, title="Renamed", description="")

    assert version_of(module.course) == 2


def test_deleting_a_module_bumps_the_course_version():
    module = ModuleFactory()

    services.module_delete(module=module)

    assert version_of(module.course) == 2


def test_a_module_title_is_required():
    with pytest.raises(ValidationError):
        services.module_create(course=CourseFactory(), title="")


# --- contents ---------------------------------------------------------------------------------


def test_a_new_content_belongs_to_the_course_owner_whoever_made_the_item():
    module = ModuleFactory()

    content = services.content_create(
        module=module, item=Text(owner=UserFactory(), title="Intro", content="Hi")
    )

    assert content.item.owner == module.course.owner


def test_a_new_content_goes_after_the_last_one_of_its_module():
    module = ModuleFactory()
    ContentFactory(module=module)

    content = services.content_create(module=module, item=Text(title="Intro", content="Hi"))

    assert content.order == 1


def test_creating_a_content_bumps_the_course_version():
    module = ModuleFactory()

    services.content_create(module=module, item=Text(title="Intro", content="Hi"))

    assert version_of(module.course) == 2


def test_an_invalid_item_is_not_saved():
    module = ModuleFactory()

    with pytest.raises(ValidationError):
        services.content_create(module=module, item=Video(title="Clip", url="https://evil.test/"))

    assert not Content.objects.exists()


def test_editing_a_content_bumps_the_course_version():
    content = ContentFactory()
    item = content.item
    item.title = "Renamed"

    services.content_update(content=content, item=item)

    assert version_of(content.module.course) == 2


def test_editing_a_content_refuses_an_item_it_does_not_show():
    content = ContentFactory()
    other = ContentFactory().item

    with pytest.raises(ValueError):
        services.content_update(content=content, item=other)


def test_replacing_an_image_deletes_the_old_file_after_commit(
    media_root, django_capture_on_commit_callbacks
):
    module = ModuleFactory()

    with django_capture_on_commit_callbacks(execute=True):
        content = services.content_create(
            module=module, item=Image(title="Picture", file=png_upload())
        )
    item = Image.objects.get(pk=content.object_id)
    item.file = png_upload("new.png")

    with django_capture_on_commit_callbacks(execute=True):
        services.content_update(content=content, item=item)

    assert [path.name for path in files_on_disk(media_root)] == [item.file.name.split("/")[-1]]


def test_deleting_a_content_bumps_the_course_version():
    content = ContentFactory()

    services.content_delete(content=content)

    assert version_of(content.module.course) == 2


def test_changing_an_item_elsewhere_bumps_every_course_that_shows_it():
    content = ContentFactory()

    services.course_touch_for_item(item=content.item)

    assert version_of(content.module.course) == 2
