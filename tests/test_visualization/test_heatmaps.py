"""Heatmap overlays: geometry (cells -> original image), the captured predictions, the
encoder's targets in browse_dataset.py and tools/test.py --show-dir --show-heatmap."""
import os
import pickle

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcenternet.visualization import heatmap as hm
from test_tools.toy_workspace import run_main, toy_model  # noqa: F401 (fixtures)


def test_cell_lands_on_its_original_pixel():
    # original -> input: scale 0.5 then shift (10, 6); a 64 px input, stride 4
    meta = dict(affine_matrix=np.array([[0.5, 0, 10], [0, 0.5, 6], [0, 0, 1]]),
                batch_input_shape=(64, 64), ori_shape=(100, 120))
    cells = np.zeros((16, 16), np.float32)
    cells[5, 7] = 1.0
    out = hm.heatmap_on_original(cells, meta)
    assert out.shape == (100, 120)
    # cell (5, 7) is centred on input pixel (4 * 7 + 1.5, 4 * 5 + 1.5) = (29.5, 21.5),
    # i.e. original pixel ((29.5 - 10) / 0.5, (21.5 - 6) / 0.5) = (39, 31)
    assert np.unravel_index(out.argmax(), out.shape) == (31, 39)
    assert out[31, 39] == pytest.approx(1.0)
    assert out[0, 0] == 0 and out[99, 119] == 0


def test_scale_factor_pipelines_and_mmdet_meta():
    meta = dict(scale_factor=(2.0, 2.0), img_shape=(32, 32), ori_shape=(16, 16))
    cells = np.zeros((8, 8), np.float32)
    cells[2, 3] = 1.0  # input pixel (13.5, 9.5) -> original (6.75, 4.75)
    out = hm.heatmap_on_original(cells, meta)
    y, x = np.unravel_index(out.argmax(), out.shape)
    assert abs(x - 6.75) <= 0.5 and abs(y - 4.75) <= 0.5


def test_overlay_leaves_zero_heat_alone():
    image = np.full((8, 8, 3), 100, np.uint8)
    heat = np.zeros((8, 8), np.float32)
    heat[2, 3] = 1.0
    out = hm.overlay_heatmap(image, heat, alpha=0.5)
    changed = np.argwhere(np.abs(out.astype(int) - image).max(-1) > 0)
    assert changed.tolist() == [[2, 3]]
    jet_top = cv2.applyColorMap(np.array([[255]], np.uint8), cv2.COLORMAP_JET)[0, 0, ::-1]
    np.testing.assert_allclose(out[2, 3], 0.5 * 100 + 0.5 * jet_top.astype(float), atol=1)
    with pytest.raises(ValueError, match='cannot be drawn on an image of size'):
        hm.overlay_heatmap(image, np.zeros((4, 4)))


def test_gt_heatmap_peaks_at_the_box_center():
    from mmcenternet.registry import TASK_UTILS
    codec = TASK_UTILS.build(dict(type='CTDetCodec', num_classes=3))
    gt = InstanceData(bboxes=torch.tensor([[20., 12., 36., 28.]]), labels=torch.tensor([2]))
    heat = hm.gt_heatmap(codec, gt, (64, 64))
    assert heat.shape == (64, 64) and heat.max() <= 1
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    # the center (28, 20) falls in cell (7, 5), centred on input pixel (29.5, 21.5)
    assert abs(x - 29.5) <= 0.5 and abs(y - 21.5) <= 0.5
    assert heat[y, x] > 0.75  # bilinear, 1/8 cell off the peak in x and y


def test_captured_heatmap_is_the_decoders(toy_model):
    from mmcenternet.apis import Predictor, init_detector
    tmp, cfg, ckpt = toy_model
    model = init_detector(cfg, ckpt)
    img = str(tmp / 'toy' / 'val' / '000002.png')
    with hm.capture_head_outputs(model) as captured:
        sample = Predictor(model).predict([img])[0]
    assert len(captured) == 1 and captured[0].shape == (1, 4, 24, 24)  # 64 px padded to 96
    # the best detection's score is the peak of the activated heatmap
    assert float(captured[0].max()) == pytest.approx(float(sample.pred_instances.scores.max()))
    with_heat = Predictor(model, show_heatmap=True).predict([img])[0]
    assert with_heat.pred_heatmap.shape == (64, 64)
    assert with_heat.pred_heatmap.max() <= float(captured[0].max()) + 1e-6
    assert not model.bbox_head._forward_hooks  # the hook is removed afterwards


def test_heatmap_needs_a_centernet_head():
    with pytest.raises(ValueError, match='has no CenterNet head'):
        hm.heatmap_head(torch.nn.Linear(2, 2))


def test_browse_dataset_draws_encoder_targets(toy_model, capsys, monkeypatch, tmp_path):
    _, cfg, _ = toy_model
    monkeypatch.setenv('MMCN_NO_PROGRESS', '0')
    outs = {}
    for extra in ([], ['--show-heatmap']):
        out = tmp_path / f'vis{len(extra)}'
        code, _, err = run_main('tools/analysis_tools/browse_dataset.py',
                                [cfg, '--output-dir', out, '--not-show', '--split', 'val',
                                 '--max-images', 2, *extra], capsys, monkeypatch)
        assert code == 0, err[-2000:]
        assert sorted(os.listdir(out)) == ['000000.png', '000001.png']
        outs[bool(extra)] = cv2.imread(str(out / '000000.png')).astype(int)
        assert 'browse' in err and '2/2' in err  # progress bar
    diff = np.abs(outs[True] - outs[False]).max(-1)
    assert diff.max() > 20 and (diff > 0).mean() < 0.5  # colour near centers only


def test_test_tool_show_heatmap(toy_model, tmp_path, capsys, monkeypatch):
    _, cfg, ckpt = toy_model
    images = {}
    for extra in ([], ['--show-heatmap']):
        show = tmp_path / f'show{len(extra)}'
        out = tmp_path / f'res{len(extra)}.pkl'
        code, _, err = run_main('tools/test.py', [cfg, ckpt, '--show-dir', show, '--work-dir',
                                                  tmp_path / 'work', '--out', out, *extra,
                                                  '--cfg-options',
                                                  'test_dataloader.dataset.indices=2',
                                                  # a visualizer of its own in this process
                                                  f'visualizer.name=ux-show-{len(extra)}'],
                                capsys, monkeypatch)
        assert code == 0, err[-2000:]
        assert sorted(os.listdir(show)) == ['000000.png', '000001.png']
        images[bool(extra)] = cv2.imread(str(show / '000001.png')).astype(int)
        with open(out, 'rb') as f:
            assert all('pred_heatmap' not in r for r in pickle.load(f))
    assert images[True].shape == (64, 128, 3)  # ground truth | prediction
    left = np.abs(images[True][:, :64] - images[False][:, :64]).max()
    right = np.abs(images[True][:, 64:] - images[False][:, 64:]).max()
    assert left == 0 and right > 10


@pytest.mark.parametrize('argv,message', [
    (['--show-heatmap'], '--show-heatmap needs --show or --show-dir'),
    (['--show-dir', 'x', '--show-heatmap', '--tta'], '--show-heatmap cannot be used with'),
])
def test_test_tool_show_heatmap_errors(toy_model, capsys, monkeypatch, argv, message):
    _, cfg, ckpt = toy_model
    code, _, err = run_main('tools/test.py', [cfg, ckpt, *argv], capsys, monkeypatch)
    assert code == 2 and message in err.splitlines()[0], err
