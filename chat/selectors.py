"""Reads about chat rooms: messages, history pages, unread counts and access re-checks."""

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from django.contrib.auth import get_user, get_user_model
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    F,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Replace, RowNumber
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from courses.models import Content, Course
from courses.selectors import content_titles_annotate
from educa.cache_tokens import cache_token, cache_token_bump
from educa.db import first_or_404
from students.selectors import (
    COURSE_MEMBER_SQL,
    Refusal,
    course_get_for_member,
    course_member_sql_params,
    course_membership_refusal,
    course_membership_refusals,
)

from .models import Attachment, Mention, Message, MessageEdit, Mute, Room
from .rendering import html_excerpt
from .rendering import message_html as text_to_html

# The most messages one history request (frame or API call) returns.
HISTORY_LIMIT_MAX = 100
HISTORY_LIMIT_DEFAULT = 50
# How many messages a resume or catch-up reads from the database at a time.
REPLAY_BATCH = 500

DELETED_USER_LABEL = "deleted user"

# The reactions a message can carry (docs/websocket-protocol.md lists them), in picker order.
REACTION_EMOJI = (
    "👍", "👎", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👏", "🔥",
    "🤔", "👀", "✅", "❌", "💯", "🚀", "💡", "❓", "🙌", "😅",
)  # fmt: skip


@dataclass(frozen=True)
class MessagePage:
    """Messages oldest first, and whether more exist beyond them in the direction asked."""

    messages: list[Message]
    has_more: bool


def iso_utc(moment: datetime) -> str:
    """A moment as the frames carry it: ISO 8601 in UTC, "Z" for the zone."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def message_html(message: Message) -> str | None:
    """The message's sanitised HTML (None when deleted); rendered now for older rows."""
    if message.is_deleted:
        return None
    if message.html is None:
        return text_to_html(message.text)
    return message.html


def reply_frame(original: Message) -> dict:
    """What a reply shows of the message it answers: a short excerpt, or a tombstone."""
    if original.is_deleted:
        return {"id": original.pk, "seq": original.seq, "user": None, "excerpt": None,
                "deleted": True}  # fmt: skip
    return {
        "id": original.pk,
        "seq": original.seq,
        "user": original.user.get_username() if original.user is not None else None,
        "excerpt": html_excerpt(message_html(original)),
        "deleted": False,
    }


def message_frame(message: Message) -> dict:
    """The protocol's `message` frame for a stored message (a tombstone when deleted).

    Precondition: `message.user`, and `message.reply_to` with its user when it answers one,
    are loaded (select_related) or the caller accepts queries.
    """
    frame = {
        "type": "message",
        "id": message.pk,
        "seq": message.seq,
        "message": None if message.is_deleted else message.text,
        "user": message.user.get_username() if message.user is not None else None,
        "datetime": iso_utc(message.created),
        "client_id": message.client_id,
        "deleted": message.is_deleted,
    }
    frame.update(message_state(message))
    return frame


def message_state(message: Message) -> dict:
    """What of a message can change after it is sent, as every frame about it carries it."""
    return {
        "rev": message.rev,
        "edited_at": iso_utc(message.edited_at) if message.edited_at else None,
        "reactions": {emoji: list(names) for emoji, names in message.reactions},
        "pinned": message.pinned_at is not None,
        **message_extras(message),
    }


def message_extras(message: Message) -> dict:
    """What of a message its frames carry besides text and rev: HTML, reply, mentions, files and
    question."""
    reply_to = None
    if message.reply_to_id is not None and not message.is_deleted:
        reply_to = reply_frame(message.reply_to)
    return {
        "html": message_html(message),
        "reply_to": reply_to,
        "mentions": message_mention_names(message),
        "attachments": (
            [] if message.is_deleted else [attachment_frame(a) for a in _attachments_of(message)]
        ),
        "question": question_frame(message),
    }


def question_frame(message: Message) -> dict | None:
    """What a question's frames say of it (None for other messages and tombstones)."""
    if message.about_id is None or message.is_deleted:
        return None
    return {
        "content_id": message.about_id,
        "content_title": message.about_title,
        "answer_id": message.answer_id,
    }


