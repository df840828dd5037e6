"""Deletion clean-up that must hold however a row goes (service, admin or cascade).

Signal receivers, like the cache ones in receivers.py; connected by CoursesConfig.ready().
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Content, File, Image, Quiz, Text, Video


@receiver(post_delete, sender=Content)
def delete_item_with_content(sender, instance, **kwargs):
    # A generic relation has no cascade: the item would be an orphan row.
    model = ContentType.objects.get_for_id(instance.content_type_id).model_class()
    if model is not None:
        for item in model.objects.filter(pk=instance.object_id):
            item.delete()


@receiver(post_delete, sender=Text)
@receiver(post_delete, sender=File)
@receiver(post_delete, sender=Image)
@receiver(post_delete, sender=Video)
@receiver(post_delete, sender=Quiz)
def delete_content_with_item(sender, instance, **kwargs):
    # The other direction (an item deleted in the admin, or with its owner): no Content row may
    # point at nothing.
    Content.objects.filter(
        content_type=ContentType.objects.get_for_model(sender), object_id=instance.pk
    ).delete()


@receiver(post_delete, sender=File)
@receiver(post_delete, sender=Image)
def delete_uploaded_file(sender, instance, **kwargs):
    # Only after commit: a rolled-back delete must not lose the file.
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
