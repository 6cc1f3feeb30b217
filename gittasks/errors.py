"""The one exception type the CLI turns into a one-line message and exit code 1."""


class GittasksError(Exception):
    """A refused request: the message is one line saying what is wrong and what to do."""

    exit_code = 1
