"""Permission checks in one query (every logged-in page asks one, for its navigation)."""

from django.db import connection

# Written out: the ORM took several times longer to build this query than to run it.
_ALL_SQL = (
    "SELECT ct.app_label, p.codename FROM auth_permission p "
    "JOIN django_content_type ct ON ct.id = p.content_type_id"
)
_USER_SQL = (
    "SELECT ct.app_label, p.codename FROM auth_permission p "
    "JOIN django_content_type ct ON ct.id = p.content_type_id WHERE p.id IN ("
    "SELECT up.permission_id FROM auth_user_user_permissions up WHERE up.user_id = %s "
    "UNION SELECT gp.permission_id FROM auth_group_permissions gp "
    "JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s)"
)


class PermissionsBackend:
    """ModelBackend's permissions, the user's own and their groups', read in one query.

    Listed before ModelBackend, it answers has_perm() first and fills the per-user cache that
    ModelBackend reads, so ModelBackend's two queries never run. It authenticates nobody and
    loads no user (no get_user, so no session names it): ModelBackend still does both.
    """

    def authenticate(self, request, **credentials):
        return None

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            with connection.cursor() as cursor:
                if user_obj.is_superuser:
                    cursor.execute(_ALL_SQL)
                else:
                    cursor.execute(_USER_SQL, [user_obj.pk, user_obj.pk])
                names = cursor.fetchall()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in names}
        return user_obj._perm_cache

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return user_obj.is_active and perm in self.get_all_permissions(user_obj, obj=obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return user_obj.is_active and any(
            name.partition(".")[0] == app_label for name in self.get_all_permissions(user_obj)
        )
