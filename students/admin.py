from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model

from .forms import AdminUserChangeForm, AdminUserCreateForm
from .models import ContentCompletion, Enrollment

User = get_user_model()

admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    """Django's user admin, refusing names that look like another user's."""

    add_form = AdminUserCreateForm
    form = AdminUserChangeForm


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["student", "course", "created", "last_module"]
    list_filter = ["created", "course__subject", "course__status"]
    search_fields = ["student__username", "student__email", "course__title"]
    date_hierarchy = "created"
    raw_id_fields = ["student", "course", "last_module"]
    list_select_related = ["student", "course", "last_module"]
    ordering = ["-created", "-id"]


@admin.register(ContentCompletion)
class ContentCompletionAdmin(admin.ModelAdmin):
    list_display = ["student", "content", "course", "completed"]
    list_filter = ["completed", "content__module__course__subject"]
    search_fields = ["student__username", "student__email", "content__module__course__title"]
    date_hierarchy = "completed"
    raw_id_fields = ["student", "content"]
    list_select_related = ["student", "content__content_type", "content__module__course"]
    ordering = ["-completed", "-id"]

    @admin.display(description="Course", ordering="content__module__course__title")
    def course(self, completion):
        return completion.content.module.course
