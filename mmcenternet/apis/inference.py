"""Model loading and inference for demos and scripts (thin layer over ``mmdet.apis``).

An input is an image path, a BGR array, or a dict with ``img_path`` or ``img`` and the
image's own meta information for the test pipeline, e.g. ``dict(img_path=..., cam2img=P2)``
for a monocular 3D model (the same dicts mmdet's ``DetInferencer`` takes).
"""
import copy
import warnings
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmdet.apis import inference_detector as _mmdet_inference
from mmdet.apis import init_detector as _mmdet_init
from torch import nn

from mmcenternet.utils import register_all_modules


def _checkpoint_meta(checkpoint: dict) -> Optional[dict]:
    """``dataset_meta`` of a checkpoint (mmdet 3.x keys, or 2.x ``CLASSES``)."""
    meta = checkpoint.get('meta') or {}
    if 'dataset_meta' in meta:
        return {k.lower(): v for k, v in meta['dataset_meta'].items()}
    if 'CLASSES' in meta:
        return {'classes': meta['CLASSES']}
    return None


def init_detector(config, checkpoint: Optional[str] = None, device: str = 'cpu',
                  cfg_options: Optional[dict] = None, strict: bool = True) -> nn.Module:
    """Builds a detector from a config (path or Config) and loads a checkpoint.

    As ``mmdet.apis.init_detector``, except that the weights go through
    :func:`mmcenternet.checkpoint.load_weights` (weights-only, and strict: a
    checkpoint of another architecture is refused with a summary of what does not fit,
    instead of a half-loaded model) and that a checkpoint without class names (e.g. a
    converted official one) takes those of the config's test dataset rather than COCO's.

    Args:
        config: Config file path or ``Config``.
        checkpoint: Checkpoint path; None keeps the initial weights.
        device: ``'cpu'``, ``'cuda:0'``, ...
        cfg_options: Overrides merged into the config.
        strict: False loads the tensors that fit and warns about the rest.

    Raises:
        CheckpointError: The checkpoint is unreadable, unsafe or (when ``strict``)
            does not fit the model.
    """
    register_all_modules(init_default_scope=False)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='checkpoint is None')
        model = _mmdet_init(config, None, device=device, cfg_options=cfg_options)
    if checkpoint is None:
        return model
    from mmcenternet.checkpoint import load_weights
    from mmcenternet.engine.config import dataset_classes
    meta = _checkpoint_meta(load_weights(model, checkpoint, strict=strict).checkpoint)
    if meta is None:
        classes = dataset_classes(model.cfg.test_dataloader.dataset)
        meta = {'classes': classes} if classes else dict(model.dataset_meta)
    palette = model.dataset_meta.get('palette')
    if palette is not None and (palette != 'random' or 'palette' not in meta):
        meta['palette'] = palette  # the config's palette wins, as in mmdet
    model.dataset_meta = meta
    return model


def init_backend_detector(config, model_file: str, backend: str = 'pytorch',
                          device: str = 'cpu', strict: bool = True) -> nn.Module:
    """A detector for the demo: PyTorch (:func:`init_detector`) or ONNX Runtime.

    Args:
        config: Config path or ``mmengine.Config``.
        model_file: The checkpoint (``pytorch``) or the ``.onnx`` file (``onnxruntime``).
        backend: One of ``mmcenternet.deploy.backend.BACKENDS``.
        device: PyTorch device (ONNX Runtime runs on its CPU provider).
        strict: Load the PyTorch checkpoint strictly (``--no-strict-load`` turns it off).

    Returns:
        A model with ``cfg`` and ``dataset_meta`` set, in eval mode.
    """
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmcenternet.deploy.backend import apply_backend, dataset_meta_of
    from mmcenternet.registry import MODELS
    if backend == 'pytorch':
        return init_detector(config, model_file, device=device, strict=strict)
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    apply_backend(cfg, model_file, backend)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmcenternet')):
        model = MODELS.build(cfg.model)
    model.cfg = cfg
    model.dataset_meta = dataset_meta_of(cfg, model.onnx_meta)
    return model.eval()


def load_cam2img(calib: Union[str, np.ndarray]) -> np.ndarray:
    """``P2`` (3 x 4) from a KITTI calibration file, a text file of 12 numbers, or an
    array: the ``cam2img`` of a monocular 3D model's input."""
    from mmcenternet.datasets.kitti_mono3d import read_kitti_calib
    if not isinstance(calib, str):
        cam = np.asarray(calib, np.float64)
        if cam.size != 12:
            raise ValueError(f'a camera matrix has 12 values (3 x 4), got shape {cam.shape}')
        return cam.reshape(3, 4)
    with open(calib) as f:
        text = f.read()
    if 'P2:' in text:
        return read_kitti_calib(calib)
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError:
        values = np.array([])
    if values.size != 12:
        raise ValueError(f'{calib}: expected a KITTI calibration file (with a "P2:" line) '
                         f'or the 12 numbers of a 3 x 4 projection matrix')
    return values.reshape(3, 4)


def inference_detector(model: nn.Module, imgs: Union[str, np.ndarray, Sequence]):
    """Runs the model's test pipeline and forward on image paths or BGR arrays."""
    return _mmdet_inference(model, imgs)


def build_test_pipeline(model: nn.Module, from_array: bool = False):
    """The config's test pipeline (``Compose``), reading arrays instead of files if asked.

    As in ``mmdet.apis.inference_detector``: the first transform (the image loader) becomes
    ``mmdet.LoadImageFromNDArray`` for BGR arrays (video frames, camera images).
    """
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = copy.deepcopy(get_test_pipeline_cfg(model.cfg))
    if from_array:
        pipeline[0].type = 'mmdet.LoadImageFromNDArray'
    return Compose(pipeline)


def inference_batch(model: nn.Module, imgs: Sequence[Union[str, np.ndarray, dict]],
                    batch_size: int = 1, pipelines: Optional[dict] = None) -> List:
    """Runs the model on images, ``batch_size`` images per forward.

    ``inference_detector`` (mmdet) runs one image per forward; this collates up to
    ``batch_size`` images into one ``test_step`` (the data preprocessor pads them to a
    common size at the bottom / right, which leaves the test-time affine unchanged).

    Args:
        model: A detector from :func:`init_detector`.
        imgs: Image paths, BGR ``uint8`` arrays and/or dicts with ``img_path`` or ``img``
            and per-image meta information (``cam2img``, ...), see the module docstring.
        batch_size: Images per forward.
        pipelines: A cache ``{from_array: Compose}`` reused across calls (filled here).

    Returns:
        One ``DetDataSample`` per image, in order.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    pipelines = {} if pipelines is None else pipelines
    results = []
    for start in range(0, len(imgs), batch_size):
        batch = dict(inputs=[], data_samples=[])
        for img in imgs[start:start + batch_size]:
            if not isinstance(img, dict):
                img = dict(img=img) if isinstance(img, np.ndarray) else dict(img_path=img)
            data = {'img_id': 0, **img}
            from_array = 'img' in data
            if from_array not in pipelines:
                pipelines[from_array] = build_test_pipeline(model, from_array)
            data = pipelines[from_array](data)
            batch['inputs'].append(data['inputs'])
            batch['data_samples'].append(data['data_samples'])
        with torch.no_grad():
            results.extend(model.test_step(batch))
    return results
