"""`{% load chat %}`: chat links with unread counts for any page, from the `chat_rooms` context.

The context processor's list is queried once per page, so a list of courses costs no query more.
"""

from django import template
from django.utils.safestring import mark_safe

from chat.selectors import message_html, reply_frame

register = template.Library()


@register.filter
def chat_html(message) -> str:
    """`{{ message|chat_html }}`: the message's sanitised HTML ("" once deleted)."""
    return mark_safe(message_html(message) or "")  # noqa: S308 - sanitised by chat/rendering.py


@register.filter
def chat_reply(message) -> dict | None:
    """`{{ message|chat_reply }}`: what the message quotes of the one it answers, or None.

    Precondition: `reply_to` and its user are loaded with the message.
    """
    if message.reply_to_id is None or message.is_deleted:
        return None
    return reply_frame(message.reply_to)


@register.filter
def questions_for(questions_by_content, content_id) -> list:
    """`{{ content_questions|questions_for:content.id }}`: the questions listed under a content."""
    return questions_by_content.get(content_id, []) if questions_by_content else []


def _room_count(chat_rooms, course_id, count: str) -> int:
    """The `count` attribute of the course's room among chat_rooms; 0 if it is not there."""
    for room in chat_rooms or ():
        if room.pk == course_id:
            return getattr(room, count)
    return 0


@register.filter
def unread_for(chat_rooms, course_id) -> int:
    """`{{ chat_rooms|unread_for:course.pk }}`: unread messages in the course's room (0 if none)."""
    return _room_count(chat_rooms, course_id, "unread")


@register.filter
def mentions_for(chat_rooms, course_id) -> int:
    """`{{ chat_rooms|mentions_for:course.pk }}`: the user's unread mentions in the room."""
    return _room_count(chat_rooms, course_id, "mentions")


@register.inclusion_tag("chat/_room_link.html", takes_context=True)
def chat_room_link(context, course):
    """`{% chat_room_link course %}`: a link to the course's room with its unread counts."""
    rooms = context.get("chat_rooms")
    return {
        "course": course,
        "unread": unread_for(rooms, course.pk),
        "mentions": mentions_for(rooms, course.pk),
    }


@register.filter
def unread_total(chat_rooms) -> int:
    """`{{ chat_rooms|unread_total }}`: unread messages over all the user's rooms."""
    return sum(room.unread for room in chat_rooms or ())


@register.filter
def mentions_total(chat_rooms) -> int:
    """`{{ chat_rooms|mentions_total }}`: the user's unread mentions over all their rooms."""
    return sum(room.mentions for room in chat_rooms or ())
