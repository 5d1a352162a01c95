"""Helpers shared by ``tools/train.py`` and ``tools/test.py``."""
import os
from typing import Optional

import torch
import torch.distributed as dist


def init_cpu_distributed(launcher: str) -> bool:
    """Initialises a gloo process group for ``torchrun`` on a machine without CUDA.

    mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` unconditionally,
    which fails on a CPU-only torch. The Runner skips its own initialisation when a process
    group already exists, so we create one with gloo here. Returns True when it did.
    """
    if launcher != 'pytorch' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if 'RANK' not in os.environ:
        raise RuntimeError('--launcher pytorch needs the environment that torchrun sets '
                           '(RANK, WORLD_SIZE, MASTER_ADDR, ...); use tools/dist_train.sh')
    dist.init_process_group(backend='gloo')
    return True


def cpu_ddp_wrapper_cfg(cfg) -> Optional[dict]:
    """A model wrapper config for DDP on CPU (``device_ids`` must be None there)."""
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    return wrapper
