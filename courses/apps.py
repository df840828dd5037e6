from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        # Importing them connects their receivers: deletion clean-up and cache invalidation.
        from . import cleanup, receivers  # noqa: F401
