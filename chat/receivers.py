"""Access changes close sockets at once: each publishes an access event after commit.

Decoupled through signals because the changes happen in other apps (log-out, unenrolment,
deactivation, account deletion, course changes) and in the admin, whatever path they take.
"""

from django.conf import settings
from django.contrib.auth import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from courses.models import Course
from students.models import Enrollment

from .models import Attachment
from .selectors import CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_FOUND
from .services import access_changed, reactions_remove_for_user


@receiver(user_logged_out)
def close_sockets_of_session(sender, request, user, **kwargs):
    if user is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    # Only the sockets this browser session opened: the user's other sessions stay logged in.
    if session_key:
        access_changed(user_id=user.pk, session_key=session_key, close=CLOSE_NOT_AUTHENTICATED)


@receiver(post_delete, sender=Enrollment)
def recheck_sockets_of_unenrolled(sender, instance, **kwargs):
    access_changed(user_id=instance.student_id, course_id=instance.course_id)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def recheck_sockets_of_changed_user(sender, instance, created, update_fields=None, **kwargs):
    # Deactivation and password changes end access; a log-in only touches last_login.
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    access_changed(user_id=instance.pk)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def remove_reactions_of_deleted_user(sender, instance, **kwargs):
    # Before the rows cascade away: the messages' reaction lists still name the user.
    reactions_remove_for_user(user=instance)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def close_sockets_of_deleted_user(sender, instance, **kwargs):
    access_changed(user_id=instance.pk, close=CLOSE_NOT_AUTHENTICATED)


@receiver(post_delete, sender=Token)
def recheck_sockets_of_token_owner(sender, instance, **kwargs):
    access_changed(user_id=instance.user_id)


@receiver(post_save, sender=Course)
def recheck_room_of_changed_course(sender, instance, created, raw=False, **kwargs):
    # Unpublishing or a new owner can take the room away from its members.
    if not created and not raw:
        access_changed(course_id=instance.pk)


@receiver(post_delete, sender=Course)
def close_room_of_deleted_course(sender, instance, **kwargs):
    access_changed(course_id=instance.pk, close=CLOSE_NOT_FOUND)


@receiver(post_delete, sender=Attachment)
def delete_attachment_files(sender, instance, **kwargs):
    # However the row goes (pruning, a course's deletion cascading): only after commit, so that
    # a rolled-back delete loses no file.
    for field in (instance.file, instance.thumbnail):
        if field:
            storage, name = field.storage, field.name
            transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
