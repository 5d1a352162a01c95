import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(scope='session', autouse=True)
def _register_modules():
    from mmcenternet.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def repo_root() -> str:
    return ROOT


@pytest.fixture(scope='session', autouse=True)
def _no_pretrained_downloads():
    """Building a config never downloads pretrained weights in the test suite: the
    ``PretrainedMapped`` initialiser is skipped (with a warning). The pretrained path itself
    is tested against a local server (tests/test_models/test_pretrained.py)."""
    from mmcenternet.models.utils.pretrained import SKIP_PRETRAINED_ENV
    saved = os.environ.get(SKIP_PRETRAINED_ENV)
    os.environ[SKIP_PRETRAINED_ENV] = '1'
    yield
    if saved is None:
        os.environ.pop(SKIP_PRETRAINED_ENV, None)
    else:
        os.environ[SKIP_PRETRAINED_ENV] = saved


@pytest.fixture(scope='session', autouse=True)
def _no_progress_bars():
    """No progress bars in the tools' output (tests read stderr); tests of the bars turn
    them on with ``monkeypatch.setenv('MMCN_NO_PROGRESS', '0')``."""
    from mmcenternet.utils.progress import NO_PROGRESS_ENV
    saved = os.environ.get(NO_PROGRESS_ENV)
    os.environ[NO_PROGRESS_ENV] = '1'
    yield
    if saved is None:
        os.environ.pop(NO_PROGRESS_ENV, None)
    else:
        os.environ[NO_PROGRESS_ENV] = saved
