"""Writes of the chat: messages and their changes (edits, reactions, pins, deletions), mutes,
read markers and access-change events.

Every write commits first; its event leaves through `event_publish_on_commit` afterwards, so no
one ever sees a message that is not stored. Membership is the caller's precondition: the
consumer checks it once at connect (`students.selectors.course_get_for_member`) and re-checks on
access-change events published here.
"""

import io
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage
from PIL import ImageOps

from courses.models import Content, Course
from courses.selectors import content_titles_annotate
from courses.validators import RASTER_CONTENT_TYPES, RASTER_FORMATS, raster_format, raster_suffix
from educa.db import BIGINT_MAX, ids_matching, rows_insert, value_for_db
from students.selectors import course_is_member, course_members_named

from .events import (
    CONTROL_GROUP,
    event_publish,
    event_publish_on_commit,
    events_publish_on_commit,
    room_group,
)
from .mentions import INSTRUCTOR_ALIAS, mention_candidates
from .models import Attachment, Mention, Message, MessageEdit, Mute, Reaction, ReadMarker, Room
from .rendering import message_html
from .selectors import (
    REACTION_EMOJI,
    iso_utc,
    message_deleted_frame,
    message_frame,
    message_updated_frame,
    messages_for_frames,
    mute_frame,
    mutes_active,
    questions_version_bump,
    unmute_frame,
)

MESSAGE_NOT_TEXT = _("A message is a string.")
MESSAGE_EMPTY = _("A message needs some text.")
MESSAGE_TOO_LONG = _("A message has at most %(limit)d characters.")
MESSAGE_BAD_CHARACTERS = _("A message cannot contain NUL characters or lone surrogates.")
CLIENT_ID_INVALID = _("client_id is a string of 1 to 64 characters.")
REPLY_TO_INVALID = _("reply_to is a message id.")
REPLY_TO_NOT_FOUND = _("The message to reply to is not in this room.")
# The end of the mute travels as the error frame's `until`, for the client to say in its own time.
MUTED = _("You are muted in this room.")
RATE_LIMITED = _("Too many messages: wait a few seconds.")
MESSAGE_NOT_FOUND = _("There is no such message in this room.")
DELETE_FORBIDDEN = _(
    "Only the instructor, or the author within %(minutes)d minutes, may delete it."
)
MUTE_FORBIDDEN = _("Only the course's instructor may mute members.")
MUTE_OWNER = _("The instructor cannot be muted.")
MUTE_NOT_MEMBER = _("There is no such member in this room.")
MUTE_MINUTES = _("minutes is a whole number from 1 to 1440.")
UNMUTE_FORBIDDEN = _("Only the course's instructor may unmute members.")
UNMUTE_NOT_MUTED = _("There is no muted member of that name in this room.")
MESSAGE_ID_INVALID = _("id is a message id.")
EDIT_FORBIDDEN = _("Only its author may edit a message.")
EDIT_WINDOW_CLOSED = _("A message can be edited for %(minutes)d minutes after it is sent.")
EMOJI_INVALID = _("emoji is one of the room's reactions.")
PIN_FORBIDDEN = _("Only the course's instructor may pin or unpin messages.")
ABOUT_INVALID = _("about is a content id.")
ABOUT_NOT_FOUND = _("The content to ask about is not in this course.")
NOT_A_QUESTION = _("That message is not a question.")
ANSWER_ID_INVALID = _("answer_id is a message id, or null.")
ANSWER_NOT_FOUND = _("The answer must be another message of this room.")
ANSWER_FORBIDDEN = _("Only the course's instructor or the asker may mark the answer.")
ATTACHMENT_TOO_LARGE = _("The file is %(size)s; the limit is %(limit)s.")
ATTACHMENT_EMPTY = _("The file is empty.")
ATTACHMENTS_INVALID = _("attachments is a list of at most %(limit)d distinct attachment ids.")
ATTACHMENT_NOT_FOUND = _(
    "No such attachment of yours in this room, or another message already carries it."
)

# The most files one message carries.
ATTACHMENTS_PER_MESSAGE_MAX = 5
# The longest side of an image attachment's thumbnail, in pixels.
THUMBNAIL_SIZE = 320
# Names under which a file must really be an image (else it is refused, not served as one).
IMAGE_NAME_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
ATTACHMENT_NAME_MAX = 150

MUTE_MINUTES_MAX = 1440


def _printable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def message_text_clean(text, *, allow_empty: bool = False) -> str:
    """The text as it will be stored (trimmed), or a ValidationError whose code is the error.

    `allow_empty`: a message with attachments may have no text.
    """
    if not isinstance(text, str):
        raise ValidationError(MESSAGE_NOT_TEXT, code="invalid_frame")
    text = text.strip()
    if not text and not allow_empty:
        raise ValidationError(MESSAGE_EMPTY, code="empty")
    if len(text) > settings.CHAT_MAX_LENGTH:
        raise ValidationError(
            MESSAGE_TOO_LONG, code="too_long", params={"limit": settings.CHAT_MAX_LENGTH}
        )
    if not _printable(text):
        raise ValidationError(MESSAGE_BAD_CHARACTERS, code="invalid_frame")
    return text


def client_id_clean(client_id) -> str | None:
    """A client's idempotency key: None, or a string of 1 to 64 characters."""
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= 64 or not _printable(client_id):
        raise ValidationError(CLIENT_ID_INVALID, code="invalid_frame")
    return client_id


