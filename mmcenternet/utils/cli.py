"""The one-line error handler of the command-line tools.

:class:`friendly_errors` wraps a tool's ``main()``: a known user error (any
:class:`~mmcenternet.errors.MMCenterNetError`, a missing / unreadable file, an unknown
registry type) is printed as one ``error: ...`` paragraph on stderr and the process exits
with code 2, without a traceback unless ``MMCN_DEBUG=1``. Other exceptions propagate.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback

from mmcenternet.errors import MMCenterNetError
from .progress import close_bars

__all__ = ['friendly_errors', 'format_error']


def format_error(exc: BaseException) -> str:
    """The one-paragraph text shown for a known error."""
    if isinstance(exc, KeyError) and exc.args:
        message = str(exc.args[0])
    else:
        message = str(exc)
    if 'Original Traceback (most recent call last)' in message:
        # Re-raised from a DataLoader worker: keep the worker's message.
        lines = [line for line in message.splitlines() if line.strip()]
        message = lines[-1].split(': ', 1)[-1] if lines else message
    message = ' '.join(message.split())
    if isinstance(exc, FileNotFoundError) and exc.filename and (
            exc.filename not in message):
        message = f'{message} ({exc.filename})'
    return message or type(exc).__name__


_REGISTRY_KEY_ERROR = re.compile(r'is not in the \S+ registry')


#: Errors shown without a traceback, besides registry ``KeyError``\ s.
KNOWN_ERRORS = (MMCenterNetError, FileNotFoundError, PermissionError, IsADirectoryError,
                NotADirectoryError)


def _known_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a user error to show without a traceback."""
    if isinstance(exc, KNOWN_ERRORS):
        return True
    return isinstance(exc, KeyError) and bool(
        _REGISTRY_KEY_ERROR.search(format_error(exc)))


class friendly_errors(contextlib.ContextDecorator):  # noqa: N801
    """Show known user errors as ``error: ...`` and exit with code 2.

    Use as ``with friendly_errors(): main()`` or as a ``@friendly_errors()``
    decorator on ``main``. Other exceptions propagate unchanged. With
    ``MMCN_DEBUG=1`` the traceback is printed before the message.

    Args:
        exit_code: The exit status for a known error.
    """

    def __init__(self, exit_code: int = 2) -> None:
        self.exit_code = exit_code

    def __enter__(self) -> 'friendly_errors':
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or not _known_error(exc):
            return False
        close_bars()  # end an open progress bar's line first
        debug = os.environ.get('MMCN_DEBUG', '') not in ('', '0')
        if debug:
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        print(f'error: {format_error(exc)}', file=sys.stderr)
        if not debug:
            print('(set MMCN_DEBUG=1 to see the traceback)', file=sys.stderr)
        sys.stderr.flush()
        raise SystemExit(self.exit_code)
