"""The two ways a command fails without a traceback (one line each), importable from anywhere."""


class UsageError(Exception):
    """A problem the operator fixes in their config or command line: exit 2."""


class RuntimeFailure(Exception):
    """Something is not there or not working at run time (no database yet): one line, exit 1."""