def reply_to_clean(reply_to) -> int | None:
    """The id of the message a draft answers: None, or a whole number from 1."""
    if reply_to is None:
        return None
    if (
        isinstance(reply_to, bool)
        or not isinstance(reply_to, int)
        or not 1 <= reply_to <= BIGINT_MAX
    ):
        raise ValidationError(REPLY_TO_INVALID, code="invalid_frame")
    return reply_to


def attachment_ids_clean(ids) -> tuple[int, ...]:
    """A message frame's `attachments`: absent, or a list of up to 5 distinct ids."""
    if ids is None:
        return ()
    if (
        not isinstance(ids, list | tuple)
        or len(ids) > ATTACHMENTS_PER_MESSAGE_MAX
        or not all(
            isinstance(pk, int) and not isinstance(pk, bool) and 1 <= pk <= BIGINT_MAX for pk in ids
        )
        # Only once every item is known to be a number: a list or an object is unhashable.
        or len(set(ids)) != len(ids)
    ):
        raise ValidationError(
            ATTACHMENTS_INVALID,
            code="invalid_frame",
            params={"limit": ATTACHMENTS_PER_MESSAGE_MAX},
        )
    return tuple(ids)


def about_clean(about) -> int | None:
    """The id of the content a question is about: None, or a whole number from 1."""
    if about is None:
        return None
    if isinstance(about, bool) or not isinstance(about, int) or not 1 <= about <= BIGINT_MAX:
        raise ValidationError(ABOUT_INVALID, code="invalid_frame")
    return about


@dataclass(frozen=True)
class MessageDraft:
    """A message to store: its author (a member of the course), room and client's text, the
    id of the message it answers, if any, of the content it asks about, if any, and the ids of
    the author's uploads to the room it carries."""

    author: object
    course_id: int
    text: object
    client_id: object = None
    reply_to: object = None
    attachment_ids: object = ()
    about: object = None


def _rooms_locked(course_ids: list[int]) -> dict[int, Room]:
    """The rooms' rows, created if needed, locked in id order until the transaction ends."""

    def lock():
        rows = Room.objects.select_for_update().filter(pk__in=course_ids).order_by("pk")
        return {room.pk: room for room in rows}

    rooms = lock()
    if len(rooms) < len(course_ids):
        missing = [Room(course_id=course_id) for course_id in course_ids if course_id not in rooms]
        Room.objects.bulk_create(missing, ignore_conflicts=True)
        rooms = lock()
    return rooms


def _rooms_counters_save(rooms) -> None:
    """Store the rooms' last_seq and last_rev (a statement per room, sent together: cheaper to
    build than bulk_update's CASE, on the writer's hot path)."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE chat_room SET last_seq = %s, last_rev = %s WHERE course_id = %s",
            [(room.last_seq, room.last_rev, room.pk) for room in rooms],
        )


def _messages_stored(drafts: list[MessageDraft]) -> dict[tuple, Message]:
    """Messages already stored under the drafts' (room, author, client_id) keys."""
    keyed = [draft for draft in drafts if draft.client_id is not None]
    if not keyed:
        return {}
    ids = ids_matching(
        Message,
        ["room", "user", "client_id"],
        list({(draft.course_id, draft.author.pk, draft.client_id) for draft in keyed}),
    )
    if not ids:
        # Resends are rare: the plain lookup costs the batch far less than a full one.
        return {}
    return {
        (message.room_id, message.user_id, message.client_id): message
        for message in messages_for_frames(Message.objects.filter(pk__in=ids))
    }


def _messages_replied(drafts: list[MessageDraft]) -> dict[int, Message]:
    """The messages the drafts answer, by id, with their authors: one query for a batch."""
    ids = {draft.reply_to for draft in drafts if draft.reply_to is not None}
    if not ids:
        return {}
    # Only what a reply's frame shows of the original (reply_to: id, seq, author, excerpt).
    replied = (
        Message.objects.filter(pk__in=ids)
        .select_related("user")
        .only("room_id", "seq", "text", "html", "deleted_at", "user__username")
    )
    return {message.pk: message for message in replied}


def _contents_asked(drafts: list[MessageDraft]) -> dict[int, tuple[int, str]]:
    """The contents the drafts ask about, by id: (course id, title), in one query a batch."""
    ids = {draft.about for draft in drafts if draft.about is not None}
    if not ids:
        return {}
    contents = content_titles_annotate(Content.objects.filter(pk__in=ids)).values_list(
        "pk", "module__course_id", "item_title"
    )
    return {pk: (course_id, title or "") for pk, course_id, title in contents}


def questions_changed_on_commit(course_ids) -> None:
    """After commit, make the study view's cached question lists of these courses stale."""
    course_ids = sorted(set(course_ids))
    if course_ids:
        transaction.on_commit(
            lambda: [questions_version_bump(course_id=pk) for pk in course_ids], robust=True
        )


@dataclass(frozen=True)
class ReactionDraft:
    """A member's reaction to toggle: who (a member of the course), in which room, on which
    message, with which emoji."""

    actor: object
    course_id: int
    message_id: object
    emoji: object


def emoji_clean(emoji) -> str:
    """One of REACTION_EMOJI, else ValidationError coded invalid_frame."""
    if not isinstance(emoji, str) or emoji not in REACTION_EMOJI:
        raise ValidationError(EMOJI_INVALID, code="invalid_frame")
    return emoji


