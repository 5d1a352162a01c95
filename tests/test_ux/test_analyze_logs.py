"""tools/analysis_tools/analyze_logs.py on mmengine scalars.json files: the plotted values
are the log's, resumed runs merge, train times; TensorBoard as an optional vis backend."""
import glob
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from test_engine.conftest import run_main

TOOL = 'tools/analysis_tools/analyze_logs.py'


def train_line(epoch, it, loss, time=0.1):
    return dict(lr=0.01, time=time, data_time=0.01, loss=loss, loss_heatmap=0.7 * loss,
                loss_wh=0.2 * loss, loss_offset=0.1 * loss, epoch=epoch, iter=it, step=it)


def write_run(folder, lines):
    path = folder / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text('\n'.join(json.dumps(line) for line in lines) + '\n')
    return path


@pytest.fixture()
def work_dir(tmp_path):
    """Epochs of 4 iterations logged every 2; a run killed after epoch 2 and resumed (the
    second run re-logs epoch 2's last line with another value)."""
    first = [train_line(1, 2, 4.0), train_line(1, 4, 3.0), dict(**{'coco/bbox_mAP': 0.1},
                                                                step=1),
             train_line(2, 6, 2.5, 0.3), train_line(2, 8, 2.0, 0.3)]
    second = [train_line(2, 8, 1.9, 0.3), dict(**{'coco/bbox_mAP': 0.2}, step=2),
              train_line(3, 10, 1.5, 0.2), train_line(3, 12, 1.0, 0.2),
              dict(**{'coco/bbox_mAP': 0.3}, step=3)]
    work = tmp_path / 'work'
    write_run(work / '20260101_000000', first)
    write_run(work / '20260102_000000', second)
    return work


def lines_of(fig):
    return {line.get_label(): (line.get_xdata(), line.get_ydata())
            for line in fig.axes[0].get_lines()}


def test_plot_curve_values_are_the_logs(work_dir, capsys, monkeypatch, tmp_path):
    out = tmp_path / 'loss.png'
    code, stdout, err = run_main(TOOL, ['plot_curve', work_dir, '--out', out], capsys,
                                 monkeypatch)
    assert code == 0, err
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b'\x89PNG'
    from mmcenternet.utils.log_analysis import load_log, plot_curves
    lines = lines_of(plot_curves([load_log(str(work_dir))]))
    assert sorted(lines) == ['loss', 'loss_heatmap', 'loss_offset', 'loss_wh']
    x, y = lines['loss']
    np.testing.assert_array_equal(x, [2, 4, 6, 8, 10, 12])
    np.testing.assert_array_equal(y, [4.0, 3.0, 2.5, 1.9, 1.5, 1.0])  # resumed value wins
    np.testing.assert_allclose(lines['loss_wh'][1], 0.2 * y)


def test_plot_curve_metrics_per_epoch_of_several_runs(work_dir, tmp_path):
    from mmcenternet.utils.log_analysis import load_log, plot_curves
    single = write_run(tmp_path / 'other', [train_line(1, 4, 1.0),
                                            dict(**{'coco/bbox_mAP': 0.5}, step=1)])
    out = tmp_path / 'ap.pdf'
    fig = plot_curves([load_log(str(work_dir)), load_log(str(single), 'other')],
                      ['coco/bbox_mAP'], str(out), legend=['A', 'B'])
    assert out.read_bytes()[:4] == b'%PDF'
    lines = lines_of(fig)
    np.testing.assert_array_equal(lines['A'][0], [1, 2, 3])
    np.testing.assert_array_equal(lines['A'][1], [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(lines['B'][1], [0.5])
    assert fig.axes[0].get_xlabel() == 'epoch'


def test_epoch_axis_of_training_lines(work_dir):
    from mmcenternet.utils.log_analysis import curve, load_log
    x, y = curve(load_log(str(work_dir)), 'loss', 'epoch')
    np.testing.assert_allclose(x, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    x, _ = curve(load_log(str(work_dir)), 'coco/bbox_mAP', 'iter')
    np.testing.assert_array_equal(x, [4, 8, 12])  # the iteration each validation followed


def test_cal_train_time(work_dir, capsys, monkeypatch):
    code, stdout, err = run_main(TOOL, ['cal_train_time', work_dir], capsys, monkeypatch)
    assert code == 0, err
    # epoch means: 0.1, 0.3, 0.2 s/iter
    assert 'slowest epoch 2, average time is 0.3000 s/iter' in stdout
    assert 'fastest epoch 1, average time is 0.1000 s/iter' in stdout
    assert f'time std over epochs is {np.std([0.1, 0.3, 0.2]):.4f}' in stdout
    assert f'average iter time: {np.mean([0.1, 0.1, 0.3, 0.3, 0.2, 0.2]):.4f}' in stdout


def test_errors_name_the_file_line_and_option(work_dir, tmp_path, capsys, monkeypatch):
    bad = tmp_path / 'scalars.json'
    bad.write_text('{"step": 1, "loss": 1}\nnot json\n')
    code, _, err = run_main(TOOL, ['plot_curve', bad, '--out', tmp_path / 'x.png'], capsys,
                            monkeypatch)
    assert code == 2 and f'error: {bad}, line 2: not JSON' in err, err
    code, _, err = run_main(TOOL, ['plot_curve', work_dir, '--keys', 'loss_hm', '--out',
                                   tmp_path / 'x.png'], capsys, monkeypatch)
    assert code == 2 and "has no key 'loss_hm'; training keys: lr, time" in err, err
    code, _, err = run_main(TOOL, ['plot_curve', tmp_path / 'nothing'], capsys, monkeypatch)
    assert code == 2 and 'no log at' in err, err


@pytest.mark.skipif(importlib.util.find_spec('tensorboard') is None,
                    reason='tensorboard is not installed (an optional vis backend)')
def test_tensorboard_backend_writes_event_files(tmp_path):
    """The docs' config snippet: a run with TensorboardVisBackend writes event files next
    to scalars.json, with the same loss values."""
    from test_tools.test_train_test_tools import run_tool
    from test_tools.toy_workspace import make_workspace
    cfg = make_workspace(tmp_path, num_train=4, num_val=2, epochs=1, extra=(
        "vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]\n"
        "visualizer = dict(vis_backends=vis_backends)\n"))
    run_tool('tools/train.py', cfg, '--work-dir', str(tmp_path / 'work'))
    events = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert len(events) == 1
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(events[0])
    acc.Reload()
    assert 'loss_heatmap' in acc.Tags()['scalars']
    logged = [json.loads(line) for line in open(glob.glob(
        str(tmp_path / 'work' / '*' / 'vis_data' / 'scalars.json'))[0])]
    expected = [row['loss'] for row in logged if 'loss' in row]
    got = [event.value for event in acc.Scalars('loss')]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert osp.isfile(events[0])