def message_updated_frame(message: Message) -> dict:
    """The protocol's `message.updated` frame: a sent message's whole current state.

    Precondition: `message.user` is loaded (select_related) or the caller accepts a query.
    """
    state = message_state(message)
    return {
        "type": "message.updated",
        "id": message.pk,
        "seq": message.seq,
        "rev": message.rev,
        "message": None if message.is_deleted else message.text,
        "html": state["html"],
        "deleted": message.is_deleted,
        "edited_at": state["edited_at"],
        "reply_to": state["reply_to"],
        "mentions": state["mentions"],
        "reactions": state["reactions"],
        "attachments": state["attachments"],
        "pinned": state["pinned"],
        "question": state["question"],
        "user": message.user.get_username() if message.user is not None else None,
        "datetime": iso_utc(message.created),
    }


def message_deleted_frame(message: Message) -> dict:
    """The protocol's live `message.deleted` frame."""
    return {"type": "message.deleted", "id": message.pk, "seq": message.seq, "rev": message.rev}


def message_mention_names(message: Message) -> list[str]:
    """The user names a message mentions, sorted (none once deleted).

    Precondition: the message was stored by chat.services (which sets `mention_names`) or read
    through messages_with_mentions(); otherwise this costs a query.
    """
    if message.is_deleted:
        return []
    names = getattr(message, "mention_names", None)
    if names is None:
        if hasattr(message, "mention_list"):
            names = sorted((message.mention_list or "").split())
        else:
            names = sorted(message.mentions.values_list("user__username", flat=True))
    return names


class _NameList(Aggregate):
    """User names joined by spaces (a user name holds none), in PostgreSQL and SQLite alike."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ' ')"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra_context)


def messages_with_mentions(messages: QuerySet[Message]) -> QuerySet[Message]:
    """The messages, each with the names it mentions read in the same query (`mention_list`)."""
    names = (
        Mention.objects.filter(message=OuterRef("pk"))
        .order_by()
        .values("message")
        .annotate(names=_NameList("user__username"))
        .values("names")
    )
    return messages.annotate(mention_list=Subquery(names))


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
    attachment = first_or_404(
        Attachment.objects.select_related("message").filter(pk=attachment_id),
        _("No such attachment."),
    )
    course_get_for_member(user=user, course_id=attachment.room_id)
    if attachment.message is None:
        if attachment.uploader_id != user.pk:
            raise Http404(_("No such attachment."))
    elif attachment.message.is_deleted:
        raise Http404(_("No such attachment."))
    return attachment


def mute_frame(mute: Mute) -> dict:
    return {"type": "member.muted", "user": mute.user.get_username(), "until": iso_utc(mute.until)}


def unmute_frame(username: str) -> dict:
    return {"type": "member.unmuted", "user": username}


def _messages(*, course_id: int) -> QuerySet[Message]:
    return messages_with_mentions(
        Message.objects.filter(room_id=course_id).select_related("user", "reply_to__user")
    )


def messages_for_frames(messages: QuerySet[Message]) -> list[Message]:
    """The messages with all their frames read: authors, the messages they reply to with their
    authors and the names they mention in one query, their attachments in one more (if any)."""
    return messages_with_attachments(
        list(messages_with_mentions(messages.select_related("user", "reply_to__user")))
    )


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


def message_list_changed(
    *, course_id: int, upto_seq: int, after_rev: int, upto_rev: int | None = None
) -> list[Message]:
    """Messages with seq <= upto_seq changed after `after_rev` (and last changed at or before
    `upto_rev`, if given), in rev order, in one batch.

    At most REPLAY_BATCH rows: callers loop (from the last rev read) until they have all.
    """
    messages = _messages(course_id=course_id).filter(seq__lte=upto_seq, rev__gt=after_rev)
    if upto_rev is not None:
        messages = messages.filter(rev__lte=upto_rev)
    return messages_with_attachments(list(messages.order_by("rev")[:REPLAY_BATCH]))


def message_list_pinned(*, course_id: int) -> list[Message]:
    """The room's pinned messages, most recently pinned first."""
    messages = _messages(course_id=course_id).filter(pinned_at__isnull=False)
    return messages_with_attachments(list(messages.order_by("-pinned_at", "-seq")))


