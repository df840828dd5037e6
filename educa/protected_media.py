"""Uploaded files sent only after a view's permission check: by Nginx, or by Django itself.

With settings.MEDIA_ACCEL_REDIRECT_PREFIX set, the response is empty and carries
X-Accel-Redirect to Nginx's internal location; without it (DEBUG, no Nginx) Django streams the
file. Either way it is a download that nothing can run as a page of this site.
"""

from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header


def protected_file_response(file, *, content_type: str, download_name: str) -> HttpResponse:
    """The stored `file` (a FieldFile) as an attachment named `download_name`.

    An <img> still shows an image sent as an attachment; opened directly, it downloads.
    Raises Http404 when Django is to send a file that is missing from storage.
    """
    prefix = settings.MEDIA_ACCEL_REDIRECT_PREFIX
    if prefix:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix + quote(file.name)
    else:
        try:
            handle = file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing.") from None
        response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, download_name)
    response["X-Content-Type-Options"] = "nosniff"
    # Nothing in a served file may run as a page of this site, even if opened directly.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
