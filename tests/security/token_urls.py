"""The project's URLs, with DRF's stock token view in front at /api/token/.

Proves the django-axes integration works with `obtain_auth_token` itself, whatever the API's
own view at that address adds.
"""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from educa.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("api/token/", obtain_auth_token), *project_urlpatterns]
