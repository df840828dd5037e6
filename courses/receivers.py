"""Cache invalidation for what the services do not version themselves.

The public lists (subjects with course counts, course lists with module counts, instructor
names) change with any saved or deleted course, any added or removed module, any subject and
any instructor's name: each bumps Catalogue.version in the transaction of the change. Subjects
and names also show on course pages, so they bump the version of the courses showing them.
Locks are taken course rows first (by id), the catalogue row last, like the services do.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .cache import catalogue_version_bump
from .models import Course, Module, Subject

# User fields shown on course pages and lists.
_SHOWN_USER_FIELDS = frozenset({"username", "first_name", "last_name"})


def _courses_version_bump(courses) -> None:
    # Joins the caller's transaction (a password change saves its user without one).
    with transaction.atomic():
        course_ids = list(courses.select_for_update().order_by("pk").values_list("pk", flat=True))
        if course_ids:
            Course.objects.filter(pk__in=course_ids).update(version=F("version") + 1)


@receiver(post_save, sender=Course, dispatch_uid="courses.cache.course_saved")
@receiver(post_delete, sender=Course, dispatch_uid="courses.cache.course_deleted")
def catalogue_changed_by_course(sender, **kwargs):
    catalogue_version_bump()


@receiver(post_save, sender=Module, dispatch_uid="courses.cache.module_saved")
def catalogue_changed_by_new_module(sender, created, **kwargs):
    # Lists show module counts; a renamed or moved module changes nothing there.
    if created:
        catalogue_version_bump()


@receiver(post_delete, sender=Module, dispatch_uid="courses.cache.module_deleted")
def catalogue_changed_by_module_removal(sender, **kwargs):
    catalogue_version_bump()


@receiver(post_save, sender=Subject, dispatch_uid="courses.cache.subject_saved")
def courses_changed_by_subject(sender, instance, created, **kwargs):
    if not created:
        _courses_version_bump(Course.objects.filter(subject=instance))
    catalogue_version_bump()


@receiver(post_delete, sender=Subject, dispatch_uid="courses.cache.subject_deleted")
def catalogue_changed_by_subject_removal(sender, **kwargs):
    catalogue_version_bump()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="courses.cache.user_saved")
def courses_changed_by_instructor_name(sender, instance, created, update_fields, **kwargs):
    # Log-ins save last_login alone: nothing shown changes.
    if created or (update_fields is not None and not _SHOWN_USER_FIELDS & set(update_fields)):
        return
    owned = Course.objects.filter(owner=instance)
    if owned.exists():
        _courses_version_bump(owned)
        catalogue_version_bump()
