"""Progress bars for every loop over a dataset or anything longer than a few seconds.

One helper, :func:`track`, around ``tqdm`` (a dependency of mmdet, so always installed):
data generation, dataset browsing, the demos, dataset and checkpoint conversion and the
export tools use it. The bar goes to stderr; ``MMCN_NO_PROGRESS=1`` turns every bar off
(e.g. in CI logs).
"""
import os
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar('T')

#: Environment variable that disables the bars.
NO_PROGRESS_ENV = 'MMCN_NO_PROGRESS'


def progress_enabled() -> bool:
    return os.environ.get(NO_PROGRESS_ENV, '') in ('', '0')


def track(iterable: Iterable[T], total: Optional[int] = None, desc: str = '',
          unit: str = 'it') -> Iterator[T]:
    """Yields the items of ``iterable`` while a bar shows the progress.

    Args:
        iterable: What to iterate.
        total: Number of items (default ``len(iterable)`` when it has one; a bar without
            a total shows the count and the rate).
        desc: Text before the bar.
        unit: What an item is (``img``, ``frame``, ``file``, ...).
    """
    from tqdm import tqdm
    if total is None and hasattr(iterable, '__len__'):
        total = len(iterable)
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True,
                    disable=not progress_enabled(), mininterval=0.5)


def close_bars() -> None:
    """Closes every open bar (ends its line), so that an error printed next starts on a
    line of its own (``friendly_errors`` calls this)."""
    from tqdm import tqdm
    for bar in list(getattr(tqdm, '_instances', [])):
        bar.close()
