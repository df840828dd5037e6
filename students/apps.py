from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "students"

    def ready(self):
        from axes.signals import user_locked_out
        from django.conf import settings
        from django.db.models.signals import post_save

        from .lockout import lockout_flag_on_django_request
        from .usernames import username_skeleton_sync

        user_locked_out.connect(lockout_flag_on_django_request, dispatch_uid="students.lockout")
        post_save.connect(
            username_skeleton_sync,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="students.username_skeleton",
        )