def message_create_many(
    drafts: list[MessageDraft], *, over_rate: frozenset[int] = frozenset()
) -> list[tuple[Message, bool] | ValidationError]:
    """Store messages in one transaction (group commit): room_changes_store without
    reactions."""
    return room_changes_store(drafts, [], over_rate=over_rate)[0]


@transaction.atomic
def room_changes_store(
    drafts: list[MessageDraft],
    reactions: list[ReactionDraft],
    *,
    over_rate: frozenset[int] = frozenset(),
) -> tuple[list[tuple[Message, bool] | ValidationError], list[Message | ValidationError]]:
    """Store messages and toggle reactions in one transaction (the process's writer batches
    both, the two changes a busy room makes most).

    For each draft, in order, either (message, created) or the ValidationError (coded empty,
    too_long, invalid_frame, not_found, muted or rate_limited) that refused it. A reply must
    answer a message of the same room, a question ask about a content of the room's course.
    Each stored message takes its room's next seq. A draft whose author already stored its
    client_id in the room (now or earlier in the batch) gets that message back, created False,
    even when its index is in `over_rate` (its sender is over CHAT_RATE_LIMIT); any other draft
    there is refused as rate_limited.

    For each reaction, in order, the message as it now is, or the ValidationError (coded
    invalid_frame or not_found) that refused it (see reactions_toggle).

    Every room of the batch is locked once, in id order; the new messages take their revs
    first, then each message whose reactions changed one more. After the commit one event per
    room carries both (messages_event). Precondition: every author and actor is a member.
    """
    results: list = [None] * len(drafts)
    valid = []
    for index, draft in enumerate(drafts):
        try:
            attachment_ids = attachment_ids_clean(draft.attachment_ids)
            text = message_text_clean(draft.text, allow_empty=bool(attachment_ids))
            client_id = client_id_clean(draft.client_id)
            reply_to = reply_to_clean(draft.reply_to)
            about = about_clean(draft.about)
        except ValidationError as error:
            results[index] = error
            continue
        if index in over_rate and client_id is None:
            results[index] = ValidationError(RATE_LIMITED, code="rate_limited")
            continue
        valid.append(
            (
                index,
                replace(
                    draft,
                    text=text,
                    client_id=client_id,
                    reply_to=reply_to,
                    attachment_ids=attachment_ids,
                    about=about,
                ),
            )
        )
    reaction_results: list = [None] * len(reactions)
    toggles = []
    for index, reaction in enumerate(reactions):
        try:
            toggles.append((index, replace(reaction, emoji=emoji_clean(reaction.emoji))))
        except ValidationError as error:
            reaction_results[index] = error
    if not valid and not toggles:
        return results, reaction_results
    course_ids = {draft.course_id for _, draft in valid} | {r.course_id for _, r in toggles}
    rooms = _rooms_locked(sorted(course_ids))
    created = _messages_create(valid, rooms=rooms, results=results, over_rate=over_rate)
    reacted = _reactions_toggle(toggles, rooms=rooms, results=reaction_results)
    changed = {message.room_id: rooms[message.room_id] for message in [*created, *reacted]}
    if changed:
        _rooms_counters_save(changed.values())
        events_publish_on_commit(
            [
                (room_group(room_id), messages_event(room_id, created, reacted))
                for room_id in sorted(changed)
            ]
        )
    questions_changed_on_commit(m.room_id for m in created if m.about_id is not None)
    return results, reaction_results


def _messages_create(
    valid: list[tuple[int, MessageDraft]],
    *,
    rooms: dict[int, Room],
    results: list,
    over_rate: frozenset[int],
) -> list[Message]:
    """Store the checked drafts (see room_changes_store), each result at its index; the new
    messages. Precondition: their rooms are locked; the caller saves the rooms' counters."""
    if not valid:
        return []
    stored = _messages_stored([draft for _, draft in valid])
    replied = _messages_replied([draft for _, draft in valid])
    asked = _contents_asked([draft for _, draft in valid])
    muted = mutes_active(
        course_ids={draft.course_id for _, draft in valid},
        user_ids={draft.author.pk for _, draft in valid},
    )
    unused = _attachments_unused([draft for _, draft in valid])
    claimed: list[Attachment] = []
    created: list[Message] = []
    for index, draft in valid:
        key = (draft.course_id, draft.author.pk, draft.client_id)
        if draft.client_id is not None and key in stored:
            results[index] = (stored[key], False)
            continue
        if index in over_rate:
            results[index] = ValidationError(RATE_LIMITED, code="rate_limited")
            continue
        mute = muted.get((draft.course_id, draft.author.pk))
        if mute is not None:
            until = iso_utc(mute.until)
            results[index] = ValidationError(MUTED, code="muted", params={"until": until})
            continue
        original = None
        if draft.reply_to is not None:
            original = replied.get(draft.reply_to)
            if original is None or original.room_id != draft.course_id:
                results[index] = ValidationError(REPLY_TO_NOT_FOUND, code="not_found")
                continue
        about_title = ""
        if draft.about is not None:
            about_course_id, about_title = asked.get(draft.about, (None, ""))
            if about_course_id != draft.course_id:
                results[index] = ValidationError(ABOUT_NOT_FOUND, code="not_found")
                continue
        attachments = [unused.get(pk) for pk in draft.attachment_ids]
        if not all(
            attachment is not None
            and attachment.room_id == draft.course_id
            and attachment.uploader_id == draft.author.pk
            for attachment in attachments
        ):
            results[index] = ValidationError(ATTACHMENT_NOT_FOUND, code="not_found")
            continue
        for attachment in attachments:
            del unused[attachment.pk]  # a later draft of the batch cannot take it again
        room = rooms[draft.course_id]
        room.last_seq += 1
        room.last_rev += 1
        message = Message(
            room=room, seq=room.last_seq, rev=room.last_rev, user=draft.author, text=draft.text,
            html=message_html(draft.text), client_id=draft.client_id, reply_to=original,
            has_attachments=bool(attachments), about_id=draft.about, about_title=about_title,
        )  # fmt: skip
        # message_frame reads these instead of querying for each message.
        message.attachment_list = attachments
        claimed.extend(attachments)
        created.append(message)
        if draft.client_id is not None:
            stored[key] = message
        results[index] = (message, True)
    if created:
        _messages_insert(created)
        _mentions_insert(_mentions_for(created))
        if claimed:
            for message in created:
                for attachment in message.attachment_list:
                    attachment.message_id = message.pk
            Attachment.objects.bulk_update(claimed, ["message"])
    return created


