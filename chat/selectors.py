"""Reads about chat rooms: messages, history pages, unread counts and access re-checks."""

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from django.contrib.auth import get_user, get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from courses.models import Course
from students.selectors import (
    COURSE_MEMBER_SQL,
    Refusal,
    course_get_for_member,
    course_member_sql_params,
    course_membership_refusal,
    course_membership_refusals,
)

from .models import Attachment, Message, Mute, Room

# The most messages one history request (frame or API call) returns.
HISTORY_LIMIT_MAX = 100
HISTORY_LIMIT_DEFAULT = 50
# How many messages a resume or catch-up reads from the database at a time.
REPLAY_BATCH = 500

DELETED_USER_LABEL = "deleted user"


@dataclass(frozen=True)
class MessagePage:
    """Messages oldest first, and whether more exist beyond them in the direction asked."""

    messages: list[Message]
    has_more: bool


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_frame(message: Message) -> dict:
    """The protocol's `message` frame for a stored message (a tombstone when deleted).

    Precondition: `message.user` is loaded (select_related) or the caller accepts a query.
    """
    frame = {
        "type": "message",
        "id": message.pk,
        "seq": message.seq,
        "message": None if message.is_deleted else message.text,
        "user": message.user.get_username() if message.user is not None else None,
        "datetime": _iso(message.created),
        "client_id": message.client_id,
        "deleted": message.is_deleted,
    }
    frame["attachments"] = (
        [] if message.is_deleted else [attachment_frame(a) for a in _attachments_of(message)]
    )
    return frame


def _attachments_of(message: Message) -> list[Attachment]:
    # Set by message_create_many on the messages it creates, and by messages_with_attachments
    # on lists; a single message read any other way queries only if it has attachments.
    preset = getattr(message, "attachment_list", None)
    if preset is not None:
        return preset
    if message.pk is None or not message.has_attachments:
        return []
    return list(message.attachments.all())


def attachment_frame(attachment: Attachment) -> dict:
    """An attachment as messages and the upload API describe it."""
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": reverse("chat_attachment", args=[attachment.pk]),
        "thumbnail_url": (
            reverse("chat_attachment_thumbnail", args=[attachment.pk])
            if attachment.thumbnail
            else None
        ),
    }


def attachment_get_for_member(*, user, attachment_id: int) -> Attachment:
    """An attachment for a member of its room (the room's rules: Http404 or PermissionDenied).

    One no message carries yet is its uploader's alone; one of a deleted message is gone
    for everyone (Http404).
    """
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment.")
    course_get_for_member(user=user, course_id=attachment.room_id)
    if attachment.message is None:
        if attachment.uploader_id != user.pk:
            raise Http404("No such attachment.")
    elif attachment.message.is_deleted:
        raise Http404("No such attachment.")
    return attachment


def mute_frame(mute: Mute) -> dict:
    return {"type": "member.muted", "user": mute.user.get_username(), "until": _iso(mute.until)}


def unmute_frame(username: str) -> dict:
    return {"type": "member.unmuted", "user": username}


def _messages(*, course_id: int) -> QuerySet[Message]:
    return Message.objects.filter(room_id=course_id).select_related("user")


def messages_with_attachments(messages: list[Message]) -> list[Message]:
    """The messages, each with its attachments loaded for message_frame: one query, and none
    when no live message among them has any."""
    ids = [message.pk for message in messages if message.has_attachments and not message.is_deleted]
    by_message: dict[int, list[Attachment]] = {}
    if ids:
        for attachment in Attachment.objects.filter(message_id__in=ids):
            by_message.setdefault(attachment.message_id, []).append(attachment)
    for message in messages:
        message.attachment_list = by_message.get(message.pk, [])
    return messages


def message_list_for_room(
    *,
    course_id: int,
    before: int | None = None,
    after: int | None = None,
    limit: int = HISTORY_LIMIT_DEFAULT,
) -> MessagePage:
    """A page of the room's messages (tombstones included), oldest first.

    With `after`: the first `limit` messages whose seq is above it (has_more: newer ones exist).
    Otherwise the newest `limit` messages below `before` (or the newest of all; has_more: older
    ones exist). Precondition: the caller checked membership; `limit` is 1..HISTORY_LIMIT_MAX.
    """
    limit = max(1, min(limit, HISTORY_LIMIT_MAX))
    messages = _messages(course_id=course_id)
    if after is not None:
        if before is not None:
            messages = messages.filter(seq__lt=before)
        rows = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
        page = messages_with_attachments(rows[:limit])
        return MessagePage(messages=page, has_more=len(rows) > limit)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    rows = list(messages.order_by("-seq")[: limit + 1])
    page = messages_with_attachments(rows[:limit])
    page.reverse()
    return MessagePage(messages=page, has_more=len(rows) > limit)


def message_list_between(*, course_id: int, after: int, upto: int | None = None) -> list[Message]:
    """Messages with after < seq <= upto (or every newer one), oldest first, in one batch.

    At most REPLAY_BATCH rows: callers loop until they have what they need.
    """
    messages = _messages(course_id=course_id).filter(seq__gt=after)
    if upto is not None:
        messages = messages.filter(seq__lte=upto)
    return messages_with_attachments(list(messages.order_by("seq")[:REPLAY_BATCH]))


