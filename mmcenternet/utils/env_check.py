"""Import-time checks of the OpenMMLab stack, with messages that say what to do."""
from importlib import import_module

from packaging.version import Version

from mmcenternet.errors import EnvironmentError_

MMCV_RANGE = ('2.0.0', '2.2.0')
MMENGINE_MIN = '0.10.0'
MMDET_RANGE = ('3.0.0', '4.0.0')

_INSTALL_HINT = ('Run `bash tools/setup_env.sh` (or see README.md) to install the pinned '
                 'stack: mmcv 2.1.0 built from source with MMCV_WITH_OPS=1.')


def _version_of(module_name: str) -> Version:
    try:
        module = import_module(module_name)
    except ImportError as err:
        raise EnvironmentError_(
            f'mmcenternet needs `{module_name}`, which is not importable: {err}. '
            f'{_INSTALL_HINT}') from err
    return Version(module.__version__)


def check_mmcv_ops() -> None:
    """Fails clearly when mmcv was installed without its compiled ops (``mmcv-lite``-like)."""
    try:
        from mmcv.utils import ext_loader
        ext_loader.load_ext('_ext', ['modulated_deform_conv_forward', 'nms'])
    except (ImportError, AssertionError, AttributeError) as err:
        raise EnvironmentError_(
            'mmcv is installed without its compiled ops (mmcv._ext is missing or '
            f'incomplete: {err}). mmcenternet needs them for DCNv2, NMS and corner pooling. '
            f'{_INSTALL_HINT}') from err


def check_environment() -> None:
    """Checks mmcv/mmengine/mmdet versions and that mmcv's ops are compiled."""
    mmcv_version = _version_of('mmcv')
    if not Version(MMCV_RANGE[0]) <= mmcv_version < Version(MMCV_RANGE[1]):
        raise EnvironmentError_(
            f'mmcv {mmcv_version} is installed; mmcenternet (through mmdet 3.3) needs '
            f'{MMCV_RANGE[0]} <= mmcv < {MMCV_RANGE[1]}. {_INSTALL_HINT}')
    mmengine_version = _version_of('mmengine')
    if mmengine_version < Version(MMENGINE_MIN):
        raise EnvironmentError_(
            f'mmengine {mmengine_version} is installed; mmcenternet needs >= {MMENGINE_MIN}.')
    mmdet_version = _version_of('mmdet')
    if not Version(MMDET_RANGE[0]) <= mmdet_version < Version(MMDET_RANGE[1]):
        raise EnvironmentError_(
            f'mmdet {mmdet_version} is installed; mmcenternet needs mmdet 3.x.')
    check_mmcv_ops()
