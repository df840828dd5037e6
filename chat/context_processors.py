from django.utils.functional import SimpleLazyObject

from .selectors import course_list_for_chat


def chat_rooms(request):
    """`chat_rooms`: the user's rooms with `unread` counts, queried only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"chat_rooms": ()}
    return {"chat_rooms": SimpleLazyObject(lambda: list(course_list_for_chat(user=user)))}
