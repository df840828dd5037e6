"""Reads about students: membership, enrollments and progress."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from courses.models import Course

from .models import Enrollment


def course_is_member(*, user, course: Course) -> bool:
    """True for the course owner and its enrolled students."""
    if not user.is_authenticated:
        return False
    if course.owner_id == user.pk:
        return True
    return Enrollment.objects.filter(student=user, course=course).exists()


def course_get_for_member(*, user, course_id: int) -> Course:
    """The course for its owner or an enrolled student.

    Raises Http404 for an unknown course or a draft the user does not own, and PermissionDenied
    for anyone else.
    """
    course = Course.objects.select_related("owner", "subject").filter(pk=course_id).first()
    if course is None or (not course.is_published and course.owner_id != user.pk):
        raise Http404("No such course.")
    if not course_is_member(user=user, course=course):
        raise PermissionDenied("Only the course's students and instructor may enter.")
    return course