def message_edit_list(*, message: Message) -> list[MessageEdit]:
    """A message's earlier texts, oldest first."""
    return list(MessageEdit.objects.filter(message=message).order_by("replaced_at", "id"))


def message_get_for_moderator(*, user, message_id: int) -> Message:
    """A message for its course's owner or staff (its earlier texts are theirs to read).

    Raises PermissionDenied for the course's other members and Http404 for anyone else or an
    unknown message.
    """
    message = Message.objects.select_related("room__course").filter(pk=message_id).first()
    course = message.room.course if message is not None else None
    if course is not None and (user.is_staff or course.owner_id == user.pk):
        return message
    if course is not None and course_membership_refusal(user=user, course=course) is None:
        raise PermissionDenied
    raise Http404(_("No such message."))


def room_position(*, course_id: int) -> tuple[int, int]:
    """The room's (last_seq, last_rev), (0, 0) for a room not yet created."""
    found = Room.objects.filter(pk=course_id).values_list("last_seq", "last_rev").first()
    return found or (0, 0)


def room_positions(*, course_ids) -> dict[int, tuple[int, int]]:
    """The (last_seq, last_rev) of each of the rooms, in one query."""
    found = {
        pk: (seq, rev)
        for pk, seq, rev in Room.objects.filter(pk__in=list(course_ids)).values_list(
            "pk", "last_seq", "last_rev"
        )
    }
    return {course_id: found.get(course_id, (0, 0)) for course_id in course_ids}


# --- search -----------------------------------------------------------------------------------

# The most characters of a query: longer ones are refused (the API says so).
SEARCH_MAX_LENGTH = 200
# What marks a match inside PostgreSQL's headline, before escaping turns the rest into text:
# characters of Unicode's private use area, taken out of the text the headline is made from so
# that a message cannot forge a mark.
_MARK_START, _MARK_STOP = "\ue000", "\ue001"
_EXCERPT_CHARACTERS = 200


def _marked(headline: str) -> str:
    """The headline as HTML: everything escaped, then each match put in <mark>."""
    return escape(headline).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")


