"""Launching a run: the tools' launch arguments, the runner builder, CPU DDP set-up."""
import logging
import os
import sys
from typing import Optional

import torch
import torch.distributed as dist


def add_strict_load_argument(parser) -> None:
    """``--no-strict-load``: the explicit opt-out of strict weight loading."""
    parser.add_argument('--no-strict-load', action='store_true',
                        help='load a checkpoint whose keys or shapes do not all fit the '
                        'model: the matching tensors are loaded, the others keep their '
                        'initial values, with a warning (default: refuse it)')


def add_launch_arguments(parser) -> None:
    """The options both tools take: ``--cfg-options``, ``--no-strict-load``,
    ``--launcher``, ``--local_rank``."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=10')
    add_strict_load_argument(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser, argv=None):
    """Parses the arguments and exports ``LOCAL_RANK`` when the launcher did not."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_runner(cfg, launcher: str):
    """The Runner of a tool's config, with gloo DDP when ``torchrun`` runs without CUDA.

    ``mmcenternet.engine.CenterNetRunner`` (safe and strict weight loading, atomic
    checkpoints, exact resume, evaluation on the ground truth the dataset kept) unless the
    config names a ``runner_type``.
    """
    from mmengine.registry import RUNNERS

    from .runner import CenterNetRunner
    if init_cpu_distributed(launcher):
        cfg.model_wrapper_cfg = cpu_ddp_wrapper_cfg(cfg)
    return CenterNetRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


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


def finish_distributed() -> None:
    """Ends a successful distributed run: waits for every rank, then exits the process.

    Ranks that reach the interpreter's teardown one by one can abort there ("terminate
    called without an active exception", SIGABRT, seen on CPU under load after a finished
    run), which torchrun reports as a failed run. So every rank waits at a barrier, destroys
    the process group, flushes its logs and leaves with ``os._exit(0)``. Nothing happens
    outside a distributed run; call it only on success (an error path must not wait for
    ranks that will never come).
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    dist.destroy_process_group()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cpu_ddp_wrapper_cfg(cfg) -> Optional[dict]:
    """A model wrapper config for DDP on CPU (``device_ids`` must be None there)."""
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
    wrapper['device_ids'] = None
    wrapper.setdefault('broadcast_buffers', False)
    return wrapper


def set_run_options(cfg, config_path: str, work_dir: Optional[str] = None,
                    launcher: str = 'none', strict_load: bool = True):
    """What ``tools/train.py`` and ``tools/test.py`` set after
    :func:`~mmcenternet.engine.config.load_config`: the launcher, ``strict_load = False``
    for ``--no-strict-load`` and the work dir (``--work-dir``, else the config's, else
    ``./work_dirs/<config name>``)."""
    cfg.launcher = launcher
    if not strict_load:
        cfg.strict_load = False
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        name = os.path.splitext(os.path.basename(config_path))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    return cfg
