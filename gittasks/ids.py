"""Task ids: short, random, collision-resistant without coordination; unique-prefix lookup. Pure and light."""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable

from gittasks.errors import AmbiguousId, GittasksError, UnknownId

ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case: no i, l, o, u


def id_length(count: int) -> int:
    """Enough random base32 characters that `count` more ids collide with odds of about one in a million."""
    bits = math.log2(max(count, 1) ** 2 + 1) + 20
    return max(6, math.ceil(bits / 5))


# The operating system's random source, as `secrets.choice` draws from (that module also loads hmac and OpenSSL, a
# cost every command's start would pay).
_RANDOM = random.SystemRandom()


def new_id(existing: Collection[str], elsewhere: int = 0) -> str:
    """A fresh random id, unique in `existing`; `elsewhere` counts ids not in `existing` (the archive)."""
    length = id_length(len(existing) + elsewhere + 1)
    while True:
        candidate = "".join(_RANDOM.choice(ID_ALPHABET) for _ in range(length))
        if candidate not in existing and not candidate.isdigit():
            return candidate


# A change names its task by the whole id or by at least this many of its first characters: `start 5` (a number, as
# Taskwarrior's ids are) must never start whichever task's id happens to begin with 5. A read takes any unique prefix.
MIN_CHANGE_PREFIX = 3


def is_prefix(given: str, task_id: str) -> bool:
    """Whether `given` is how `task_id` begins, upper or lower case alike (`13B4` names 13b48v)."""
    return task_id.casefold().startswith(given.casefold())


def resolve_id(ids: Iterable[str], given: str, *, changing: bool = False) -> str:
    """The id named by `given`: an exact id, else one id matching it case aside, else the unique id it begins (any
    case); refuses unknown and ambiguous ones, and, for a change (`changing`), a prefix of fewer than
    MIN_CHANGE_PREFIX characters."""
    pool = list(ids)
    if given in pool:
        return given
    folded = given.casefold()
    same = [i for i in pool if i.casefold() == folded]
    if len(same) == 1:
        return same[0]
    matches = sorted(i for i in pool if is_prefix(given, i)) if given else []
    if not matches:
        raise UnknownId(f"no task with id {given!r}; see `gittasks list`")
    shown = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
    if changing and len(given) < MIN_CHANGE_PREFIX:
        raise GittasksError(
            f"id prefix {given!r} is too short for a change: give at least {MIN_CHANGE_PREFIX} characters or the "
            f"whole id (it matches {shown}); nothing was changed"
        )
    if len(matches) == 1:
        return matches[0]
    raise AmbiguousId(f"id prefix {given!r} is ambiguous: {shown}; give more characters")


__all__ = ["ID_ALPHABET", "MIN_CHANGE_PREFIX", "id_length", "is_prefix", "new_id", "resolve_id"]
