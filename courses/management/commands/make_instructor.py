from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from courses.services import INSTRUCTORS_GROUP, instructor_promote


class Command(BaseCommand):
    help = "Add a user to the Instructors group, which opens the course CMS to them."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no user named “{username}”.")
        if not Group.objects.filter(name=INSTRUCTORS_GROUP).exists():
            raise CommandError(
                f"The {INSTRUCTORS_GROUP} group is missing: run `manage.py migrate`."
            )
        if instructor_promote(user=user):
            self.stdout.write(self.style.SUCCESS(f"{username} is now an instructor."))
        else:
            self.stdout.write(f"{username} was already an instructor.")