def _messages_insert(messages: list[Message]) -> None:
    """Store new messages (each given its id and `created`): what bulk_create does, at a
    fraction of its CPU on the writer's hot path (educa.db.rows_insert)."""
    now = timezone.now()
    created = value_for_db(Message, "created", now)
    no_reactions = value_for_db(Message, "reactions", [])
    ids = rows_insert(
        Message,
        ["room", "seq", "rev", "user", "text", "html", "client_id", "reply_to", "created",
         "reactions", "has_attachments", "about", "about_title"],
        [
            (m.room_id, m.seq, m.rev, m.user_id, m.text, m.html, m.client_id, m.reply_to_id,
             created, no_reactions, m.has_attachments, m.about_id, m.about_title)
            for m in messages
        ],
    )  # fmt: skip
    for message, pk in zip(messages, ids, strict=True):
        message.pk = pk
        message.created = now
        message._state.adding = False
        message._state.db = connection.alias


def _mentions_insert(mentions: list[tuple[Message, int]]) -> None:
    """Store mentions, (message, user id) each: unread, but read at once by its author (nobody
    is notified of their own words)."""
    read_now = value_for_db(Mention, "read_at", timezone.now())
    rows_insert(
        Mention,
        ["message", "user", "read_at"],
        [
            (message.pk, user_id, read_now if user_id == message.user_id else None)
            for message, user_id in mentions
        ],
    )


def _mentions_for(messages: list[Message]) -> list[tuple[Message, int]]:
    """The mentions of stored messages, (message, user id) each, every message given its
    `mention_names`. Members are resolved in one query for the whole batch."""
    candidates = {message.pk: mention_candidates(message.text) for message in messages}
    for message in messages:
        message.mention_names = []
    names = set().union(*candidates.values())
    if not names:
        return []
    rows = course_members_named(
        course_ids={message.room_id for message in messages}, usernames=names
    )
    # By room, each name a message may use: the alias always means the owner.
    members: dict[int, dict[str, tuple[int, str]]] = {}
    for course_id, user_id, username, is_owner in sorted(rows, key=lambda row: row[3]):
        room_members = members.setdefault(course_id, {})
        room_members[username] = (user_id, username)
        if is_owner:
            room_members[INSTRUCTOR_ALIAS] = (user_id, username)
    mentions = []
    for message in messages:
        room_members = members.get(message.room_id, {})
        named = dict(room_members[name] for name in candidates[message.pk] if name in room_members)
        message.mention_names = sorted(named.values())
        mentions.extend((message, user_id) for user_id in named)
    return mentions


def _attachments_unused(drafts: list[MessageDraft]) -> dict[int, Attachment]:
    """The uploads the drafts name that no message carries yet, by id: one query, none when no
    draft names any. Precondition: the drafts' rooms are locked (message_create_many), which is
    what keeps two batches from giving one upload to two messages.
    """
    ids = {pk for draft in drafts for pk in draft.attachment_ids}
    if not ids:
        return {}
    return {
        attachment.pk: attachment
        for attachment in Attachment.objects.filter(pk__in=ids, message__isnull=True)
    }


def messages_event(room_id: int, messages: list[Message], updated: list[Message]) -> dict:
    """The channel-layer event carrying what one transaction did to a room: its new messages
    (in seq order), then the messages it changed (`message.updated`, in rev order)."""
    return {
        "type": "chat.messages",
        "room": room_id,
        "messages": [
            {"seq": message.seq, "rev": message.rev, "frame": message_frame(message)}
            for message in messages
            if message.room_id == room_id
        ],
        "updates": [
            {"seq": message.seq, "rev": message.rev, "frame": message_updated_frame(message)}
            for message in updated
            if message.room_id == room_id
        ],
    }


def message_create(
    *,
    author,
    course: Course,
    text,
    client_id: str | None = None,
    reply_to: int | None = None,
    about: int | None = None,
) -> tuple[Message, bool]:
    """Store one message (see message_create_many); (message, created) or a ValidationError."""
    draft = MessageDraft(
        author=author,
        course_id=course.pk,
        text=text,
        client_id=client_id,
        reply_to=reply_to,
        about=about,
    )
    (result,) = message_create_many([draft])
    if isinstance(result, ValidationError):
        raise result
    return result


