"""Writes to courses, modules and contents.

Every change takes a lock on its course row first and bumps Course.version in the same
transaction: the course row serialises order numbering, and caches key on the version.
"""

from collections import defaultdict
from collections.abc import Mapping

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Model
from django.http import Http404
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from .models import Content, Course, File, Image, ItemBase, Module, Question, Quiz, Subject
from .validators import RESERVED_SLUGS

INSTRUCTORS_GROUP = "Instructors"
SLUG_TAKEN = _("Another course already uses this slug.")
ORDER_UNKNOWN_IDS = _("Some of these ids are not yours, or do not exist.")

_SLUG_MAX_LENGTH = Course._meta.get_field("slug").max_length
_SLUG_ATTEMPTS = 5


# --- internals --------------------------------------------------------------------------------


def _course_lock(course_id: int) -> Course:
    """Lock the course row until the end of the transaction (precondition: inside atomic).

    Http404 if the course is gone: deleted by another request since the caller fetched it.
    """
    course = Course.objects.select_for_update().filter(pk=course_id).first()
    if course is None:
        raise Http404(_("No such course."))
    return course


def _course_version_bump(course_id: int) -> None:
    Course.objects.filter(pk=course_id).update(version=F("version") + 1)


def course_slug_generate(*, title: str, exclude_pk: int | None = None) -> str:
    """A free slug for the title: its slugified form, then -2, -3... never a reserved word."""
    base = slugify(title)[: _SLUG_MAX_LENGTH - 8].strip("-") or "course"
    taken = set(
        Course.objects.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    slug, number = base, 1
    while slug in taken or slug in RESERVED_SLUGS:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _course_save_with_slug(course: Course, *, slug: str, update_fields=None) -> None:
    """Save with the given slug, or a generated one retried if another save takes it first."""
    for attempt in range(_SLUG_ATTEMPTS):
        course.slug = slug or course_slug_generate(title=course.title, exclude_pk=course.pk)
        course.full_clean()
        try:
            with transaction.atomic():
                course.save(update_fields=update_fields)
            return
        except IntegrityError:
            # Only a concurrent save of the same slug gets here: full_clean saw it free.
            if slug or attempt == _SLUG_ATTEMPTS - 1:
                raise ValidationError({"slug": SLUG_TAKEN}) from None


@transaction.atomic
def course_touch(*, course: Course) -> None:
    """Lock the course and bump its version: for changes made outside these services (admin)."""
    _course_lock(course.pk)
    _course_version_bump(course.pk)


@transaction.atomic
def course_touch_for_item(*, item: ItemBase) -> None:
    """course_touch for every course showing the item."""
    course_ids = Content.objects.filter(
        content_type=ContentType.objects.get_for_model(item), object_id=item.pk
    ).values_list("module__course_id", flat=True)
    for course_id in sorted(set(course_ids)):
        _course_lock(course_id)
        _course_version_bump(course_id)


# --- instructors ------------------------------------------------------------------------------


def instructor_promote(*, user) -> bool:
    """Put the user in the Instructors group (made by a migration); False if already there."""
    group = Group.objects.get(name=INSTRUCTORS_GROUP)
    if user.groups.filter(pk=group.pk).exists():
        return False
    user.groups.add(group)
    return True


# --- courses ----------------------------------------------------------------------------------


@transaction.atomic
def course_create(*, owner, subject: Subject, title: str, overview: str, slug: str = "") -> Course:
    """A new draft course; a blank slug is generated from the title."""
    course = Course(owner=owner, subject=subject, title=title, overview=overview)
    _course_save_with_slug(course, slug=slug)
    return course


@transaction.atomic
def course_update(
    *, course: Course, subject: Subject, title: str, overview: str, slug: str = ""
) -> Course:
    """Change the course's fields; a blank slug is generated from the (new) title."""
    locked = _course_lock(course.pk)
    course.subject, course.title, course.overview = subject, title, overview
    course.version = locked.version + 1
    _course_save_with_slug(
        course, slug=slug, update_fields=["subject", "title", "overview", "slug", "version"]
    )
    return course


@transaction.atomic
def course_delete(*, course: Course) -> None:
    """Delete the course with its modules, contents, items, files and enrollments."""
    _course_lock(course.pk)
    course.delete()


def _course_set_status(course: Course, status: str) -> Course:
    locked = _course_lock(course.pk)
    if locked.status != status:
        course.status = status
        course.version = locked.version + 1
        course.save(update_fields=["status", "version"])
    else:
        course.status, course.version = locked.status, locked.version
    return course


@transaction.atomic
def course_publish(*, course: Course) -> Course:
    """Make the course visible in the catalogue (publishing twice changes nothing)."""
    return _course_set_status(course, Course.Status.PUBLISHED)


@transaction.atomic
def course_unpublish(*, course: Course) -> Course:
    """Back to draft: only the owner sees it; enrollments stay."""
    return _course_set_status(course, Course.Status.DRAFT)


# --- modules ----------------------------------------------------------------------------------


@transaction.atomic
def module_create(*, course: Course, title: str, description: str = "") -> Module:
    """A new module after the course's last one."""
    _course_lock(course.pk)
    module = Module(course=course, title=title, description=description)
    module.full_clean(exclude=["order"])
    module.save()
    _course_version_bump(course.pk)
    return module


@transaction.atomic
def module_update(*, module: Module, title: str, description: str = "") -> Module:
    _course_lock(module.course_id)
    module.title, module.description = title, description
    module.full_clean(exclude=["order"])
    module.save(update_fields=["title", "description"])
    _course_version_bump(module.course_id)
    return module


@transaction.atomic
def module_delete(*, module: Module) -> None:
    """Delete the module with its contents, items and files."""
    _course_lock(module.course_id)
    module.delete()
    _course_version_bump(module.course_id)


@transaction.atomic
def module_formset_save(*, course: Course, formset) -> list[Module]:
    """Apply a valid inline formset of the course's modules: deletions, edits, additions.

    New modules go after the last one. Returns the modules saved (new or changed).
    """
    _course_lock(course.pk)
    saved = formset.save()
    if saved or formset.deleted_objects:
        _course_version_bump(course.pk)
    return saved


# --- contents ---------------------------------------------------------------------------------


@transaction.atomic
def content_create(*, module: Module, item: ItemBase) -> Content:
    """Save an unsaved item (owned by the course's owner) as the module's last content."""
    course = _course_lock(module.course_id)
    item.owner_id = course.owner_id
    item.full_clean()
    item.save()
    content = Content(module=module, item=item)
    content.save()
    _course_version_bump(course.pk)
    return content


def _stored_file_name(item: ItemBase) -> str | None:
    if not isinstance(item, File | Image):
        return None
    return type(item).objects.filter(pk=item.pk).values_list("file", flat=True).first()


@transaction.atomic
def content_update(*, content: Content, item: ItemBase) -> Content:
    """Save the content's changed item; a replaced upload is deleted after commit."""
    _course_lock(content.module.course_id)
    if item.pk != content.object_id or item.kind != content.kind:
        raise ValueError("The item is not the one this content shows.")
    old_name = _stored_file_name(item)
    item.full_clean()
    item.save()
    if old_name and old_name != item.file.name:
        storage = item.file.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    _course_version_bump(content.module.course_id)
    content.item = item
    return content


@transaction.atomic
def content_delete(*, content: Content) -> None:
    """Delete the content with its item and file."""
    course_id = content.module.course_id
    _course_lock(course_id)
    content.delete()
    _course_version_bump(course_id)


# --- quizzes ----------------------------------------------------------------------------------


def _questions_save(*, quiz: Quiz, formset) -> None:
    """Apply a valid question formset: deletions, edits, additions, numbered in its order."""
    for form in formset.deleted_forms:
        if form.instance.pk is not None:
            form.instance.delete()
    # Two passes, as in _renumber: every kept question first moves above the numbers in use.
    above = (Question.objects.filter(quiz=quiz).aggregate(Max("order"))["order__max"] or 0) + 1
    Question.objects.filter(quiz=quiz).update(order=F("order") + above)
    for position, form in enumerate(formset.ordered_forms):
        question = form.save(commit=False)
        question.quiz, question.order = quiz, position
        question.save()


@transaction.atomic
def quiz_save(*, module: Module, content: Content | None, quiz: Quiz, question_formset) -> Content:
    """Create (content None) or update a quiz with its questions, from a valid QuizForm's
    unsaved quiz and a valid QuestionFormSet. Attempts already made keep their own copy."""
    if content is None:
        content = content_create(module=module, item=quiz)
    else:
        content = content_update(content=content, item=quiz)
    _questions_save(quiz=quiz, formset=question_formset)
    return content


@transaction.atomic
def quiz_save_with_questions(
    *, module: Module, content: Content | None, quiz: Quiz, questions: list[dict] | None
) -> Content:
    """Create (content None) or update a quiz from validated data (the API's): `questions`,
    when given, replace all of its questions, numbered in their order."""
    if content is None:
        content = content_create(module=module, item=quiz)
    else:
        content = content_update(content=content, item=quiz)
    if questions is not None:
        quiz.questions.all().delete()
        rows = [Question(quiz=quiz, order=n, **fields) for n, fields in enumerate(questions)]
        for row in rows:
            row.full_clean(exclude=["quiz", "order"])
        Question.objects.bulk_create(rows)
    return content


# --- ordering ---------------------------------------------------------------------------------


def _renumber(model: type[Model], parent_field: str, parent_id: int, wanted: Mapping[int, int]):
    """Number the parent's rows 0..n-1: the wanted positions first, the others after in order.

    Two passes, so the unique (parent, order) constraint holds after every row update: first
    every row moves above the highest number in use, then each takes its final number.
    """
    rows = list(model.objects.filter(**{parent_field: parent_id}).order_by("order", "pk"))
    rows.sort(key=lambda row: (wanted.get(row.pk, row.order), row.pk not in wanted))
    if all(row.order == position for position, row in enumerate(rows)):
        return False
    above = max(row.order for row in rows) + 1
    model.objects.filter(**{parent_field: parent_id}).update(order=F("order") + above)
    for position, row in enumerate(rows):
        row.order = position
    model.objects.bulk_update(rows, ["order"])
    return True


@transaction.atomic
def module_reorder(*, owner, orders: Mapping[int, int]) -> None:
    """Move the owner's modules to the given positions ({module id: order}) in their courses.

    Each course ends numbered 0..n-1; Http404 if any id is unknown or someone else's.
    """
    course_of = dict(
        Module.objects.filter(pk__in=orders, course__owner=owner).values_list("pk", "course_id")
    )
    if len(course_of) != len(orders):
        raise Http404(ORDER_UNKNOWN_IDS)
    for course_id in sorted(set(course_of.values())):
        _course_lock(course_id)
        wanted = {pk: order for pk, order in orders.items() if course_of[pk] == course_id}
        if _renumber(Module, "course_id", course_id, wanted):
            _course_version_bump(course_id)


@transaction.atomic
def content_reorder(*, owner, orders: Mapping[int, int]) -> None:
    """Move the owner's contents to the given positions ({content id: order}) in their modules.

    Each module ends numbered 0..n-1; Http404 if any id is unknown or someone else's.
    """
    rows = Content.objects.filter(pk__in=orders, module__course__owner=owner).values_list(
        "pk", "module_id", "module__course_id"
    )
    module_of, course_of_module = {}, {}
    for pk, module_id, course_id in rows:
        module_of[pk] = module_id
        course_of_module[module_id] = course_id
    if len(module_of) != len(orders):
        raise Http404(ORDER_UNKNOWN_IDS)
    modules_by_course = defaultdict(set)
    for module_id, course_id in course_of_module.items():
        modules_by_course[course_id].add(module_id)
    for course_id in sorted(modules_by_course):
        _course_lock(course_id)
        changed = False
        for module_id in sorted(modules_by_course[course_id]):
            wanted = {pk: order for pk, order in orders.items() if module_of[pk] == module_id}
            changed |= _renumber(Content, "module_id", module_id, wanted)
        if changed:
            _course_version_bump(course_id)
