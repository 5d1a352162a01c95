"""Build cases of the robustness modules (runner, hooks, metric, DDP wrapper)."""
import copy

import torch
import torch.distributed as dist
from mmengine.config import Config
from torch import nn

from test_tools.toy_workspace import QUICKSTART


def _single_process_group():
    """A 1-process gloo group that is not the global default group (so that building
    the DDP wrapper here leaves ``torch.distributed`` uninitialised for other tests)."""
    store = dist.HashStore()
    group = dist.ProcessGroup(store, 0, 1)
    group._set_default_backend(dist.ProcessGroup.BackendType.GLOO)
    group._register_backend(torch.device('cpu'), dist.ProcessGroup.BackendType.GLOO,
                            dist.ProcessGroupGloo(store, 0, 1))
    return group


def _runner_case(tmp):
    return dict(runner_type='CenterNetRunner', work_dir=str(tmp / 'work'),
                model=copy.deepcopy(Config.fromfile(QUICKSTART).model.to_dict()),
                experiment_name=f'registry-case-{tmp.name}', default_scope='mmcenternet',
                strict_load=False)


CASES = {
    ('RUNNERS', 'CenterNetRunner'): _runner_case,
    ('HOOKS', 'DeterministicResumeHook'): lambda tmp: dict(type='DeterministicResumeHook',
                                                           restart_persistent_workers=False),
    ('METRICS', 'CenterNetCocoMetric'): lambda tmp: dict(type='CenterNetCocoMetric',
                                                         metric='bbox'),
    ('MODEL_WRAPPERS', 'GuardedDistributedDataParallel'): lambda tmp: dict(
        type='GuardedDistributedDataParallel', module=nn.Linear(2, 2), device_ids=None,
        process_group=_single_process_group()),
}
