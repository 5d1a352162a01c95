"""One message to both places a user may look: Python's warnings and the run's log."""
import logging
import warnings

from mmengine.logging import print_log

__all__ = ['warn_and_log']


def warn_and_log(message: str, category: type = UserWarning, stacklevel: int = 2) -> None:
    """``warnings.warn`` (for tests and ``-W error``) and mmengine's current logger.

    Args:
        message: The text.
        category: The warning class.
        stacklevel: As for ``warnings.warn``, counted from the caller.
    """
    warnings.warn(message, category, stacklevel=stacklevel + 1)
    print_log(message, logger='current', level=logging.WARNING)
