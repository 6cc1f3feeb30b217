"""The error tree: every refusal is a GittasksError, which the front ends turn into one line and an exit code.

Subclasses name what a caller may want to tell apart (an id that names nothing, an id prefix that names several)
so that no caller has to read a message to decide what to do.
"""


class GittasksError(Exception):
    """A refused request: the message is one line saying what is wrong and what to do."""

    exit_code = 1


class UnknownId(GittasksError):
    """No task has this id, and no id starts with it."""


class AmbiguousId(GittasksError):
    """More than one id starts with this prefix."""