def _room_rev_take(course_id: int) -> int | None:
    """Lock the room's row until the transaction ends and take its next rev (None: no room).

    One statement: the same row lock that numbers new messages orders every change.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chat_room SET last_rev = last_rev + 1 WHERE course_id = %s RETURNING last_rev",
            [course_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _message_for_change(*, course_id: int, message_id) -> tuple[Message, int]:
    """A live message of the room and the rev its change takes, the room locked meanwhile.

    Raises ValidationError coded invalid_frame (not an id) or not_found (no such message, or a
    tombstone). Precondition: inside a transaction.
    """
    if isinstance(message_id, bool) or not isinstance(message_id, int):
        raise ValidationError(MESSAGE_ID_INVALID, code="invalid_frame")
    rev = _room_rev_take(course_id)
    message = None
    if rev is not None:
        message = (
            Message.objects.select_related("user", "reply_to__user")
            .filter(room_id=course_id, pk=message_id, deleted_at__isnull=True)
            .first()
        )
    if message is None:
        raise ValidationError(MESSAGE_NOT_FOUND, code="not_found")
    return message, rev


def _message_changed(message: Message, *, rev: int, fields: list[str]) -> None:
    """Store a message's change under its new rev; its `message.updated` follows the commit."""
    message.rev = rev
    message.save(update_fields=[*fields, "rev"])
    event_publish_on_commit(room_group(message.room_id), message_updated_event(message))


def _questions_shown_change(message: Message) -> None:
    """A question's or an answer's text changes: so do the study view's lists of its course."""
    if message.about_id is not None or Message.objects.filter(answer=message).exists():
        questions_changed_on_commit([message.room_id])


def message_updated_event(message: Message) -> dict:
    """The channel-layer event carrying a change to a sent message."""
    return {
        "type": "chat.updated",
        "room": message.room_id,
        "seq": message.seq,
        "rev": message.rev,
        "frame": message_updated_frame(message),
    }


def _room_lock(course_id: int) -> None:
    """Lock the room's row until the transaction ends, as every change of its messages does
    first: one lock order, no deadlock."""
    list(Room.objects.select_for_update().filter(pk=course_id).values_list("pk"))


