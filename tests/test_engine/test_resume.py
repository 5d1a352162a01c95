"""SIGKILL anywhere, restart with resume: the result equals an uninterrupted run."""
import os
import re
import signal
import subprocess
import sys

import pytest
import torch

from mmcenternet.checkpoint import safe_load

from .conftest import ROOT, assert_same_tensors, run_tiny, weights_of
from .tiny_runner import ITERS_PER_EPOCH, ReportValHook, build_runner


def _ckpt(path):
    return safe_load(str(path))


def _assert_same_training_state(ref_path, new_path):
    """Weights, Adam state and best score of two checkpoints are identical."""
    ref, new = _ckpt(ref_path), _ckpt(new_path)
    assert_same_tensors(ref['state_dict'], new['state_dict'])
    for key, state in ref['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(value, new['optimizer']['state'][key][name]), (key, name)
    ref_info = ref['message_hub']['runtime_info']
    new_info = new['message_hub']['runtime_info']
    assert ref_info.get('best_score') == new_info.get('best_score')
    assert ref_info.get('best_ckpt', '').rsplit('/', 1)[-1] == \
        new_info.get('best_ckpt', '').rsplit('/', 1)[-1]


def _train_tiny(work, resume=False):
    """A 3-epoch tiny run with validation and noise, in this process."""
    report = ReportValHook()
    build_runner(str(work), max_epochs=3, resume=resume, val=True, noise=True,
                 extra_hooks=[report]).train()
    return report.lines


@pytest.fixture(scope='module')
def tiny_reference(tmp_path_factory):
    """An uninterrupted 3-epoch run with validation and random noise."""
    work = tmp_path_factory.mktemp('reference')
    return work, _train_tiny(work)


# A kill during a training step (mid epoch 2), during the validation after
# epoch 1, and while epoch_2.pth is written (LocalBackend.put #3: epoch_1.pth,
# best_neg_mse_epoch_1.pth, epoch_2.pth).
KILLS = {'train step': ('--kill-at-iter', ITERS_PER_EPOCH + 2),
         'validation': ('--kill-in-val', 1),
         'checkpoint write': ('--kill-in-save', 3)}


@pytest.mark.parametrize('where', sorted(KILLS))
def test_tiny_runner_resume_after_kill_is_exact(tiny_reference, tmp_path, where):
    """Killed anywhere and resumed, the run ends bit-identical to an
    uninterrupted one, and the validation of the resumed epoch is re-run (the
    epoch_1.pth checkpoint is written before that validation)."""
    reference, ref_vals = tiny_reference
    work = tmp_path / 'killed'
    proc = run_tiny(work, '--max-epochs', 3, '--val', '--noise', *KILLS[where])
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
    killed_vals = [line for line in proc.stdout.splitlines() if line.startswith('VAL')]
    assert killed_vals == ref_vals[:len(killed_vals)]  # same run until the kill

    # the resumed run validates epoch 1 again, with the reference's result
    assert _train_tiny(work, resume=True) == ref_vals
    assert ref_vals[0].startswith('VAL epoch=1 ')
    for name in ('epoch_2.pth', 'epoch_3.pth'):
        _assert_same_training_state(reference / name, work / name)
    best = sorted(p.name for p in work.glob('best_*.pth'))
    assert best == sorted(p.name for p in reference.glob('best_*.pth'))
    assert_same_tensors(weights_of(reference / best[0]), weights_of(work / best[0]))


# --------------------------------------------------------------------------
# The same with the real tools/train.py on a generated toy set
# --------------------------------------------------------------------------
def _toy_config():
    """The detection quickstart (other tasks' toy configs need other data)."""
    from test_tools.toy_workspace import QUICKSTART
    return QUICKSTART


def _train_cmd(config, work_dir, *extra):
    options = [
        'train_cfg.max_epochs=2', 'train_cfg.val_begin=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=4',
        # persistent workers (as the COCO configs): their random state survives
        # from one epoch to the next, which a resumed run must reproduce
        'train_dataloader.num_workers=1', 'train_dataloader.persistent_workers=True',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'randomness.seed=0', 'randomness.deterministic=True',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.type=AtomicCheckpointHook',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.checkpoint.save_best=coco/bbox_mAP_50',
        'default_hooks.checkpoint.rule=greater',
        'default_hooks.visualization.draw=False',
    ]
    return [sys.executable, os.path.join(ROOT, 'tools/train.py'), config,
            '--work-dir', str(work_dir), *extra, '--cfg-options', *options]


def _env():
    # tests/ on the path: the killing config imports test_engine.kill_hooks
    return dict(os.environ, PYTHONPATH=f'{ROOT}{os.pathsep}{os.path.join(ROOT, "tests")}',
                OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    config = _toy_config()
    generator = os.path.join(ROOT, 'tools/misc/gen_toy_dataset.py')
    sys.path.insert(0, os.path.dirname(generator))
    try:
        from gen_toy_dataset import generate
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('toy')
    generate(str(root / 'data' / 'toy'), num_train=8, num_val=2, img_size=64,
             seed=0)
    return root, config


def _val_lines(log, epoch):
    return re.findall(rf'Epoch\(val\) \[{epoch}\]\[2/2\]\s+coco/bbox_mAP: .*?(?= data_time)', log)


def test_toy_train_killed_in_validation_resumes_exactly(toy_root):
    """tools/train.py SIGKILLed during the validation after epoch 1, then
    ``--resume``: the validation of epoch 1 runs again (epoch_1.pth was written
    before it), with the metrics of an uninterrupted run, and epoch 2 trains to
    the same weights (persistent dataloader workers included)."""
    root, config = toy_root
    ref, work = root / 'ref', root / 'killed'
    killer = root / 'kill_in_validation.py'
    killer.write_text(f"_base_ = [{config!r}]\n"
                      "custom_imports = dict(imports=['test_engine.kill_hooks'],\n"
                      "                      allow_failed_imports=False)\n"
                      "custom_hooks = [dict(type='TestKillInValidationHook', epoch=1)]\n")
    # the uninterrupted reference runs alongside the run that gets killed
    reference = subprocess.Popen(_train_cmd(config, ref), cwd=root, env=_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
    killed = subprocess.run(_train_cmd(str(killer), work), cwd=root, env=_env(),
                            capture_output=True, text=True, timeout=600)
    ref_log = reference.communicate(timeout=600)[0]
    assert reference.returncode == 0, ref_log[-3000:]
    assert killed.returncode == -signal.SIGKILL, (killed.stdout + killed.stderr)[-3000:]
    assert (work / 'epoch_1.pth').exists() and not (work / 'epoch_2.pth').exists()
    assert not _val_lines(killed.stdout + killed.stderr, 1)

    resumed = subprocess.run(_train_cmd(config, work, '--resume'), cwd=root,
                             env=_env(), capture_output=True, text=True,
                             timeout=600)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out[-3000:]
    assert 'resumed epoch: 1' in out and 'running that validation again' in out
    assert _val_lines(out, 1) == _val_lines(ref_log, 1) != []
    assert _val_lines(out, 2) == _val_lines(ref_log, 2) != []
    for name in ('epoch_2.pth', *sorted(p.name for p in ref.glob('best_*.pth'))):
        assert_same_tensors(weights_of(ref / name), weights_of(work / name))


def test_validates_after_follows_the_loop_rule_without_changing_it():
    """The epochs after which EpochBasedTrainLoop validates, dynamic intervals included,
    computed from the loop's public attributes (the loop is left as it was)."""
    from types import SimpleNamespace

    from mmengine.runner.utils import calc_dynamic_intervals

    from mmcenternet.engine.hooks.deterministic_resume_hook import validates_after
    milestones, intervals = calc_dynamic_intervals(1, [(3, 2)])  # every 2nd from epoch 3
    loop = SimpleNamespace(runner=SimpleNamespace(val_loop=object()), val_begin=1,
                           val_interval=1, max_epochs=9, dynamic_milestones=milestones,
                           dynamic_intervals=intervals)
    before = dict(vars(loop))
    assert [e for e in range(10) if validates_after(loop, e)] == [1, 2, 4, 6, 8, 9]
    assert vars(loop) == before
    loop.runner.val_loop = None
    assert not any(validates_after(loop, e) for e in range(10))
