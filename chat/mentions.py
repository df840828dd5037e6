"""Mentions in chat text: `@username` of a room's member, or `@instructor` for its owner."""

import re

# The alias that names the course's owner in its room; a reserved user name (students.forms).
INSTRUCTOR_ALIAS = "instructor"

# Django's user names are made of letters, digits and `.@+-`. An `@` preceded by one of them
# is inside a word (an e-mail address), not a mention.
_MENTION_RE = re.compile(r"(?<![\w.@+-])@([\w.@+-]{1,150})")
# A sentence may end right after a name: `ask @alice.` names alice.
_TRAILING = ".@+-"


def mention_candidates(text: str) -> set[str]:
    """The names the text may mention: each `@name` as written and without trailing
    punctuation; which of them are members is for the caller to find out."""
    names = set()
    for match in _MENTION_RE.finditer(text):
        name = match.group(1)
        names.add(name)
        stripped = name.rstrip(_TRAILING)
        if stripped:
            names.add(stripped)
    return names
