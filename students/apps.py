from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "students"

    def ready(self):
        from axes.signals import user_locked_out
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from .language import session_language_remember
        from .lockout import lockout_flag_on_django_request
        from .usernames import username_skeleton_sync

        user_locked_out.connect(lockout_flag_on_django_request, dispatch_uid="students.lockout")
        post_save.connect(
            username_skeleton_sync,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="students.username_skeleton",
        )
        user_logged_in.connect(session_language_remember, dispatch_uid="students.language")
