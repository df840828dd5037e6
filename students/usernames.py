"""Look-alike user names: two names clash when they share a skeleton.

The skeleton folds what a reader cannot tell apart in chat: compatibility forms (NFKD), accents
and other combining marks, case, and the Unicode TR39 confusables (Cyrillic `а` for Latin `a`,
`rn` for `m`), as ICU's spoof checker maps them.
"""

import hashlib
import unicodedata

from icu import SpoofChecker

from .models import UsernameSkeleton

# ICU allows concurrent use of one checker that is never reconfigured.
_SPOOF_CHECKER = SpoofChecker()

# Names nobody may take: they have a meaning of their own (chat.mentions.INSTRUCTOR_ALIAS).
RESERVED_USERNAMES = ("instructor",)


def _fold(text: str) -> str:
    """NFKD, case-folded (again NFKD: folding can compose), without combining marks."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def username_skeleton(username: str) -> str:
    """The form every look-alike of `username` shares."""
    # Folded again after the mapping: TR39's prototypes may be capitals (`0` -> `O`) or carry marks.
    return _fold(_SPOOF_CHECKER.getSkeleton(0, _fold(username)))


_RESERVED_SKELETONS = frozenset(username_skeleton(name) for name in RESERVED_USERNAMES)


def username_skeleton_digest(username: str) -> str:
    """The skeleton as stored: a digest of fixed length, since a skeleton can be many times
    longer than its name (NFKD alone turns one character into eighteen)."""
    return hashlib.sha256(username_skeleton(username).encode()).hexdigest()


def username_is_reserved(username: str) -> bool:
    """Whether the name (or a look-alike) means something else: `@instructor` in a chat room
    names the course's owner."""
    return username_skeleton(username) in _RESERVED_SKELETONS


def username_clash_exists(*, username: str, user=None) -> bool:
    """Whether the name is reserved, or a user other than `user` has one that looks like it."""
    if username_is_reserved(username):
        return True
    others = UsernameSkeleton.objects.filter(digest=username_skeleton_digest(username))
    if user is not None and user.pk is not None:
        others = others.exclude(user=user)
    return others.exists()


def username_skeleton_sync(sender, instance, created, update_fields=None, raw=False, **kwargs):
    """post_save of the user model: keeps the user's skeleton row in step with the name.

    A receiver, not a service call: users are also created and renamed by Django's own code
    (createsuperuser, the admin, loaddemo's get_or_create). A name that clashes with another
    user's fails the save's transaction with IntegrityError (the skeleton is unique).
    """
    if raw or (update_fields is not None and "username" not in update_fields):
        return
    digest = username_skeleton_digest(instance.get_username())
    row = None if created else UsernameSkeleton.objects.filter(user=instance).first()
    if row is None:
        UsernameSkeleton.objects.create(user=instance, digest=digest)
    elif row.digest != digest:
        row.digest = digest
        row.predates_check = False
        row.save(update_fields=["digest", "predates_check"])
