from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from courses import selectors
from courses.models import Content, Course, Video
from tests.factories import (
    ContentFactory,
    CourseFactory,
    InstructorFactory,
    ModuleFactory,
    QuizContentFactory,
    SubjectFactory,
    TextFactory,
)

pytestmark = pytest.mark.django_db


def test_the_catalogue_leaves_out_drafts():
    published = CourseFactory()
    CourseFactory(status=Course.Status.DRAFT)

    assert list(selectors.course_list_published()) == [published]


def test_the_catalogue_lists_the_newest_course_first():
    older, newer = CourseFactory(), CourseFactory()
    Course.objects.filter(pk=newer.pk).update(created=timezone.now() - timedelta(days=2))
    Course.objects.filter(pk=older.pk).update(created=timezone.now() - timedelta(days=3))

    assert list(selectors.course_list_published()) == [newer, older]


def test_courses_created_at_the_same_moment_come_newest_id_first():
    first, second = CourseFactory(), CourseFactory()
    Course.objects.update(created=timezone.now())

    assert list(selectors.course_list_published()) == [second, first]


def test_the_catalogue_counts_each_course_modules():
    course = CourseFactory()
    ModuleFactory.create_batch(3, course=course)

    assert selectors.course_list_published().get().module_count == 3


def test_a_course_without_modules_counts_zero():
    CourseFactory()

    assert selectors.course_list_published().get().module_count == 0


def test_the_catalogue_of_a_subject_has_only_its_courses():
    music = SubjectFactory()
    in_music = CourseFactory(subject=music)
    CourseFactory()

    assert list(selectors.course_list_published(subject=music)) == [in_music]


def test_a_search_finds_words_of_the_title_in_any_case():
    python = CourseFactory(title="Learning Python")
    CourseFactory(title="Piano")

    assert list(selectors.course_list_published(query="PYTHON")) == [python]


def test_a_search_finds_words_of_the_overview():
    course = CourseFactory(overview="Scales and chords.")
    CourseFactory()

    assert list(selectors.course_list_published(query="chords")) == [course]


def test_a_nul_character_in_a_search_is_ignored():
    python = CourseFactory(title="Python")

    assert list(selectors.course_list_published(query="Pyt\x00hon")) == [python]


def test_subjects_count_only_their_published_courses():
    subject = SubjectFactory()
    CourseFactory(subject=subject)
    CourseFactory(subject=subject, status=Course.Status.DRAFT)

    counted = selectors.subject_list_with_course_counts().get(pk=subject.pk)

    assert counted.course_count == 1


def test_an_unknown_subject_is_not_found():
    with pytest.raises(Http404):
        selectors.subject_get(slug="nothing")


def test_a_draft_is_visible_to_its_owner():
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert selectors.course_get_for_viewer(user=draft.owner, slug=draft.slug) == draft


@pytest.mark.parametrize("viewer", ["anonymous", "another instructor"])
def test_a_draft_is_not_found_for_anyone_else(viewer):
    draft = CourseFactory(status=Course.Status.DRAFT)
    user = AnonymousUser() if viewer == "anonymous" else InstructorFactory()

    with pytest.raises(Http404):
        selectors.course_get_for_viewer(user=user, slug=draft.slug)


def test_the_owner_gets_their_course():
    course = CourseFactory()

    assert selectors.course_get_for_owner(owner=course.owner, course_id=course.pk) == course


def test_another_instructors_course_is_not_found():
    course = CourseFactory()

    with pytest.raises(Http404):
        selectors.course_get_for_owner(owner=InstructorFactory(), course_id=course.pk)


def test_another_instructors_module_is_not_found():
    module = ModuleFactory()

    with pytest.raises(Http404):
        selectors.module_get_for_owner(owner=InstructorFactory(), module_id=module.pk)


def test_another_instructors_content_is_not_found():
    content = ContentFactory()

    with pytest.raises(Http404):
        selectors.content_get_for_owner(owner=InstructorFactory(), content_id=content.pk)


def test_an_item_is_found_through_its_module_and_kind():
    content = ContentFactory()

    found = selectors.content_get_for_owner_by_item(
        owner=content.module.course.owner,
        module_id=content.module_id,
        kind="text",
        item_id=content.object_id,
    )

    assert (found, found.item) == (content, content.item)


