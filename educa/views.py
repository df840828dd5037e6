"""What the apps' HTML views share."""

from http import HTTPStatus

from django.templatetags.static import static
from django.views.generic import RedirectView

# An invalid submission is the client's error: the page shows the form's messages all the same.
INVALID_SUBMISSION_STATUS = HTTPStatus.BAD_REQUEST


class InvalidSubmissionMixin:
    """A form view that answers an invalid submission with 400, re-rendering the form and its
    errors (Django's form views answer 200).

    FormView subclasses get it through `form_invalid`; views that bind their own forms or
    formsets call `render_invalid(form=...)` or `render_invalid(formset=...)`.
    """

    def form_invalid(self, form):
        return self.render_invalid(form=form)

    def render_invalid(self, **context):
        return self.render_to_response(
            self.get_context_data(**context), status=INVALID_SUBMISSION_STATUS
        )


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for whatever a page's <link rel="icon"> says."""

    http_method_names = ["get", "head"]

    def get_redirect_url(self, *args, **kwargs):
        return static("img/favicon.ico")
