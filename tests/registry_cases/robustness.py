"""Build cases of the robustness modules (runner, hooks, metric, optim wrappers)."""
import copy

import pytest
import torch
from mmengine.config import Config
from torch import nn

from test_tools.toy_workspace import QUICKSTART


def _amp_wrapper(tmp):
    if not torch.cuda.is_available():  # mmengine's AmpOptimWrapper needs a GPU
        pytest.skip('AmpOptimWrapper needs CUDA (tests/test_engine/test_non_finite_loss.py '
                    'builds it on the CPU with the check lifted)')
    return dict(type='GuardedAmpOptimWrapper', optimizer=torch.optim.SGD(
        nn.Linear(2, 2).cuda().parameters(), lr=0.1))


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
    ('OPTIM_WRAPPERS', 'GuardedOptimWrapper'): lambda tmp: dict(
        type='GuardedOptimWrapper', optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(),
                                                              lr=0.1)),
    ('OPTIM_WRAPPERS', 'GuardedAmpOptimWrapper'): _amp_wrapper,
}
