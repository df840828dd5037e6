from django.core.management.base import BaseCommand

from chat.services import attachment_prune


class Command(BaseCommand):
    help = (
        "Delete chat uploads no message carried within CHAT_ATTACHMENT_UNUSED_TTL seconds, and "
        "the attachments of deleted messages, with their files. Run it daily."
    )

    def handle(self, *args, **options):
        count = attachment_prune()
        self.stdout.write(f"{count} chat attachment(s) removed.")
