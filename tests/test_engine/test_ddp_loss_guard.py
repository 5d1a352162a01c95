"""The non-finite loss guard under DDP (2-process gloo torchrun on the CPU).

The guard sits in the model's ``parse_losses``, which mmengine's own
``MMDistributedDataParallel.train_step`` calls; the ranks agree on every step (all raise, or
all skip).
"""
import os
import re
import subprocess
import sys

from test_tools.toy_workspace import make_workspace

from .conftest import HERE, ROOT


def _env(port):
    return dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1',
                PYTHONPATH=f'{ROOT}{os.pathsep}{os.path.join(ROOT, "tests")}',
                PYTHONWARNINGS='ignore')


def test_dist_train_nan_on_one_rank_stops_every_rank(tmp_path):
    """tools/dist_train.sh, 2 processes: a NaN loss on rank 1 at the first iteration
    stops both ranks with the same one-line error (before this guard, the NaN update was
    applied and the run went on)."""
    cfg = make_workspace(tmp_path, num_train=8, num_val=2, epochs=2, extra=(
        "custom_imports = dict(imports=['test_engine.kill_hooks'],"
        " allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='TestNaNLossOnRankHook', rank=1, at_iter=1)]\n"))
    proc = subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir',
                           str(tmp_path / 'work')],
                          cwd=ROOT, env=_env(29741), capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    errors = re.findall(r'^error: non-finite loss at training iteration 1 \(runner.iter=0, '
                        r'epoch 1\): rank 1: loss_wh=nan\..*$', out, re.M)
    # every rank raises the same one-line error; the second one may not get printed: torchrun
    # stops the other rank as soon as the first exits
    assert 1 <= len(errors) <= 2, out[-3000:]
    assert 'NonFiniteLossError' not in out  # no traceback from the ranks (torchrun's own
    # ChildFailedError summary follows)
    assert not (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_skip_policy_skips_on_every_rank(tmp_path):
    """non_finite_loss='skip' under DDP: the rank without NaN skips the update too, the
    run finishes (no rank waits forever) and the ranks keep identical finite weights."""
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29743', os.path.join(HERE, 'ddp_guard_run.py'), str(tmp_path)],
        cwd=ROOT, env=_env(29743), capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    ranks = re.findall(r'^RANK (\d) wrapper=(\w+) skipped=(\d+) iter=(\d+) finite=(\w+) '
                       r'weights=(\w+)$', proc.stdout, re.M)
    assert sorted(r[0] for r in ranks) == ['0', '1'], out[-3000:]
    for _, wrapper, skipped, iters, finite, _ in ranks:
        # 16 samples / (2 ranks x batch 4) = 2 iterations per epoch; sample 5 once per epoch
        # mmengine's own DDP wrapper: no wrapper swap is needed any more
        assert (wrapper, skipped, iters, finite) == ('MMDistributedDataParallel', '2',
                                                     '4', 'True')
    assert ranks[0][5] == ranks[1][5]
    # rank 0 logs both skips, naming the rank whose loss was not finite
    assert len(re.findall(r'rank [01]: loss_aux=nan; skipped this update', out)) == 2
