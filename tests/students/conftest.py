import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.fixture
def count_queries(client):
    """GET a page and return how many SQL queries it ran (content type cache emptied first)."""

    def count(url):
        # The caches are process-wide: emptied, every measured page pays the same look-ups.
        ContentType.objects.clear_cache()
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    return count
