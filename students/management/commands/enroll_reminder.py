from django.core.management.base import BaseCommand, CommandError

from students.reminders import enroll_reminder_send, user_list_for_enroll_reminder


class Command(BaseCommand):
    help = (
        "E-mails users who joined at least N days ago and are enrolled in no course, "
        "once per user; staff and instructors never get it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=7, help="Minimum days since joining (default 7)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List who would get the reminder; send and remember nothing.",
        )

    def handle(self, *args, days, dry_run, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        users = user_list_for_enroll_reminder(days=days)
        if dry_run:
            count = 0
            for user in users:
                self.stdout.write(f"would remind {user.username} <{user.email}>")
                count += 1
            self.stdout.write(f"Would send {count} enrollment reminder(s) (dry run).")
            return
        sent = sum(enroll_reminder_send(user=user) for user in users)
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} enrollment reminder(s)."))