def room_last_seq(*, course_id: int) -> int:
    """The seq of the room's newest message (0 for an empty or not yet created room)."""
    last = Room.objects.filter(pk=course_id).values_list("last_seq", flat=True).first()
    return last or 0


def room_last_seqs(*, course_ids) -> dict[int, int]:
    """The newest seq of each of the rooms, in one query (0 for rooms without messages)."""
    found = dict(Room.objects.filter(pk__in=list(course_ids)).values_list("pk", "last_seq"))
    return {course_id: found.get(course_id, 0) for course_id in course_ids}


def mutes_active(*, course_ids, user_ids) -> dict[tuple[int, int], Mute]:
    """The mutes that have not run out yet among these rooms and users, by (room, user)."""
    mutes = Mute.objects.filter(
        room_id__in=list(course_ids), user_id__in=list(user_ids), until__gt=timezone.now()
    )
    return {(mute.room_id, mute.user_id): mute for mute in mutes}


def mutes_for_room(*, course_id: int) -> dict[str, str]:
    """The room's running mutes: user name -> until (ISO 8601 UTC, as in member.muted)."""
    mutes = Mute.objects.filter(room_id=course_id, until__gt=timezone.now()).select_related("user")
    return {mute.user.get_username(): _iso(mute.until) for mute in mutes}


def mute_until(*, course_id: int, user_id: int) -> datetime | None:
    """When the user's mute in this room runs out; None when they are not muted."""
    mute = mutes_active(course_ids=[course_id], user_ids=[user_id]).get((course_id, user_id))
    return mute.until if mute else None


# Every logged-in page shows the user's rooms: written out, as building it with the ORM costs
# several times what PostgreSQL takes to answer. The rooms are those of COURSE_MEMBER_SQL, the
# membership rule's SQL twin (its parameters include `user`). Built from constants alone, every
# value a parameter; columns are listed (prepared statements).
_ROOMS_FOR_USER_SQL = f"""
SELECT c.id, c.title,
  (SELECT count(*) FROM chat_message m
    WHERE m.room_id = c.id AND m.deleted_at IS NULL
      AND (m.user_id IS NULL OR m.user_id <> %(user)s)
      AND m.seq > COALESCE(
        (SELECT r.last_read_seq FROM chat_readmarker r
          WHERE r.room_id = c.id AND r.user_id = %(user)s), 0)
  ) AS unread
FROM courses_course c
WHERE {COURSE_MEMBER_SQL}
ORDER BY c.title, c.id
"""  # noqa: S608


def course_list_for_chat(*, user) -> list[Course]:
    """Courses whose room the user may enter, by title, each with `unread`: the live messages
    of others above the user's read marker. One query; only id and title are loaded.
    """
    params = course_member_sql_params(user=user)
    if params is None:
        return []
    return list(Course.objects.raw(_ROOMS_FOR_USER_SQL, params))


# --- access -----------------------------------------------------------------------------------

# Close codes of the protocol.
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


_CLOSE_CODES = {
    Refusal.NOT_AUTHENTICATED: CLOSE_NOT_AUTHENTICATED,
    Refusal.NOT_FOUND: CLOSE_NOT_FOUND,
    Refusal.FORBIDDEN: CLOSE_FORBIDDEN,
}


def chat_access_refusal(*, user, course_id: int) -> int | None:
    """None when the user may be in the room, else the close code that says why not."""
    if user is None:
        return CLOSE_NOT_AUTHENTICATED
    course = Course.objects.filter(pk=course_id).only("owner_id", "status").first()
    refusal = course_membership_refusal(user=user, course=course)
    return None if refusal is None else _CLOSE_CODES[refusal]


def user_get_for_token(*, key: str):
    """The active user a token belongs to, or None."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def user_get_for_session(*, session_key: str):
    """The user a session still authenticates (password changes included), or None."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    user = get_user(SimpleNamespace(session=store))
    return user if user.is_authenticated else None


def chat_socket_refusal(
    *, user_id: int, course_id: int, session_key: str | None, token_key: str | None
) -> int | None:
    """Re-check an open socket: None if its credential and membership still hold, else a code.

    A socket authenticated by a session needs that session to still log the same user in; one
    authenticated by a token needs the token to still exist.
    """
    if token_key is not None:
        user = user_get_for_token(key=token_key)
    elif session_key is not None:
        user = user_get_for_session(session_key=session_key)
    else:
        user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or user.pk != user_id:
        return CLOSE_NOT_AUTHENTICATED
    return chat_access_refusal(user=user, course_id=course_id)


def room_access_refusals(*, course_id: int, user_ids) -> dict[int, int]:
    """For the given users in a room, those who may no longer be there, with their close codes.

    The rules of chat_access_refusal, for a whole room in three queries.
    """
    refusals = course_membership_refusals(course_id=course_id, user_ids=user_ids)
    return {user_id: _CLOSE_CODES[refusal] for user_id, refusal in refusals.items()}
