"""Task ids: short, random, collision-resistant without coordination; unique-prefix lookup. Pure and light."""

from __future__ import annotations

import math
import secrets
from collections.abc import Collection, Iterable

from gittasks.errors import AmbiguousId, UnknownId

ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case: no i, l, o, u


def id_length(count: int) -> int:
    """Enough random base32 characters that `count` more ids collide with odds of about one in a million."""
    bits = math.log2(max(count, 1) ** 2 + 1) + 20
    return max(6, math.ceil(bits / 5))


def new_id(existing: Collection[str], elsewhere: int = 0) -> str:
    """A fresh random id, unique in `existing`; `elsewhere` counts ids not in `existing` (the archive)."""
    length = id_length(len(existing) + elsewhere + 1)
    while True:
        candidate = "".join(secrets.choice(ID_ALPHABET) for _ in range(length))
        if candidate not in existing and not candidate.isdigit():
            return candidate


def resolve_id(ids: Iterable[str], given: str) -> str:
    """The id named by `given`: an exact id, else a unique prefix; refuses unknown and ambiguous ones."""
    pool = list(ids)
    if given in pool:
        return given
    matches = sorted(i for i in pool if i.startswith(given)) if given else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnknownId(f"no task with id {given!r}; see `gittasks list`")
    shown = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
    raise AmbiguousId(f"id prefix {given!r} is ambiguous: {shown}; give more characters")


__all__ = ["ID_ALPHABET", "id_length", "new_id", "resolve_id"]