def _excerpt_without_search_engine(text: str, words: list[str]) -> str:
    """The start of the text around its first match, each match marked (for SQLite)."""
    lowered = text.lower()
    first = min((lowered.find(word) for word in words if word in lowered), default=0)
    start = max(0, first - _EXCERPT_CHARACTERS // 4)
    excerpt = text[start : start + _EXCERPT_CHARACTERS]
    marked, position, lowered_excerpt = [], 0, excerpt.lower()
    while position < len(excerpt):
        found = [
            (index, word) for word in words if (index := lowered_excerpt.find(word, position)) != -1
        ]
        if not found:
            marked.append(escape(excerpt[position:]))
            break
        index, word = min(found, key=lambda hit: (hit[0], -len(hit[1])))
        marked.append(escape(excerpt[position:index]))
        marked.append(f"<mark>{escape(excerpt[index : index + len(word)])}</mark>")
        position = index + len(word)
    prefix = "… " if start else ""
    suffix = " …" if start + _EXCERPT_CHARACTERS < len(text) else ""
    return prefix + "".join(marked) + suffix


def message_search(
    *, course_id: int, words: str, limit: int = HISTORY_LIMIT_DEFAULT
) -> MessagePage:
    """The room's live messages matching `words`, best first, each with `excerpt`: HTML of the
    matching passage, its text escaped and the matches in <mark>.

    PostgreSQL: full-text search with the `simple` configuration (web-search syntax: words,
    "quoted phrases", -excluded), ranked, over the GIN index on the text. Elsewhere (SQLite):
    messages containing every word, whatever the case, newest first. Precondition: the caller
    checked membership; `words` is not blank.
    """
    limit = max(1, min(limit, HISTORY_LIMIT_MAX))
    messages = _messages(course_id=course_id).filter(deleted_at__isnull=True)
    if connection.vendor == "postgresql":
        # The expression of the index (chat/migrations/0004_mentions_search.py), so it serves.
        vector = SearchVector("text", config="simple")
        query = SearchQuery(words, config="simple", search_type="websearch")
        unmarkable = Replace(Replace("text", Value(_MARK_START)), Value(_MARK_STOP))
        messages = (
            messages.annotate(document=vector)
            .filter(document=query)
            .annotate(
                rank=SearchRank(vector, query),
                headline=SearchHeadline(
                    unmarkable,
                    query,
                    config="simple",
                    start_sel=_MARK_START,
                    stop_sel=_MARK_STOP,
                    min_words=10,
                    max_words=30,
                ),
            )
            .order_by("-rank", "-seq")
        )
        rows = list(messages[: limit + 1])
        for message in rows:
            message.excerpt = _marked(message.headline)
    else:
        terms = [term.lower() for term in words.split()]
        for term in terms:
            messages = messages.filter(text__icontains=term)
        rows = list(messages.order_by("-seq")[: limit + 1])
        for message in rows:
            message.excerpt = _excerpt_without_search_engine(message.text, terms)
    return MessagePage(messages=rows[:limit], has_more=len(rows) > limit)


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
    # A room has few running mutes: reading them all is cheaper than a filter on the users (a
    # parameter each, a hundred for the writer's batch).
    user_ids = set(user_ids)
    mutes = Mute.objects.filter(room_id__in=list(course_ids), until__gt=timezone.now())
    return {(mute.room_id, mute.user_id): mute for mute in mutes if mute.user_id in user_ids}


def mutes_for_room(*, course_id: int) -> dict[str, str]:
    """The room's running mutes: user name -> until (ISO 8601 UTC, as in member.muted)."""
    mutes = Mute.objects.filter(room_id=course_id, until__gt=timezone.now()).select_related("user")
    return {mute.user.get_username(): iso_utc(mute.until) for mute in mutes}


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
  ) AS unread,
  (SELECT count(*) FROM chat_mention n JOIN chat_message m ON m.id = n.message_id
    WHERE n.user_id = %(user)s AND n.read_at IS NULL
      AND m.room_id = c.id AND m.deleted_at IS NULL
  ) AS mentions
FROM courses_course c
WHERE {COURSE_MEMBER_SQL}
ORDER BY c.title, c.id
"""  # noqa: S608


def course_list_for_chat(*, user) -> list[Course]:
    """Courses whose room the user may enter, by title, each with `unread`: the live messages
    of others above the user's read marker, and `mentions`: the user's unread mentions there.
    One query; only id and title are loaded.
    """
    params = course_member_sql_params(user=user)
    if params is None:
        return []
    return list(Course.objects.raw(_ROOMS_FOR_USER_SQL, params))


# --- notifications ----------------------------------------------------------------------------

_ROOM_IDS_FOR_USER_SQL = f"SELECT c.id FROM courses_course c WHERE {COURSE_MEMBER_SQL}"  # noqa: S608


def mentions_unread(*, user) -> QuerySet[Mention]:
    """The user's unread mentions in live messages of rooms they may enter (the membership
    rule's SQL twin, as in course_list_for_chat), newest first."""
    params = course_member_sql_params(user=user)
    if params is None:
        return Mention.objects.none()
    rooms = Course.objects.raw(_ROOM_IDS_FOR_USER_SQL, params)
    return (
        Mention.objects.filter(
            user=user,
            read_at__isnull=True,
            message__deleted_at__isnull=True,
            message__room_id__in=[course.pk for course in rooms],
        )
        .select_related("message__user", "message__room__course")
        .order_by("-message__created", "-pk")
    )


# --- questions about course content -----------------------------------------------------------

# How many questions the study view shows under a content item (the newest).
QUESTIONS_PER_CONTENT = 5


def _questions_version_key(course_id: int) -> str:
    return f"chat:questions:{course_id}"


def questions_version(*, course_id: int) -> str:
    """A token that changes whenever a question of the course, or its answer, changes: part of
    the cache keys of whatever shows them."""
    return cache_token(_questions_version_key(course_id))


def questions_version_bump(*, course_id: int) -> None:
    """Make everything cached under the course's questions version stale."""
    cache_token_bump(_questions_version_key(course_id))


