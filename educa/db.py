"""Facts about the database that several apps rely on."""

from django.db.models import QuerySet
from django.http import Http404

# The largest value of a PostgreSQL bigint: every id (BigAutoField) and every chat seq. A
# number above it is no row's, and must be refused before it reaches a query.
BIGINT_MAX = 2**63 - 1


def first_or_404(queryset: QuerySet, message: str):
    """The query's first row, or Http404 with `message` when there is none.

    Unlike get_object_or_404, the 404 names the thing in the user's language ("No such
    course."), and the caller's filters (an owner, a student) make anyone else's row a 404 too.
    """
    row = queryset.first()
    if row is None:
        raise Http404(message)
    return row
