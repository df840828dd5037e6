"""Writes about students: accounts, throttles, enrollments and progress."""

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from courses.models import Content, Course, Module
from educa.ratelimit import rate_parse, throttle_acquire
from educa.site import absolute_url, email_send

from .activation import activation_path, user_is_awaiting_activation
from .models import Certificate, ContentCompletion, CourseCompletion, Enrollment, Profile
from .usernames import username_clash_exists, username_skeleton_digest

COURSE_NOT_PUBLISHED = _("This course is not open for enrollment.")
OWNER_CANNOT_ENROLL = _("You teach this course; instructors do not enroll in their own courses.")
OWNER_CANNOT_UNENROLL = _("You teach this course; you cannot leave it.")
EMAIL_REQUIRED = _("Enter an e-mail address.")
EMAIL_TAKEN = _("An account with this e-mail address already exists.")
ACTIVATION_LINK_INVALID = _(
    "This confirmation link is wrong, has expired or was already used. If your account is "
    "not open yet, register again with the same e-mail address."
)
USERNAME_LOOKALIKE = _(
    "This user name is taken, or looks too much like one that is. Choose another."
)
CERTIFICATE_NAME_REQUIRED = _(
    "Enter your first and your last name as they should be printed on your certificates."
)
QUIZ_NOT_BY_HAND = _("A quiz is done when you pass it; it cannot be marked by hand.")
OWNER_OF_COURSES = _(
    "You still own courses. Delete them, or ask an administrator to hand them over, "
    "before deleting your account."
)

