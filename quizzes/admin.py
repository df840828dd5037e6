from django.contrib import admin

from .models import Attempt


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    """Attempts are records of what a student sent: readable and deletable, never edited."""

    list_display = ["content", "student", "number", "status", "score", "percent", "passed"]
    list_filter = ["status", "passed", "started"]
    search_fields = ["student__username", "content__module__course__title"]
    list_select_related = ["student", "content__content_type"]
    raw_id_fields = ["student", "content"]
    date_hierarchy = "started"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