def test_an_item_asked_for_under_another_kind_is_not_found():
    content = ContentFactory()

    with pytest.raises(Http404):
        selectors.content_get_for_owner_by_item(
            owner=content.module.course.owner,
            module_id=content.module_id,
            kind="video",
            item_id=content.object_id,
        )


def test_an_item_asked_for_under_another_module_is_not_found():
    content = ContentFactory()
    other_module = ModuleFactory(course=content.module.course)

    with pytest.raises(Http404):
        selectors.content_get_for_owner_by_item(
            owner=content.module.course.owner,
            module_id=other_module.pk,
            kind="text",
            item_id=content.object_id,
        )


def test_the_owners_list_has_only_their_courses_drafts_included():
    owner = InstructorFactory()
    mine = [CourseFactory(owner=owner), CourseFactory(owner=owner, status=Course.Status.DRAFT)]
    CourseFactory()

    assert set(selectors.course_list_for_owner(owner=owner)) == set(mine)


def test_module_contents_come_in_order_with_their_items():
    module = ModuleFactory()
    first, second = ContentFactory(module=module), ContentFactory(module=module)
    first.order, second.order = 5, 1
    first.save(), second.save()

    contents = list(selectors.content_list_for_module(module=module))

    assert [(c.pk, c.item.title) for c in contents] == [
        (second.pk, second.item.title),
        (first.pk, first.item.title),
    ]


# --- the course page's summary ------------------------------------------------------------------


def _video(course):
    return Video.objects.create(owner=course.owner, title="Talk", url="https://youtu.be/abc")


def test_the_summary_counts_modules_and_contents_by_kind():
    course = CourseFactory()
    first, second = ModuleFactory(course=course), ModuleFactory(course=course)
    ContentFactory.create_batch(2, module=first)
    ContentFactory(module=second, item=_video(course))
    ModuleFactory(course=course)  # empty

    summary = selectors.course_summary(course=course)

    assert summary.module_count == 3
    assert summary.content_counts == {"text": 2, "video": 1}
    assert summary.module_content_counts[first.pk] == 2
    assert summary.module_content_counts[second.pk] == 1


def test_the_estimated_length_reads_text_at_200_words_a_minute_plus_a_figure_per_video():
    course = CourseFactory()
    module = ModuleFactory(course=course)
    ContentFactory(module=module, item=TextFactory(owner=course.owner, content="word " * 500))
    ContentFactory(module=module, item=_video(course))

    # 500 words / 200 a minute = 2.5 minutes, plus 10 for the video, rounded up.
    assert selectors.course_summary(course=course).minutes == 13


def test_the_summary_of_an_empty_course_is_zero():
    summary = selectors.course_summary(course=CourseFactory())

    assert (summary.module_count, summary.content_counts, summary.minutes) == (0, {}, 0)


def test_the_summary_leaves_out_other_courses_contents():
    ContentFactory()
    course = CourseFactory()
    ContentFactory(module=ModuleFactory(course=course))

    assert selectors.course_summary(course=course).content_counts == {"text": 1}


def test_a_quiz_counts_as_a_kind_of_its_own_and_ten_minutes():
    course = CourseFactory()
    QuizContentFactory(module=ModuleFactory(course=course))

    summary = selectors.course_summary(course=course)

    assert (summary.content_counts, summary.minutes) == ({"quiz": 1}, 10)


def test_content_titles_come_from_each_kind_of_item_in_one_query(django_assert_num_queries):
    module = ModuleFactory()
    text = ContentFactory(module=module, item__title="A text")
    quiz = QuizContentFactory(module=module, item__title="A quiz")
    video = Video.objects.create(
        owner=module.course.owner, title="A video", url="https://www.youtube.com/watch?v=x"
    )
    video_content = Content.objects.create(module=module, item=video)
    contents = Content.objects.filter(module=module)

    with django_assert_num_queries(1):
        titles = dict(selectors.content_titles_annotate(contents).values_list("pk", "item_title"))

    assert titles == {text.pk: "A text", quiz.pk: "A quiz", video_content.pk: "A video"}
