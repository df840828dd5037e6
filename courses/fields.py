from django.db import models


class OrderField(models.PositiveIntegerField):
    """Numbers rows 0, 1, 2, ... within the parent named by `for_fields` when left blank.

    The caller holds a lock on the parent (see services) and a unique constraint per parent
    backs it up, so two concurrent inserts can never share a number.
    """

    def __init__(self, for_fields=None, *args, **kwargs):
        self.for_fields = for_fields
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["for_fields"] = self.for_fields
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        if getattr(model_instance, self.attname) is None:
            siblings = self.model.objects.all()
            if self.for_fields:
                siblings = siblings.filter(
                    **{field: getattr(model_instance, field) for field in self.for_fields}
                )
            highest = siblings.aggregate(highest=models.Max(self.attname))["highest"]
            setattr(model_instance, self.attname, 0 if highest is None else highest + 1)
        return super().pre_save(model_instance, add)