@transaction.atomic
def message_delete(*, actor, course: Course, message_id: int) -> tuple[Message, bool]:
    """Turn a message into a tombstone (it keeps its seq); (message, changed).

    The course owner may delete any message, an author their own within CHAT_DELETE_WINDOW
    seconds. Deleting a tombstone again changes nothing. Raises ValidationError coded
    not_found or forbidden.
    """
    _room_lock(course.pk)
    message = (
        Message.objects.select_related("user", "reply_to__user")
        .filter(room_id=course.pk, pk=message_id)
        .first()
    )
    if message is None:
        raise ValidationError(MESSAGE_NOT_FOUND, code="not_found")
    window = timedelta(seconds=settings.CHAT_DELETE_WINDOW)
    is_owner = course.owner_id == actor.pk
    is_recent_author = message.user_id == actor.pk and timezone.now() - message.created <= window
    if not (is_owner or is_recent_author):
        raise ValidationError(
            DELETE_FORBIDDEN, code="forbidden", params={"minutes": window.seconds // 60}
        )
    return message, message_tombstone(message=message)


def message_tombstone(*, message: Message) -> bool:
    """Erase a message's text, earlier texts, reactions and pin and mark it deleted, keeping
    its seq and taking the room's next rev; False if it already was. The questions it answered
    are open again (each a change of its own).

    No permission check: for message_delete and staff moderation in the admin. Runs in the
    caller's transaction, or commits at once.
    """
    with transaction.atomic():
        rev = _room_rev_take(message.room_id)
        message.refresh_from_db(fields=["deleted_at"])
        if message.is_deleted:
            # The rev is given back: revs stay gapless.
            transaction.set_rollback(True)
            return False
        message.deleted_at = timezone.now()
        message.text = ""
        message.html = ""
        message.pinned_at = None
        message.reactions = []
        message.rev = rev
        message.save(update_fields=["deleted_at", "text", "html", "pinned_at", "reactions", "rev"])
        MessageEdit.objects.filter(message=message).delete()
        Reaction.objects.filter(message=message).delete()
        _questions_shown_change(message)
        _answers_withdrawn(message)
        event_publish_on_commit(
            room_group(message.room_id),
            {
                "type": "chat.deleted",
                "room": message.room_id,
                "seq": message.seq,
                "rev": message.rev,
                "frame": message_deleted_frame(message),
            },
        )
    return True


def _answers_withdrawn(answer: Message) -> None:
    """A deleted message answers nothing: the questions it answered are open again, each
    under the room's next rev. Precondition: the room's row is locked (by a rev taken)."""
    questions = Message.objects.select_related("user", "reply_to__user").filter(answer=answer)
    for question in questions.order_by("seq"):
        question.answer = None
        _message_changed(question, rev=_room_rev_take(answer.room_id), fields=["answer"])


@transaction.atomic
def message_edit(*, actor, course: Course, message_id, text) -> Message:
    """The author replaces their message's text within CHAT_EDIT_WINDOW seconds; the earlier
    text is kept (MessageEdit) and its mentions follow the new text. Raises ValidationError
    coded invalid_frame, empty, too_long, not_found, forbidden, edit_window_closed or muted.
    """
    text = message_text_clean(text)
    message, rev = _message_for_change(course_id=course.pk, message_id=message_id)
    if message.user_id != actor.pk:
        raise ValidationError(EDIT_FORBIDDEN, code="forbidden")
    window = timedelta(seconds=settings.CHAT_EDIT_WINDOW)
    now = timezone.now()
    if now - message.created > window:
        raise ValidationError(
            EDIT_WINDOW_CLOSED, code="edit_window_closed", params={"minutes": window.seconds // 60}
        )
    mute = mutes_active(course_ids=[course.pk], user_ids=[actor.pk]).get((course.pk, actor.pk))
    if mute is not None:
        until = iso_utc(mute.until)
        raise ValidationError(MUTED, code="muted", params={"until": until})
    MessageEdit.objects.create(message=message, text=message.text, replaced_at=now)
    message.text = text
    message.html = message_html(text)
    message.edited_at = now
    _mentions_replace(message)
    _message_changed(message, rev=rev, fields=["text", "html", "edited_at"])
    _questions_shown_change(message)
    return message


def _mentions_replace(message: Message) -> None:
    """An edited message mentions whom its new text names: a member no longer named loses the
    mention (and its notification), one named anew gets an unread one, the others keep theirs
    as they are (read or not, e-mailed or not)."""
    named = {user_id for _, user_id in _mentions_for([message])}
    Mention.objects.filter(message=message).exclude(user_id__in=named).delete()
    kept = set(Mention.objects.filter(message=message).values_list("user_id", flat=True))
    _mentions_insert([(message, user_id) for user_id in sorted(named - kept)])


def message_react(*, actor, course: Course, message_id, emoji) -> Message:
    """Add the member's reaction to a message, or take it back if it is there (see
    room_changes_store, which the chat's writer calls with many).

    Raises ValidationError coded invalid_frame (not one of REACTION_EMOJI) or not_found.
    Precondition: the actor is a member.
    """
    draft = ReactionDraft(actor=actor, course_id=course.pk, message_id=message_id, emoji=emoji)
    (result,) = room_changes_store([], [draft])[1]
    if isinstance(result, ValidationError):
        raise result
    return result


def _reactions_toggle(
    toggles: list[tuple[int, ReactionDraft]], *, rooms: dict[int, Room], results: list
) -> list[Message]:
    """Toggle the reactions in order, each result (the message, or not_found) at its index; the
    messages changed, each under its room's next rev, in the order first toggled.

    A few queries whatever their number. Precondition: the rooms are locked; the caller saves
    their counters.
    """
    if not toggles:
        return []
    ids = {draft.message_id for _, draft in toggles}
    invalid = {pk for pk in ids if isinstance(pk, bool) or not isinstance(pk, int)}
    live = Message.objects.filter(room_id__in=rooms.keys(), pk__in=ids - invalid, deleted_at=None)
    messages = {message.pk: message for message in messages_for_frames(live)}
    # Every reaction of those messages, first reaction first: (message, user, emoji) -> (the
    # stored row's id, or None for one added in this batch; the user name).
    rows: dict[tuple[int, int, str], tuple[int | None, str]] = {
        (message_id, user_id, emoji): (pk, username)
        for pk, message_id, user_id, emoji, username in Reaction.objects.filter(
            message_id__in=messages
        )
        .order_by("pk")
        .values_list("pk", "message_id", "user_id", "emoji", "user__username")
    }
    removed: list[int] = []
    changed: dict[int, Message] = {}
    for index, draft in toggles:
        if draft.message_id in invalid:
            results[index] = ValidationError(MESSAGE_ID_INVALID, code="invalid_frame")
            continue
        message = messages.get(draft.message_id)
        if message is None or message.room_id != draft.course_id:
            results[index] = ValidationError(MESSAGE_NOT_FOUND, code="not_found")
            continue
        key = (message.pk, draft.actor.pk, draft.emoji)
        if key in rows:
            stored, _ = rows.pop(key)
            if stored is not None:
                removed.append(stored)
        else:
            # Last in the dict: a new row's id follows every stored one, in toggle order.
            rows[key] = (None, draft.actor.get_username())
        changed.setdefault(message.pk, message)
        results[index] = message
    if not changed:
        return []
    Reaction.objects.filter(pk__in=removed).delete()
    added = value_for_db(Reaction, "created", timezone.now())
    rows_insert(
        Reaction,
        ["message", "user", "emoji", "created"],
        [(*key, added) for key, (pk, _) in rows.items() if pk is None],
    )
    summaries = _reactions_summaries(
        (message_id, emoji, username) for (message_id, _, emoji), (_, username) in rows.items()
    )
    for message in changed.values():
        room = rooms[message.room_id]
        room.last_rev += 1
        message.rev = room.last_rev
        message.reactions = summaries.get(message.pk, [])
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE chat_message SET reactions = %s, rev = %s WHERE id = %s",
            [
                (value_for_db(Message, "reactions", message.reactions), message.rev, message.pk)
                for message in changed.values()
            ],
        )
    return list(changed.values())


@transaction.atomic
def reactions_remove_for_user(*, user) -> None:
    """Take back every reaction of a user whose account is being deleted, so that their name
    leaves the messages: each message changed takes its room's next rev and is announced."""
    message_ids = set(Reaction.objects.filter(user=user).values_list("message_id", flat=True))
    if not message_ids:
        return
    Reaction.objects.filter(user=user).delete()
    summaries = _reactions_summaries(
        Reaction.objects.filter(message_id__in=message_ids)
        .order_by("id")
        .values_list("message_id", "emoji", "user__username")
    )
    # Room by room in id order, as room_changes_store locks them: no deadlock.
    messages = Message.objects.filter(pk__in=message_ids).select_related("user", "reply_to__user")
    for message in messages.order_by("room_id", "seq"):
        rev = _room_rev_take(message.room_id)
        message.reactions = summaries.get(message.pk, [])
        _message_changed(message, rev=rev, fields=["reactions"])


def _reactions_summaries(reactions) -> dict[int, list]:
    """Message.reactions of each message from its reactions, (message id, emoji, user name) in
    the order they were made: [[emoji, [username, ...]], ...], first reaction first."""
    summaries: dict[int, dict[str, list[str]]] = {}
    for message_id, emoji, username in reactions:
        summaries.setdefault(message_id, {}).setdefault(emoji, []).append(username)
    return {
        message_id: [[emoji, names] for emoji, names in by_emoji.items()]
        for message_id, by_emoji in summaries.items()
    }


@transaction.atomic
def message_pin(*, actor, course: Course, message_id, pinned: bool) -> tuple[Message, bool]:
    """The course owner pins (or unpins) a message; (message, changed).

    Raises ValidationError coded invalid_frame, not_found or forbidden.
    """
    if course.owner_id != actor.pk:
        raise ValidationError(PIN_FORBIDDEN, code="forbidden")
    message, rev = _message_for_change(course_id=course.pk, message_id=message_id)
    if (message.pinned_at is not None) == pinned:
        # Nothing changes: the rev is given back, revs stay gapless.
        transaction.set_rollback(True)
        return message, False
    message.pinned_at = timezone.now() if pinned else None
    _message_changed(message, rev=rev, fields=["pinned_at"])
    return message, True


@transaction.atomic
def question_answer(*, actor, course: Course, message_id, answer_id) -> tuple[Message, bool]:
    """Mark another live message of the room as a question's answer (answer_id None clears it);
    (question, changed). The course owner and the asker may.

    Raises ValidationError coded invalid_frame, not_found (no such question, or no such answer)
    or forbidden.
    """
    if answer_id is not None and (
        isinstance(answer_id, bool)
        or not isinstance(answer_id, int)
        or not 1 <= answer_id <= BIGINT_MAX
    ):
        raise ValidationError(ANSWER_ID_INVALID, code="invalid_frame")
    message, rev = _message_for_change(course_id=course.pk, message_id=message_id)
    if message.about_id is None:
        raise ValidationError(NOT_A_QUESTION, code="not_found")
    if actor.pk not in (course.owner_id, message.user_id):
        raise ValidationError(ANSWER_FORBIDDEN, code="forbidden")
    answer = None
    if answer_id is not None:
        answer = (
            Message.objects.filter(room_id=course.pk, pk=answer_id, deleted_at__isnull=True)
            .exclude(pk=message.pk)
            .first()
        )
        if answer is None:
            raise ValidationError(ANSWER_NOT_FOUND, code="not_found")
    if message.answer_id == answer_id:
        # Nothing changes: the rev is given back, revs stay gapless.
        transaction.set_rollback(True)
        return message, False
    message.answer = answer
    _message_changed(message, rev=rev, fields=["answer"])
    questions_changed_on_commit([course.pk])
    return message, True


@transaction.atomic
def member_mute(*, actor, course: Course, username, minutes) -> Mute:
    """The course owner silences a member for 1 to 1440 minutes (replacing an earlier mute).

    Raises ValidationError coded forbidden, not_found or invalid_frame.
    """
    if course.owner_id != actor.pk:
        raise ValidationError(MUTE_FORBIDDEN, code="forbidden")
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MUTE_MINUTES_MAX
    ):
        raise ValidationError(MUTE_MINUTES, code="invalid_frame")
    target = None
    if isinstance(username, str) and _printable(username):
        target = get_user_model().objects.filter(username=username).first()
    if target is None or not course_is_member(user=target, course=course):
        raise ValidationError(MUTE_NOT_MEMBER, code="not_found")
    if target.pk == course.owner_id:
        raise ValidationError(MUTE_OWNER, code="forbidden")
    room, _ = Room.objects.get_or_create(course=course)
    mute, _ = Mute.objects.update_or_create(
        room=room,
        user=target,
        defaults={"until": timezone.now() + timedelta(minutes=minutes), "created_by": actor},
    )
    event_publish_on_commit(
        room_group(course.pk), {"type": "chat.muted", "room": course.pk, "frame": mute_frame(mute)}
    )
    return mute


