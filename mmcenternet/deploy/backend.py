"""``--backend`` for the tools: run a config's PyTorch model or its ONNX export.

``tools/test.py``, ``demo/image_demo.py`` and the benchmarks take ``--backend
{pytorch,onnxruntime}``; with ``onnxruntime`` the CHECKPOINT argument is the ``.onnx``
file and the model becomes an :class:`~mmcenternet.deploy.ort_detector.ONNXRuntimeDetector`
that keeps the config's test pipeline, data preprocessor and head post-processing, so
``--eval`` computes the same metrics on the exported model. The demos' loader of either
back-end is :func:`mmcenternet.apis.init_backend_detector` (``apis`` sits above ``deploy``).
"""
import copy
from typing import Optional

from .ort_detector import ort_model_cfg

BACKENDS = ('pytorch', 'onnxruntime')


def add_backend_argument(parser) -> None:
    """The ``--backend`` option of the tools."""
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help='run the PyTorch checkpoint (default) or, with onnxruntime, '
                        'an ONNX model exported by tools/deployment/pytorch2onnx.py given '
                        'in place of the checkpoint')


def apply_backend(cfg, model_file: str, backend: str = 'pytorch', tta: bool = False):
    """Changes a tool's config for ``backend``, in place (nothing for ``pytorch``).

    For ``onnxruntime``: ``cfg.model`` becomes the ONNX Runtime detector on ``model_file``
    and no checkpoint is loaded.

    Raises:
        ConfigError: An unknown back-end, or ``--tta`` (the flip / multi-scale merge runs
            on the PyTorch model's maps) with ``onnxruntime``.
    """
    from mmcenternet.errors import ConfigError
    if backend not in BACKENDS:
        raise ConfigError(f'--backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'pytorch':
        return cfg
    if tta:
        raise ConfigError('--tta runs the PyTorch model only; drop --tta or '
                          '--backend onnxruntime')
    cfg.model = ort_model_cfg(cfg.model, model_file)
    cfg.load_from = None
    return cfg


def dataset_meta_of(cfg, onnx_meta: Optional[dict] = None) -> dict:
    """Class names (for drawing): the config's test dataset, else the ONNX model's."""
    from mmcenternet.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True
    try:
        meta = dict(DATASETS.build(dataset_cfg).metainfo)
    except Exception:  # noqa: BLE001 - e.g. the dataset's files are absent
        meta = {}
    if not meta.get('classes') and onnx_meta and onnx_meta.get('classes'):
        meta['classes'] = tuple(onnx_meta['classes'])
    return meta