EMAIL_THROTTLED = _(
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


def _registrations_expired_delete(*, username: str, email: str) -> None:
    """Forget accounts never confirmed whose links have expired and that hold this user name
    (or a look-alike) or this address, so that neither stays taken by a dead registration."""
    joined_before = timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    expired = User.objects.filter(
        is_active=False, last_login__isnull=True, date_joined__lt=joined_before
    )
    expired.filter(
        Q(username_skeleton__digest=username_skeleton_digest(username)) | Q(email__iexact=email)
    ).delete()


def _check_username_free(*, username: str) -> None:
    if username_clash_exists(username=username):
        raise ValidationError({"username": USERNAME_LOOKALIKE})


def _registration_mail_send(*, template: str, user, path: str) -> None:
    """One registration e-mail (students/email/<template>*) to the user, linking to `path`."""
    email_send(
        template=f"students/email/{template}",
        context={"user": user, "link": absolute_url(path)},
        to=[user.email],
    )


def _registration_mail_to_owner(*, user) -> None:
    """What someone registering with an address in use makes us send to the address's owner."""
    if user_is_awaiting_activation(user):
        # They lost the first e-mail: the account they began is the one to confirm.
        template, path = "activation", activation_path(user=user)
    elif user.is_active:
        uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        template = "account_exists"
        path = reverse("password_reset_confirm", args=[uidb64, token])
    else:
        return  # deactivated by staff: as for a password reset, nothing is sent
    transaction.on_commit(partial(_registration_mail_send, template=template, user=user, path=path))


@transaction.atomic
def user_register(*, username: str, email: str, password: str) -> User | None:
    """Begin a student's registration: e-mail a link that activates the new, inactive account.

    An address in use gets no new account (None); its owner is e-mailed instead, so the answer
    tells nobody whether it is.
    """
    email = User.objects.normalize_email(email)
    if not email:
        raise ValidationError({"email": EMAIL_REQUIRED})
    _registrations_expired_delete(username=username, email=email)
    # Checked whoever owns the address: a user name refused only for new addresses would tell.
    _check_username_free(username=username)
    owner = User.objects.filter(email__iexact=email).order_by("pk").first()
    if owner is not None:
        make_password(password)  # as long as for a new account: the time tells nothing either
        _registration_mail_to_owner(user=owner)
        return None
    user = User(username=username, email=email, is_active=False)
    user.set_password(password)
    user.full_clean()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # The same name, or a look-alike, registered at the same moment.
        raise ValidationError({"username": USERNAME_LOOKALIKE}) from error
    transaction.on_commit(
        partial(
            _registration_mail_send,
            template="activation",
            user=user,
            path=activation_path(user=user),
        )
    )
    return user


@transaction.atomic
def user_activate(*, user) -> User:
    """Open an account whose registration was confirmed (activation.user_get_for_activation)."""
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_profile_update(
    *, user, first_name: str, last_name: str, email: str, language: str | None = None
) -> User:
    """Change the user's name and e-mail, and their language when given; the e-mail must not
    belong to anyone else."""
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
    certificates_issue_pending(student=user)
    if language is not None:
        profile_language_set(user=user, language=language)
    return user


@transaction.atomic
def user_delete(*, user) -> None:
    """Delete the account with its enrollments and progress.

    Refused while the user owns courses: deleting them would take other students' enrollments.
    """
    if Course.objects.filter(owner=user).exists():
        raise ValidationError(OWNER_OF_COURSES)
    user.delete()


def profile_language_set(*, user, language: str) -> Profile:
    """Save the language the site speaks to the user ("" = the browser's); one of LANGUAGES."""
    profile = Profile(user=user, language=language)
    profile.full_clean(validate_unique=False)
    Profile.objects.update_or_create(user=user, defaults={"language": language})
    return profile


# --- enrollments ------------------------------------------------------------------------------


def _row_create_once(model, **fields):
    """The row with these fields, created (validated) when missing.

    The unique constraint is left to the insert, which settles a concurrent double click.
    """
    existing = model.objects.filter(**fields).first()
    if existing is not None:
        return existing
    row = model(**fields)
    # Related rows given as model instances were read already: no query to see they exist.
    known = [name for name, value in fields.items() if isinstance(value, models.Model)]
    row.full_clean(exclude=known, validate_constraints=False)
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


def content_completion_create(
    *, student, content: Content, quiz_passed: bool = False
) -> ContentCompletion:
    """Mark the content done for the student; marking it again changes nothing.

    A quiz is done only when passed: quizzes.services says so with `quiz_passed`; by hand it
    is refused. The last content of a course an enrolled student marks done completes the course
    (course_completion_record). Precondition: the student is a member of the content's course
    (content_get_for_member).
    """
    if content.kind == "quiz" and not quiz_passed:
        raise ValidationError(QUIZ_NOT_BY_HAND, code="quiz")
    # No savepoint of its own inside a caller's transaction (a graded quiz attempt's): nothing
    # here is caught and carried on from, so a failure may as well undo the caller's work.
    with transaction.atomic(savepoint=False):
        completion = _row_create_once(ContentCompletion, student=student, content=content)
        course = content.module.course
        if _course_is_done(student=student, course=course):
            course_completion_record(student=student, course=course)
    return completion


@transaction.atomic
def content_completion_delete(*, student, content: Content) -> None:
    """Mark the content not done for the student; harmless when it was not done.

    Refused for a quiz: its completion records a pass.
    """
    if content.kind == "quiz":
        raise ValidationError(QUIZ_NOT_BY_HAND, code="quiz")
    ContentCompletion.objects.filter(student=student, content=content).delete()


# --- completion and certificates ----------------------------------------------------------


def _course_is_done(*, student, course: Course) -> bool:
    """True when an enrolled student has done every content of the course (one query, and one
    more for the enrollment only once every content is done)."""
    done = ContentCompletion.objects.filter(student=student, content=OuterRef("pk"))
    counts = Content.objects.filter(module__course=course).aggregate(
        total=Count("pk"), done=Count("pk", filter=Exists(done))
    )
    if counts["total"] == 0 or counts["done"] < counts["total"]:
        return False
    return Enrollment.objects.filter(student=student, course=course).exists()


@transaction.atomic(savepoint=False)  # as content_completion_create, its caller
def course_completion_record(*, student, course: Course) -> CourseCompletion:
    """Store that the student completed the course, once, with the certificate it earns.

    A completion already stored is returned as it is: its date never changes. The certificate
    waits while the student has no full name (certificates_issue_pending issues it later).
    Precondition: the student has done every content of the course.
    """
    completion = _row_create_once(CourseCompletion, student=student, course=course)
    _certificate_issue(student=student, course=course, completed=True)
    return completion


def _full_name(user) -> str:
    return f"{user.first_name.strip()} {user.last_name.strip()}"


def student_has_full_name(student) -> bool:
    """Whether a certificate can print the student's name: both first and last are given."""
    return bool(student.first_name.strip() and student.last_name.strip())


@transaction.atomic
def certificate_issue(*, student, course: Course) -> Certificate | None:
    """The student's certificate of a completed course, issued now if it is not yet.

    None while the student has no full name, or has not completed the course.
    """
    return _certificate_issue(student=student, course=course, completed=False)


def _certificate_issue(*, student, course: Course, completed: bool) -> Certificate | None:
    """certificate_issue; `completed` when the caller has just stored the course completion."""
    existing = Certificate.objects.filter(student=student, course=course).first()
    if existing is not None:
        return existing
    if not student_has_full_name(student):
        return None
    if (
        not completed
        and not CourseCompletion.objects.filter(student=student, course=course).exists()
    ):
        return None
    owner = course.owner
    certificate = Certificate(
        student=student,
        course=course,
        issued_at=timezone.now(),
        student_name=_full_name(student),
        course_title=course.title,
        instructor_name=owner.get_full_name().strip() or owner.get_username(),
    )
    certificate.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            certificate.save(force_insert=True)
    except IntegrityError:
        return Certificate.objects.get(student=student, course=course)
    return certificate


@transaction.atomic
def certificates_issue_pending(*, student) -> list[Certificate]:
    """Issue the certificates of every course the student completed that still waits for one
    (their name was missing): the new certificates."""
    waiting = CourseCompletion.objects.filter(student=student).exclude(
        course__certificates__student=student
    )
    issued = []
    for completion in waiting.select_related("course__owner"):
        certificate = certificate_issue(student=student, course=completion.course)
        if certificate is not None:
            issued.append(certificate)
    return issued


@transaction.atomic
def student_name_set(*, student, first_name: str, last_name: str) -> list[Certificate]:
    """Give the student the full name certificates print, then issue those that waited for it.

    Raises ValidationError(CERTIFICATE_NAME_REQUIRED) unless both names are given.
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    if not (first_name and last_name):
        raise ValidationError(CERTIFICATE_NAME_REQUIRED)
    student.first_name, student.last_name = first_name, last_name
    student.full_clean()
    student.save(update_fields=["first_name", "last_name"])
    return certificates_issue_pending(student=student)


@transaction.atomic
def certificate_revoke(*, certificate: Certificate) -> Certificate:
    """Revoke the certificate: its page says so from now on. Revoking again changes nothing.

    Precondition: the user asking owns its course (certificate_get_for_owner) or is staff.
    """
    if certificate.revoked_at is None:
        certificate.revoked_at = timezone.now()
        certificate.save(update_fields=["revoked_at"])
    return certificate


# --- API tokens -------------------------------------------------------------------------------


@transaction.atomic
def token_issue(*, user) -> Token:
    """The user's API token (made on first use); it also authenticates WebSocket clients."""
    token = Token.objects.get_or_create(user=user)[0]
    return token


@transaction.atomic
def token_revoke(*, user) -> None:
    """Delete the user's API token; harmless when there is none. Sockets it opened close."""
    Token.objects.filter(user=user).delete()
