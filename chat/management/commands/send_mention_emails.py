from django.core.management.base import BaseCommand

from chat.mention_emails import mention_emails_send


class Command(BaseCommand):
    help = (
        "E-mails members about chat mentions still unread CHAT_MENTION_EMAIL_DELAY seconds "
        "after their message: one e-mail per member and room an hour at most, each mention "
        "once. Run it every minute (cron, a Kubernetes CronJob, or the native stack's loop)."
    )

    def handle(self, *args, **options):
        sent = mention_emails_send()
        self.stdout.write(f"Sent {sent} mention e-mail(s).")
