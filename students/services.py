"""Writes about students: accounts, throttles, enrollments and progress."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac
from rest_framework.authtoken.models import Token

from courses.models import Content, Course, Module
from educa.ratelimit import rate_parse, throttle_acquire

from .models import ContentCompletion, Enrollment

COURSE_NOT_PUBLISHED = "This course is not open for enrollment."
OWNER_CANNOT_ENROLL = "You teach this course; instructors do not enroll in their own courses."
OWNER_CANNOT_UNENROLL = "You teach this course; you cannot leave it."
EMAIL_REQUIRED = "Enter an e-mail address."
EMAIL_TAKEN = "An account with this e-mail address already exists."
OWNER_OF_COURSES = (
    "You still own courses. Delete them, or ask an administrator to hand them over, "
    "before deleting your account."
)

EMAIL_THROTTLED = (
    "Too many e-mails have been asked for this address or from your network. "
    "Please try again later."
)

User = get_user_model()


# --- throttles --------------------------------------------------------------------------------


def _throttle_key(*, action: str, subject: str) -> str:
    # Hashed: the throttle store must not become a list of every address anyone typed.
    digest = salted_hmac("students.throttle", subject, algorithm="sha256").hexdigest()
    return f"email:{action}:{digest}"


def email_throttle_check(*, action: str, email: str, client_ip: str | None) -> None:
    """Count one e-mail of `action` to `email` asked for from `client_ip`.

    Raises ValidationError(EMAIL_THROTTLED) once the client address (EMAIL_THROTTLE_PER_CLIENT)
    or the e-mail address (EMAIL_THROTTLE_PER_ADDRESS) has had its share. A refused client is
    not counted against the address, so one client cannot use up an address's share alone.
    The counts live in Redis (educa.ratelimit), kept across restarts of the application; while
    Redis does not answer, each process counts on its own rather than refuse every e-mail.
    """
    limits = [(f"address:{email.strip().lower()}", settings.EMAIL_THROTTLE_PER_ADDRESS)]
    if client_ip:
        limits.insert(0, (f"client:{client_ip}", settings.EMAIL_THROTTLE_PER_CLIENT))
    for subject, rate in limits:
        key = _throttle_key(action=action, subject=subject)
        if throttle_acquire(key, rate_parse(rate), local_while_down=True):
            raise ValidationError(EMAIL_THROTTLED, code="throttled")


# --- accounts ---------------------------------------------------------------------------------


def _check_email_free(*, email: str, user=None) -> None:
    others = User.objects.filter(email__iexact=email)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ValidationError({"email": EMAIL_TAKEN})


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User:
    """Create a student account with a usable password; the e-mail must be unused."""
    email = User.objects.normalize_email(email)
    if not email:
        raise ValidationError({"email": EMAIL_REQUIRED})
    _check_email_free(email=email)
    user = User(username=username, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_profile_update(*, user, first_name: str, last_name: str, email: str) -> User:
    """Change the user's name and e-mail; the e-mail must not belong to anyone else."""
    email = User.objects.normalize_email(email)
    # Required here although Django's User allows it blank: password reset depends on it.
    if not email:
        raise ValidationError({"email": EMAIL_REQUIRED})
    _check_email_free(email=email, user=user)
    user.first_name = first_name
    user.last_name = last_name
    user.email = email
    user.full_clean()
    user.save(update_fields=["first_name", "last_name", "email"])
    return user


@transaction.atomic
def user_delete(*, user) -> None:
    """Delete the account with its enrollments and progress.

    Refused while the user owns courses: deleting them would take other students' enrollments.
    """
    if Course.objects.filter(owner=user).exists():
        raise ValidationError(OWNER_OF_COURSES)
    user.delete()


# --- enrollments ------------------------------------------------------------------------------


def _row_create_once(model, **fields):
    """The row with these fields, created (validated) when missing.

    The unique constraint is left to the insert, which settles a concurrent double click.
    """
    existing = model.objects.filter(**fields).first()
    if existing is not None:
        return existing
    row = model(**fields)
    row.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return model.objects.get(**fields)
    return row


@transaction.atomic
def enrollment_create(*, student, course: Course) -> Enrollment:
    """Enroll the student in a published course; enrolling again returns the same enrollment."""
    if course.owner_id == student.pk:
        raise ValidationError(OWNER_CANNOT_ENROLL)
    if not course.is_published:
        raise ValidationError(COURSE_NOT_PUBLISHED)
    return _row_create_once(Enrollment, student=student, course=course)


@transaction.atomic
def enrollment_delete(*, student, course: Course) -> None:
    """Unenroll the student; harmless when not enrolled. Progress is kept for a return."""
    if course.owner_id == student.pk:
        raise ValidationError(OWNER_CANNOT_UNENROLL)
    Enrollment.objects.filter(student=student, course=course).delete()


def enrollment_visit_module(*, student, module: Module) -> None:
    """Remember the module as where the student left off (no-op for non-enrolled users)."""
    Enrollment.objects.filter(student=student, course_id=module.course_id).exclude(
        last_module=module
    ).update(last_module=module)


# --- progress ---------------------------------------------------------------------------------


@transaction.atomic
def content_completion_create(*, student, content: Content) -> ContentCompletion:
    """Mark the content done for the student; marking it again changes nothing.

    Precondition: the student is a member of the content's course (content_get_for_member).
    """
    return _row_create_once(ContentCompletion, student=student, content=content)


@transaction.atomic
def content_completion_delete(*, student, content: Content) -> None:
    """Mark the content not done for the student; harmless when it was not done."""
    ContentCompletion.objects.filter(student=student, content=content).delete()


# --- API tokens -------------------------------------------------------------------------------


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's API token (made on first use); it also authenticates WebSocket clients."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_revoke(*, user) -> None:
    """Delete the user's API token; harmless when there is none. Sockets it opened close."""
    Token.objects.filter(user=user).delete()
