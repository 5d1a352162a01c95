"""Model loading and inference for demos and scripts (thin layer over ``mmdet.apis``)."""
import warnings
from typing import Optional, Sequence, Union

import numpy as np
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
    :func:`mmcenternet.utils.checkpoint.load_model_weights` (weights-only, and strict: a
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
    from mmcenternet.utils.checkpoint import load_model_weights
    from mmcenternet.utils.config_checks import dataset_classes
    loaded = load_model_weights(model, checkpoint, strict=strict)
    meta = _checkpoint_meta(loaded)
    if meta is None:
        classes = dataset_classes(model.cfg.test_dataloader.dataset)
        meta = {'classes': classes} if classes else dict(model.dataset_meta)
    palette = model.dataset_meta.get('palette')
    if palette is not None and (palette != 'random' or 'palette' not in meta):
        meta['palette'] = palette  # the config's palette wins, as in mmdet
    model.dataset_meta = meta
    return model


def inference_detector(model: nn.Module, imgs: Union[str, np.ndarray, Sequence]):
    """Runs the model's test pipeline and forward on image paths or BGR arrays."""
    return _mmdet_inference(model, imgs)
