"""What the apps' HTML views share."""

from http import HTTPStatus

from django.templatetags.static import static
from django.views.decorators.cache import cache_page
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

# The translations static/js reads through gettext(): a script file (no inline script for the
# CSP), cached per language (cache_page keys on the active one). Pages ask for it with the
# language in the query string, so a browser's copy of one language never serves another. An
# hour, since a release may change it and the cache is shared across releases.
JAVASCRIPT_CATALOG_TIMEOUT = 3600
javascript_catalog = cache_page(JAVASCRIPT_CATALOG_TIMEOUT, key_prefix="jsi18n")(
    JavaScriptCatalog.as_view()
)

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