@transaction.atomic
def member_unmute(*, actor, course: Course, username) -> None:
    """The course owner lifts a member's mute before it runs out.

    Raises ValidationError coded forbidden, or not_found when no such member is muted.
    """
    if course.owner_id != actor.pk:
        raise ValidationError(UNMUTE_FORBIDDEN, code="forbidden")
    deleted = 0
    if isinstance(username, str) and _printable(username):
        deleted, _ = Mute.objects.filter(
            room_id=course.pk, user__username=username, until__gt=timezone.now()
        ).delete()
    if not deleted:
        raise ValidationError(UNMUTE_NOT_MUTED, code="not_found")
    event_publish_on_commit(
        room_group(course.pk),
        {"type": "chat.unmuted", "room": course.pk, "frame": unmute_frame(username)},
    )


def read_marker_update(*, user, course_id: int, seq: int | None = None) -> None:
    """Move the user's read marker forward to `seq`, or to the room's end when None, and mark
    the user's mentions up to it read.

    Never moves it back nor past the room's newest message.
    """
    last_seq = Room.objects.filter(pk=course_id).values_list("last_seq", flat=True).first()
    if last_seq is None:
        return
    seq = last_seq if seq is None else max(0, min(seq, last_seq))
    moved = ReadMarker.objects.filter(room_id=course_id, user=user, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if not moved:
        ReadMarker.objects.get_or_create(
            room_id=course_id, user=user, defaults={"last_read_seq": seq}
        )
    # A mention the member has read past is no longer news.
    Mention.objects.filter(
        user=user, read_at__isnull=True, message__room_id=course_id, message__seq__lte=seq
    ).update(read_at=timezone.now())


def mentions_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread mentions read: all of them, or those of `ids` (others' ids and
    unknown ones are ignored). How many changed."""
    mentions = Mention.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        mentions = mentions.filter(pk__in=ids)
    return mentions.update(read_at=timezone.now())


async def typing_announce(*, course_id: int, username: str) -> None:
    """Tell the room's other members that the user is typing (nothing is stored)."""
    await event_publish(
        room_group(course_id), {"type": "chat.typing", "room": course_id, "user": username}
    )


def access_changed(
    *,
    user_id: int | None = None,
    course_id: int | None = None,
    session_key: str | None = None,
    close: int | None = None,
) -> None:
    """After commit, make every server re-check (or with `close`, end) the matching sockets.

    user_id alone: all the user's sockets; with course_id: those in that room; with session_key:
    those opened with that session. course_id alone: everyone in the room is re-checked.
    """
    event_publish_on_commit(
        CONTROL_GROUP,
        {
            "type": "chat.access",
            "user": user_id,
            "room": course_id,
            "session": session_key,
            "close": close,
        },
    )


# --- attachments ------------------------------------------------------------------------------


def attachment_size_check(upload) -> None:
    """Refuse an empty upload or one over CHAT_ATTACHMENT_MAX_BYTES (ValidationError)."""
    limit = settings.CHAT_ATTACHMENT_MAX_BYTES
    if not upload.size:
        raise ValidationError(ATTACHMENT_EMPTY, code="empty_file")
    if upload.size > limit:
        raise ValidationError(
            ATTACHMENT_TOO_LARGE,
            code="file_too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )


def attachment_name_clean(name) -> str:
    """The name an upload is shown and downloaded under: its last path part, without control
    or invisible formatting characters (a right-to-left override could fake the suffix), no
    leading dots, at most ATTACHMENT_NAME_MAX characters with its suffix kept; never empty.
    """
    name = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > ATTACHMENT_NAME_MAX:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[: ATTACHMENT_NAME_MAX - len(suffix)].rstrip() + suffix
    return name or "file"


def _image_encoded(image: PILImage.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def _image_clean(upload, image_format: str) -> tuple[bytes, bytes]:
    """The image re-encoded without its metadata (EXIF, GPS, comments), turned upright as its
    EXIF said, and a thumbnail of it. Precondition: raster_format accepted it."""
    upload.seek(0)
    with PILImage.open(upload, formats=[image_format]) as opened:
        image = ImageOps.exif_transpose(opened)
        # Nothing of the original's metadata travels into what is saved.
        image.info = {}
        full = _image_encoded(image, image_format)
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        thumbnail = _image_encoded(image, image_format)
    return full, thumbnail


def _is_image_claimed(upload, name: str) -> bool:
    content_type = getattr(upload, "content_type", None) or ""
    return (
        raster_suffix(upload) is not None
        or PurePosixPath(name).suffix.lower() in IMAGE_NAME_SUFFIXES
        or content_type.startswith("image/")
    )


def attachment_create(*, uploader, course: Course, upload) -> Attachment:
    """Store a member's upload to the course's room, for a message of theirs to carry.

    Anything that looks like an image (by content, name or declared type) must be a PNG, JPEG,
    GIF or WebP that Pillow decodes within UPLOAD_MAX_IMAGE_PIXELS; it is stored re-encoded
    with a thumbnail. Anything else is kept as it is and only ever served as a download.
    Raises ValidationError coded empty_file, file_too_large, invalid_image or image_too_large.
    Precondition: the uploader is a member of the course.
    """
    attachment_size_check(upload)
    name = attachment_name_clean(upload.name)
    stored_name = uuid.uuid4().hex
    thumbnail = None
    if _is_image_claimed(upload, name):
        image_format = raster_format(upload)
        body, thumbnail = _image_clean(upload, image_format)
        suffix = RASTER_FORMATS[image_format]
        content_type = RASTER_CONTENT_TYPES[suffix]
        content = ContentFile(body, name=stored_name + suffix)
    else:
        suffix = ".bin"
        content_type = "application/octet-stream"
        content = upload
    room, _ = Room.objects.get_or_create(course_id=course.pk)
    attachment = Attachment(
        room=room, uploader=uploader, name=name, size=content.size, content_type=content_type
    )
    attachment.file.save(stored_name + suffix, content, save=False)
    if thumbnail is not None:
        attachment.thumbnail.save(
            f"{stored_name}-thumbnail{suffix}", ContentFile(thumbnail), save=False
        )
    attachment.save()
    return attachment


def attachment_prune(*, now=None) -> int:
    """Delete uploads no message took within CHAT_ATTACHMENT_UNUSED_TTL seconds, and those of
    deleted messages (no longer served); their files go after the commit. How many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CHAT_ATTACHMENT_UNUSED_TTL)
    unused = Attachment.objects.filter(message__isnull=True, created__lt=cutoff)
    of_deleted = Attachment.objects.filter(message__deleted_at__isnull=False)
    count = 0
    for attachments in (unused, of_deleted):
        # One by one: each deletion's receiver removes that row's files from storage.
        for attachment in attachments.iterator():
            attachment.delete()
            count += 1
    return count
