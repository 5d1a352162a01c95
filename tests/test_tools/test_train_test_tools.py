"""tools/train.py and tools/test.py end to end on a tiny generated toy set (CPU)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from .toy_workspace import ROOT, make_workspace

ENV = dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS='ignore')


def newest_train_log(work) -> str:
    """Text of the newest training log directly under ``work/<timestamp>/``."""
    logs = [osp.join(work, d, f) for d in os.listdir(work) if osp.isdir(osp.join(work, d))
            for f in os.listdir(osp.join(work, d)) if f.endswith('.log')]
    logs = [p for p in logs if 'Epoch(train)' in open(p).read()]
    return open(max(logs, key=osp.getmtime)).read()


def run_tool(*args, check=True, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-3000:]}')
    return proc


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('toy')
    cfg = make_workspace(tmp)
    work = tmp / 'work'
    run_tool('tools/train.py', cfg, '--work-dir', str(work))
    return cfg, work


def test_train_writes_checkpoints_loadable_with_weights_only(trained):
    _, work = trained
    assert osp.isfile(work / 'epoch_1.pth') and osp.isfile(work / 'epoch_2.pth')
    # weights-only with the few mmengine types of a Runner checkpoint allowed for the call
    # (importing mmcenternet no longer adds them to torch's process-wide list)
    from mmcenternet.checkpoint import checkpoint_safe_globals
    with checkpoint_safe_globals():
        ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert any(k.startswith('bbox_head.branches.heatmap') for k in ckpt['state_dict'])


def test_test_tool_evaluates_bbox(trained):
    cfg, work = trained
    out = run_tool('tools/test.py', cfg, str(work / 'epoch_2.pth'), '--eval', 'bbox',
                   '--work-dir', str(work / 'test'), '--out', str(work / 'res.pkl'))
    text = out.stdout + out.stderr
    assert 'Average Precision  (AP) @[ IoU=0.50      |' in text
    assert 'coco/bbox_mAP_50' in text
    assert osp.isfile(work / 'res.pkl')


def test_test_tool_show_dir_and_tta(trained):
    cfg, work = trained
    show = work / 'show'
    run_tool('tools/test.py', cfg, str(work / 'epoch_2.pth'), '--show-dir', str(show),
             '--work-dir', str(work / 'test_show'))
    assert len(os.listdir(show)) > 0 or any(files for _, _, files in os.walk(show))
    out = run_tool('tools/test.py', cfg, str(work / 'epoch_2.pth'), '--tta', '--eval', 'bbox',
                   '--work-dir', str(work / 'test_tta'))
    assert 'coco/bbox_mAP' in out.stdout + out.stderr


def test_unknown_eval_metric_is_a_clear_error(trained):
    cfg, work = trained
    out = run_tool('tools/test.py', cfg, str(work / 'epoch_2.pth'), '--eval', 'segmm',
                   check=False)
    assert out.returncode != 0
    err = out.stderr
    assert 'segmm' in err and 'bbox' in err and 'Traceback' not in err


def test_resume_continues_from_last_checkpoint(trained, tmp_path):
    cfg, work = trained
    # continue the finished 2-epoch run to 3 epochs from its last checkpoint
    run_tool('tools/train.py', cfg, '--work-dir', str(work), '--resume',
             '--cfg-options', 'train_cfg.max_epochs=3')
    log = newest_train_log(work)
    assert 'resumed' in log.lower()
    assert re.search(r'Epoch\(train\)\s+\[3\]', log)
    assert not re.search(r'Epoch\(train\)\s+\[1\]', log)  # continued, not restarted
    assert osp.isfile(work / 'epoch_3.pth')


def test_dist_train_two_processes_on_cpu(tmp_path):
    cfg = make_workspace(tmp_path, num_train=8, num_val=2, epochs=1)
    work = tmp_path / 'dist'
    env = dict(ENV, PYTHON=sys.executable, PORT='29731')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(work),
                           '--cfg-options', 'train_cfg.val_interval=5'],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = newest_train_log(work)
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    # 8 images / (2 processes x batch 4) = one iteration per epoch on each process
    assert re.search(r'Epoch\(train\)\s+\[1\]\[1/1\]', log)
    assert osp.isfile(work / 'epoch_1.pth')
