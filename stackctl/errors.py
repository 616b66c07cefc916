"""The one error stackctl reports to the user: a message, printed without a traceback."""


class StackError(Exception):
    """A problem the user can act on (bad config, taken port, missing file, failed service)."""
