"""A second training in a work dir that a running training uses is refused.

Before: both ran, and mixed their checkpoints, config dump, ``last_checkpoint`` and (in
the same second) their log and ``scalars.json``.
"""
import os
import signal
import subprocess
import sys
import time

from test_tools.toy_workspace import make_workspace

from .conftest import ROOT, run_main


def test_second_training_in_a_busy_work_dir_is_refused(tmp_path, capsys, monkeypatch):
    cfg = make_workspace(tmp_path, num_train=4, num_val=2, epochs=1000)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    first = subprocess.Popen([sys.executable, 'tools/train.py', cfg, '--work-dir', str(work)],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        # the first training is under way (its first checkpoint and pointer are written)
        while not (work / 'last_checkpoint').exists():
            assert first.poll() is None and time.time() < deadline, 'first run ended'
            time.sleep(0.2)
        # checkpoints (and the first run's half-written `.epoch_N.pth.tmp-*`) keep coming
        before = sorted(p.name for p in work.iterdir() if '.pth' not in p.name)

        code, _, err = run_main('tools/train.py', [cfg, '--work-dir', work, '--cfg-options',
                                                   'train_cfg.max_epochs=1'],
                                capsys, monkeypatch)
        assert code == 2, err[-2000:]
        assert err.startswith(f'error: work dir {work} is in use by another training (pid '
                              f'{first.pid} on ')
        assert f'--work-dir {work}' in err and f'(kill {first.pid})' in err
        # the refused run wrote nothing: no second log folder, config dump or pointer
        after = sorted(p.name for p in work.iterdir() if '.pth' not in p.name)
        assert after == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # a killed training leaves no stale lock behind (--resume right after a kill works)
    from mmcenternet.engine.workdir_lock import work_dir_lock
    with work_dir_lock(str(work)):
        pass