def _questions() -> QuerySet[Message]:
    return Message.objects.filter(about__isnull=False, deleted_at__isnull=True).select_related(
        "user", "reply_to__user", "answer__user"
    )


def answer_frame(answer: Message) -> dict:
    """What a question's listing shows of its answer."""
    return {
        "id": answer.pk,
        "seq": answer.seq,
        "user": answer.user.get_username() if answer.user is not None else None,
        "html": message_html(answer),
        "deleted": answer.is_deleted,
        "datetime": iso_utc(answer.created),
    }


def question_with_answer_frame(question: Message) -> dict:
    """A question's `message` frame with its answer's (None without one).

    Precondition: loaded by one of the question selectors below (select_related).
    """
    frame = message_frame(question)
    frame["answer"] = answer_frame(question.answer) if question.answer_id else None
    return frame


def question_list_for_module(
    *, module_id: int, limit: int = QUESTIONS_PER_CONTENT
) -> dict[int, list[Message]]:
    """The newest `limit` live questions about each content of the module, newest first, by
    content id, with their answers; each question carries `question_count`, its content's
    total. One query whatever the number of contents.
    """
    ranked = (
        _questions()
        .filter(about__module_id=module_id)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("about_id")], order_by=[F("seq").desc()]),
            question_count=Window(Count("pk"), partition_by=[F("about_id")]),
        )
        .filter(rank__lte=limit)
        .order_by("about_id", "rank")
    )
    questions: dict[int, list[Message]] = {}
    for question in ranked:
        questions.setdefault(question.about_id, []).append(question)
    return questions


def question_list_for_course(
    *, course_id: int, state: str | None = None, content_id: int | None = None
) -> QuerySet[Message]:
    """The course's live questions, newest first: all, "open" (no answer) or "answered", of
    one content or all. Precondition: the caller checked membership."""
    questions = _questions().filter(room_id=course_id)
    if state == "open":
        questions = questions.filter(answer__isnull=True)
    elif state == "answered":
        questions = questions.filter(answer__isnull=False)
    if content_id is not None:
        questions = questions.filter(about_id=content_id)
    return questions.order_by("-seq")


def content_links_for_course(*, course_id: int) -> dict[int, str]:
    """Where the study view shows each content of the course (its module's page), by id: what
    a question's label links to. One query."""
    contents = Content.objects.filter(module__course_id=course_id).values_list("pk", "module_id")
    return {
        pk: reverse("student_course_detail_module", args=[course_id, module_id]) + f"#content-{pk}"
        for pk, module_id in contents
    }


def content_title_for_course(*, course_id: int, content_id: int) -> str | None:
    """The title of a content of the course (what a question about it is labelled), or None
    when the course has no such content."""
    contents = Content.objects.filter(pk=content_id, module__course_id=course_id)
    return content_titles_annotate(contents).values_list("item_title", flat=True).first()


@dataclass(frozen=True)
class OpenQuestions:
    """A course's unanswered questions: how many, and when the oldest was asked."""

    count: int
    oldest: datetime


def open_questions_by_course(*, course_ids) -> dict[int, OpenQuestions]:
    """For each of the courses with unanswered questions, their count and oldest (one query)."""
    rows = (
        _questions()
        .filter(room_id__in=list(course_ids), answer__isnull=True)
        .order_by()
        .values("room_id")
        .annotate(count=Count("pk"), oldest=Min("created"))
        .values_list("room_id", "count", "oldest")
    )
    return {pk: OpenQuestions(count=count, oldest=oldest) for pk, count, oldest in rows}


def open_questions_by_content(*, module_id: int) -> dict[int, OpenQuestions]:
    """For each content of the module with unanswered questions, their count and oldest (one
    query)."""
    rows = (
        _questions()
        .filter(about__module_id=module_id, answer__isnull=True)
        .order_by()
        .values("about_id")
        .annotate(count=Count("pk"), oldest=Min("created"))
        .values_list("about_id", "count", "oldest")
    )
    return {pk: OpenQuestions(count=count, oldest=oldest) for pk, count, oldest in rows}


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
