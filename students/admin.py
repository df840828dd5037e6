from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .forms import AdminUserChangeForm, AdminUserCreateForm
from .models import Certificate, ContentCompletion, CourseCompletion, Enrollment
from .services import certificate_revoke

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

    @admin.display(description=_("Course"), ordering="content__module__course__title")
    def course(self, completion):
        return completion.content.module.course


@admin.register(CourseCompletion)
class CourseCompletionAdmin(admin.ModelAdmin):
    list_display = ["student", "course", "completed"]
    list_filter = ["completed", "course__subject"]
    search_fields = ["student__username", "student__email", "course__title"]
    date_hierarchy = "completed"
    raw_id_fields = ["student", "course"]
    list_select_related = ["student", "course"]
    ordering = ["-completed", "-id"]


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["id", "student_name", "course_title", "issued_at", "revoked_at"]
    list_filter = ["issued_at", "revoked_at"]
    search_fields = ["id", "student__username", "student_name", "course_title"]
    date_hierarchy = "issued_at"
    raw_id_fields = ["student", "course"]
    # What a certificate says is what was issued: only its revocation changes.
    readonly_fields = [
        "id",
        "student",
        "course",
        "issued_at",
        "student_name",
        "course_title",
        "instructor_name",
        "revoked_at",
    ]
    ordering = ["-issued_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected certificates"), permissions=["change"])
    def revoke(self, request, queryset):
        for certificate in queryset.filter(revoked_at__isnull=True):
            certificate_revoke(certificate=certificate)
        self.message_user(request, _("The selected certificates are revoked."))
