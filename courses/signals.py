"""Deletion clean-up that must hold however a row goes (service, admin or cascade)."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Content, File, Image


@receiver(post_delete, sender=Content)
def delete_item_with_content(sender, instance, **kwargs):
    # A generic relation has no cascade: the item would be an orphan row.
    model = instance.content_type.model_class()
    if model is not None:
        for item in model.objects.filter(pk=instance.object_id):
            item.delete()


@receiver(post_delete, sender=File)
@receiver(post_delete, sender=Image)
def delete_uploaded_file(sender, instance, **kwargs):
    # Only after commit: a rolled-back delete must not lose the file.
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
