from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "students"

    def ready(self):
        from axes.signals import user_locked_out

        from .lockout import lockout_flag_on_django_request

        user_locked_out.connect(lockout_flag_on_django_request, dispatch_uid="students.lockout")
