"""A NaN loss term stops training with a clear message, or skips the update."""
import copy

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmcenternet.errors import ConfigError, NonFiniteLossError
from mmcenternet.models.detectors import CenterNet
from mmcenternet.models.detectors.loss_guard import LossGuardMixin
from mmcenternet.registry import OPTIM_WRAPPERS

from .tiny_runner import ITERS_PER_EPOCH, TinyModel, build_runner


class GuardedTinyModel(LossGuardMixin, TinyModel):

    def __init__(self, non_finite_loss='raise', nan_on_index=None):
        super().__init__(nan_on_index=nan_on_index)
        self.non_finite_loss = non_finite_loss


class Snapshots(Hook):
    """Records weights and optimizer state before and after each iteration."""

    def __init__(self):
        self.before, self.after = {}, {}

    def _state(self, runner):
        return (copy.deepcopy(runner.model.state_dict()),
                copy.deepcopy(runner.optim_wrapper.optimizer.state_dict()))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before[runner.iter] = self._state(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.after[runner.iter] = self._state(runner)


def _equal(a, b):
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_equal, a, b))
    return a == b


def test_raise_names_term_and_iteration(tmp_path):
    snaps = Snapshots()
    model = GuardedTinyModel('raise', nan_on_index=5)
    runner = build_runner(str(tmp_path), max_epochs=2, model=model,
                          extra_hooks=[snaps])
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    message = str(info.value)
    assert 'loss_aux=nan' in message and 'loss_main' not in message
    bad_iter = max(snaps.before)
    assert f'training iteration {bad_iter + 1} (runner.iter={bad_iter}' in message
    # the bad step was not applied
    assert _equal(snaps.before[bad_iter][0], runner.model.state_dict())
    assert all(torch.isfinite(v).all() for v in runner.model.state_dict().values())


def test_skip_leaves_weights_and_adam_state_untouched(tmp_path):
    snaps = Snapshots()
    model = GuardedTinyModel('skip', nan_on_index=5)
    runner = build_runner(str(tmp_path), max_epochs=2, model=model,
                          extra_hooks=[snaps])
    with pytest.warns(RuntimeWarning, match='loss_aux=nan') as record:
        runner.train()
    assert runner.iter == 2 * ITERS_PER_EPOCH  # training went on
    skipped = [w for w in record if 'skipped this update' in str(w.message)]
    assert len(skipped) == 2  # sample 5 is drawn once per epoch
    for it in snaps.before:
        same = _equal(snaps.before[it], snaps.after[it])
        assert same == (f'runner.iter={it}' in ' '.join(
            str(w.message) for w in skipped))
    state = runner.model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values())


def test_train_step_reads_iteration_from_message_hub():
    model = GuardedTinyModel('raise', nan_on_index=0)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    hub = MessageHub.get_instance('loss_guard_test')
    hub.update_info('iter', 41)
    hub.update_info('epoch', 2)
    batch = dict(inputs=[torch.ones(4)], target=[torch.ones(())], index=[0])
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 42 \(runner.iter=41, epoch 3\)'):
        model.train_step(batch, optim)


def test_finite_step_updates_and_bad_policy_rejected():
    model = GuardedTinyModel('raise')
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    before = copy.deepcopy(model.state_dict())
    batch = dict(inputs=[torch.ones(4)], target=[torch.ones(())], index=[0])
    log_vars = model.train_step(batch, optim)
    assert set(log_vars) == {'loss', 'loss_main', 'loss_aux'}
    assert not _equal(before, model.state_dict())
    model.non_finite_loss = 'ignore'
    with pytest.raises(ValueError, match="'raise', 'skip'"):
        model.train_step(batch, optim)


def test_centernet_has_the_guard():
    assert CenterNet.__mro__[1] is LossGuardMixin
    import inspect
    param = inspect.signature(CenterNet.__init__).parameters['non_finite_loss']
    assert param.default == 'raise'


def test_skip_needs_a_wrapper_that_can_skip(tmp_path):
    """A plain OptimWrapper would back-propagate the skipped step: refused before training."""
    runner = build_runner(str(tmp_path), max_epochs=1,
                          model=GuardedTinyModel('skip', nan_on_index=5))
    runner.optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.05))
    with pytest.raises(ConfigError, match="optim_wrapper.type='GuardedOptimWrapper'"):
        runner.train()


def test_amp_wrapper_is_guarded(monkeypatch):
    """``--amp`` (GuardedAmpOptimWrapper): 'skip' leaves weights, optimizer and loss scaler
    untouched, 'raise' raises. (AmpOptimWrapper refuses a machine without CUDA; on the CPU
    its check is lifted and the grad scaler disables itself.)"""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    model = GuardedTinyModel('skip', nan_on_index=0)
    optim = OPTIM_WRAPPERS.build(dict(type='GuardedAmpOptimWrapper', optimizer=torch.optim.Adam(
        model.parameters(), lr=0.1)))
    before = copy.deepcopy((model.state_dict(), optim.state_dict()))
    batch = dict(inputs=[torch.ones(4)], target=[torch.ones(())], index=[0])
    with pytest.warns(RuntimeWarning, match='skipped this update'):
        log_vars = model.train_step(batch, optim)
    assert set(log_vars) == {'loss_main'}  # only the finite terms are logged
    assert _equal(before, (model.state_dict(), optim.state_dict()))
    model.non_finite_loss = 'raise'
    with pytest.raises(NonFiniteLossError, match='loss_aux=nan'):
        model.train_step(batch, optim)
    model.nan_on_index = None
    model.train_step(batch, optim)
    assert not _equal(before[0], model.state_dict())  # a finite step updates
