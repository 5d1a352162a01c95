"""The demo's inputs and outputs, and a one-line ``error:`` (exit 2) in every tool.

Before: the demo exited 0 on an empty folder, skipped ``.tif`` silently and wrote both
``x.png`` and ``x.jpg`` to ``x.jpg``; the demo, the converter, the benchmark, get_flops and
the toy generator printed tracebacks where train / test print one ``error:`` line.
"""
import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.registry import MODELS
from test_tools.toy_workspace import make_workspace, run_main


def _one_line_error(code, err, *parts):
    assert code == 2, err[-2000:]
    assert err.startswith('error: ') and 'Traceback' not in err, err[-2000:]
    first = err.splitlines()[0]
    for part in parts:
        assert part in first, first


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('tools')
    cfg = make_workspace(tmp, num_train=2, num_val=2, epochs=1)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return tmp, cfg, ckpt


def test_demo_empty_folder_is_an_error(model_files, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = model_files
    (tmp_path / 'notes.txt').write_text('no images here')
    code, _, err = run_main('demo/image_demo.py', [tmp_path, cfg, ckpt, '--out-dir',
                                                   tmp_path / 'out'], capsys, monkeypatch)
    _one_line_error(code, err, f'error: no images in folder {tmp_path} (looked for .jpg',
                    '.tif', 'it holds 1 other files (notes.txt)')


def test_demo_tif_and_same_stem_images(model_files, capsys, monkeypatch, tmp_path):
    _, cfg, ckpt = model_files
    images = tmp_path / 'images'
    images.mkdir()
    for name in ('x.png', 'x.jpg', 'y.tif'):
        cv2.imwrite(str(images / name), np.full((48, 64, 3), 90, np.uint8))
    (images / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    code, stdout, err = run_main('demo/image_demo.py', [images, cfg, ckpt, '--out-dir', out],
                                 capsys, monkeypatch)
    assert code == 0, err[-2000:]
    assert sorted(os.listdir(out)) == ['x.jpg', 'x.png', 'y.tif']
    assert cv2.imread(str(out / 'y.tif')).shape == (48, 64, 3)
    assert 'skipped 1 files that are not images' in stdout and 'notes.txt' in stdout


def test_converter_bad_source(capsys, monkeypatch, tmp_path):
    bad = tmp_path / 'ctdet.pth'
    bad.write_bytes(b'not a checkpoint')
    code, _, err = run_main('tools/model_converters/centernet_official2mmcn.py',
                            [bad, tmp_path / 'out.pth'], capsys, monkeypatch)
    _one_line_error(code, err, f'error: {bad}: not a PyTorch checkpoint')
    assert not (tmp_path / 'out.pth').exists()


def test_benchmark_and_get_flops_errors(model_files, capsys, monkeypatch, tmp_path):
    _, cfg, _ = model_files
    code, _, err = run_main('tools/analysis_tools/benchmark.py',
                            [cfg, tmp_path / 'missing.pth'], capsys, monkeypatch)
    _one_line_error(code, err, 'missing.pth: checkpoint file does not exist')
    code, _, err = run_main('tools/analysis_tools/get_flops.py', [tmp_path / 'nope.py'],
                            capsys, monkeypatch)
    _one_line_error(code, err, 'nope.py does not exist')
    code, _, err = run_main('tools/analysis_tools/get_flops.py',
                            [cfg, '--cfg-options', 'model.backbone.deepth=3'],
                            capsys, monkeypatch)
    _one_line_error(code, err, "'deepth' is not an argument of ResNet")


def test_gen_toy_browse_print_config_errors(capsys, monkeypatch, tmp_path):
    code, _, err = run_main('tools/misc/gen_toy_dataset.py',
                            ['--out', tmp_path / 'toy', '--img-size', 4], capsys, monkeypatch)
    _one_line_error(code, err, 'img_size must be >=', '(--img-size, --num-train, --num-val)')
    for script in ('tools/analysis_tools/browse_dataset.py', 'tools/misc/print_config.py'):
        code, _, err = run_main(script, [tmp_path / 'nope.py'], capsys, monkeypatch)
        _one_line_error(code, err, 'nope.py does not exist')


def test_visualizer_skips_boxes_of_negative_size():
    """A weak model regresses negative sizes (the official decoder does not clamp them);
    drawing them stopped the demo and ``test.py --show-dir`` with a bare AssertionError."""
    from mmengine.structures import InstanceData

    from mmcenternet.visualization.visualizer import CenterNetVisualizer
    vis = CenterNetVisualizer(name='negative-size-boxes')
    instances = InstanceData(bboxes=torch.tensor([[1., 1., 8., 8.], [9., 9., 2., 2.]]),
                             labels=torch.tensor([0, 0]), scores=torch.tensor([.9, .9]))
    image = vis._draw_instances(np.zeros((32, 32, 3), np.uint8), instances, ['a'],
                                [(255, 0, 0)])
    valid_only = vis._draw_instances(np.zeros((32, 32, 3), np.uint8), instances[:1], ['a'],
                                     [(255, 0, 0)])
    assert image.any() and np.array_equal(image, valid_only)
