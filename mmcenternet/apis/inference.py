"""Model loading and inference for demos and scripts (thin layer over ``mmdet.apis``)."""
from typing import Optional, Sequence, Union

import numpy as np
from mmdet.apis import inference_detector as _mmdet_inference
from mmdet.apis import init_detector as _mmdet_init
from torch import nn

from mmcenternet.utils import register_all_modules


def init_detector(config, checkpoint: Optional[str] = None, device: str = 'cpu',
                  cfg_options: Optional[dict] = None) -> nn.Module:
    """Builds a detector from a config (path or Config) and loads a checkpoint."""
    register_all_modules(init_default_scope=False)
    return _mmdet_init(config, checkpoint, device=device, cfg_options=cfg_options)


def inference_detector(model: nn.Module, imgs: Union[str, np.ndarray, Sequence]):
    """Runs the model's test pipeline and forward on image paths or BGR arrays."""
    return _mmdet_inference(model, imgs)
