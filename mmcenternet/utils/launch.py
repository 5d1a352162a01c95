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


def load_tool_config(config_path: str, cfg_options: Optional[dict], work_dir: Optional[str],
                     launcher: str):
    """What ``tools/train.py`` and ``tools/test.py`` do first with their arguments.

    Loads the config (clear errors for a missing file or ``_base_``), checks and merges
    ``--cfg-options``, sets the launcher and the work dir (``--work-dir``, else the
    config's, else ``./work_dirs/<config name>``).
    """
    import os.path as osp

    from .cli import load_config, validate_cfg_options
    cfg = load_config(config_path)
    cfg.launcher = launcher
    if cfg_options is not None:
        validate_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg
