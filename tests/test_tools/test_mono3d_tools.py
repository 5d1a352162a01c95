"""The 3D tools end to end on a tiny toy KITTI set: generator, test.py --eval kitti
--out-dir --show-dir, the monocular 3D demo, browse_dataset with 3D boxes."""
import math
import os
import os.path as osp
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcenternet.datasets.kitti_mono3d import read_kitti_calib, read_kitti_label
from mmcenternet.registry import MODELS
from test_tools.kitti_workspace import ROOT, load_kitti_generator

QUICKSTART = osp.join(ROOT, 'configs', 'quickstart', 'centernet3d_r18w16_1xb8-20e_toy-kitti.py')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('mono3d')
    root = str(tmp / 'toy_kitti')
    load_kitti_generator().generate(root, num_train=2, num_val=2, seed=1)
    cfg_path = tmp / 'tiny.py'
    cfg_path.write_text(textwrap.dedent(f'''
        _base_ = [{QUICKSTART!r}]
        data_root = {root + '/'!r}
        train_dataloader = dict(batch_size=2, dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        model = dict(test_cfg=dict(score_thr=0.0), bbox_head=dict(codec=dict(topk=5)))
        # its own instance: mmengine reuses a visualizer of the same name made by another test
        visualizer = dict(name='mono3d-tools-visualizer')
        '''))
    cfg = Config.fromfile(str(cfg_path))
    model = MODELS.build(cfg.model)
    model.init_weights()
    ckpt = tmp / 'random.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(classes=('Car', 'Pedestrian'))}}, ckpt)
    return dict(root=root, cfg=str(cfg_path), ckpt=str(ckpt), tmp=tmp)


def test_generator_writes_kitti_labels(workspace, tmp_path):
    root = workspace['root']
    ids = [ln.strip() for ln in open(osp.join(root, 'ImageSets', 'trainval.txt'))]
    assert ids == ['000000', '000001', '000002', '000003']
    p2 = read_kitti_calib(osp.join(root, 'training', 'calib', '000000.txt'))
    np.testing.assert_allclose(p2[0, 0], 721.5377)
    objects = [o for i in ids
               for o in read_kitti_label(osp.join(root, 'training', 'label_2', i + '.txt'))]
    real = [o for o in objects if o['name'] != 'DontCare']
    assert len(real) >= 6 and {o['name'] for o in real} <= {'Car', 'Pedestrian'}
    for o in real:
        x, _, z = o['location']
        rel = o['rotation_y'] - math.atan2(x, z) - o['alpha']
        assert abs(math.remainder(rel, 2 * math.pi)) < 0.011  # alpha as KITTI: 2 decimals
        assert 0 <= o['bbox'][0] <= o['bbox'][2] <= 1241 and o['occluded'] in (0, 1, 2)
        # the default depth range (4 to 25 m, KITTI's Easy cars; wider ranges left the small
        # quickstart model's 3D AP near 0): every labelled object's depth in it
        assert 4.0 <= z <= 25.0
    # deterministic, and a second run with the same arguments is skipped
    again = str(tmp_path / 'again')
    load_kitti_generator().generate(again, num_train=2, num_val=2, seed=1)
    for sub in ('image_2/000001.png', 'label_2/000003.txt'):
        with open(osp.join(root, 'training', sub), 'rb') as a, \
                open(osp.join(again, 'training', sub), 'rb') as b:
            assert a.read() == b.read()
    stamp = os.path.getmtime(osp.join(again, 'training', 'label_2', '000000.txt'))
    load_kitti_generator().generate(again, num_train=2, num_val=2, seed=1)
    assert os.path.getmtime(osp.join(again, 'training', 'label_2', '000000.txt')) == stamp
    # a larger training set keeps the same val images (under later ids)
    more = str(tmp_path / 'more')
    ids = load_kitti_generator().generate(more, num_train=3, num_val=1, seed=1)
    assert ids['val'] == ['000003']
    for sub, ext in (('label_2', '.txt'), ('image_2', '.png')):
        with open(osp.join(root, 'training', sub, '000002' + ext), 'rb') as a, \
                open(osp.join(more, 'training', sub, '000003' + ext), 'rb') as b:
            assert a.read() == b.read()


def test_test_tool_evaluates_writes_results_and_draws(workspace, tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location('mmcn_test_tool',
                                                  osp.join(ROOT, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out_dir, show_dir = tmp_path / 'kitti_results', tmp_path / 'show'
    metrics = tool.main([workspace['cfg'], workspace['ckpt'], '--eval', 'kitti',
                         '--out-dir', str(out_dir), '--show-dir', str(show_dir),
                         '--work-dir', str(tmp_path / 'work')])
    assert 'kitti/Car_3D_R40_Moderate' in metrics and 'kitti/Pedestrian_AOS_R11_Easy' in metrics
    files = sorted(os.listdir(out_dir))
    assert files == ['000002.txt', '000003.txt']
    dets = read_kitti_label(str(out_dir / files[0]), with_score=True)
    assert len(dets) == 5 and all(d['name'] in ('Car', 'Pedestrian') for d in dets)
    drawn = [f for _, _, fs in os.walk(show_dir) for f in fs if f.endswith('.png')]
    assert len(drawn) == 2


def test_out_dir_needs_a_writing_evaluator(workspace, tmp_path):
    import importlib.util
    from mmcenternet.errors import ConfigError
    spec = importlib.util.spec_from_file_location('mmcn_test_tool2',
                                                  osp.join(ROOT, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config.fromfile(workspace['cfg'])
    cfg.test_evaluator = dict(type='mmdet.CocoMetric')
    with pytest.raises(ConfigError, match='--out-dir: no test evaluator'):
        tool.set_out_dir(cfg, str(tmp_path), 'cfg.py')


def test_mono3d_demo(workspace, tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mono3d_demo', osp.join(ROOT, 'demo', 'mono3d_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    root = workspace['root']
    img = osp.join(root, 'training', 'image_2', '000002.png')
    calib = osp.join(root, 'training', 'calib', '000002.txt')
    out_img, out_txt = demo.main([img, calib, workspace['cfg'], workspace['ckpt'],
                                  '--out-dir', str(tmp_path), '--score-thr', '0'])
    import cv2
    drawn = cv2.imread(out_img)
    assert drawn.shape[0] == 375 and drawn.shape[1] > 1242  # image + bird's-eye view
    assert len(read_kitti_label(out_txt, with_score=True)) == 5
    numbers = tmp_path / 'p2.txt'  # a bare 3 x 4 matrix works too
    numbers.write_text(' '.join(map(str, read_kitti_calib(calib).reshape(-1))))
    demo.main([img, str(numbers), workspace['cfg'], workspace['ckpt'], '--out-dir',
               str(tmp_path / 'b'), '--score-thr', '0'])
    no_meta = tmp_path / 'no_meta.pth'  # class names then come from the config
    torch.save({'state_dict': torch.load(workspace['ckpt'])['state_dict']}, no_meta)
    _, txt = demo.main([img, calib, workspace['cfg'], str(no_meta), '--out-dir',
                        str(tmp_path / 'c'), '--score-thr', '0'])
    assert {d['name'] for d in read_kitti_label(txt, with_score=True)} <= {'Car', 'Pedestrian'}
    with pytest.raises(ValueError, match='12 numbers'):
        bad = tmp_path / 'bad.txt'
        bad.write_text('1 2 3')
        demo.main([img, str(bad), workspace['cfg'], workspace['ckpt']])


def test_browse_dataset_draws_3d_boxes(workspace, tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'browse_dataset', osp.join(ROOT, 'tools', 'analysis_tools', 'browse_dataset.py'))
    browse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(browse)
    written = browse.main([workspace['cfg'], '--output-dir', str(tmp_path), '--not-show',
                           '--max-images', '1'])
    import cv2
    img = cv2.imread(written[0])
    width, height = Config.fromfile(workspace['cfg']).input_size
    assert img.shape[0] == height and img.shape[1] > width  # input + bird's-eye view panel


def _load_analysis_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'analyze_mono3d', osp.join(ROOT, 'tools', 'analysis_tools', 'analyze_mono3d.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_analyze_mono3d_perfect_maps_and_oracles(workspace):
    """The codec's ceiling: encoded ground truth decodes to 3D boxes as good as its 2D
    boxes by unprojecting the projected 3D center, not by the official 2D box center (the
    AP values are low on two images: KITTI's 41 thresholds come from few true positives);
    the oracles run on a model."""
    tool = _load_analysis_tool()
    table = tool.main([workspace['cfg'], '--perfect-maps', '--classes', 'Car'])
    projected = table['center_mode=projected']['Car']
    official = table['center_mode=official']['Car']
    assert projected['bbox'] == official['bbox']  # the 2D boxes do not change
    assert projected['3d'] == projected['bev'] == projected['bbox']
    assert official['3d'][1] < projected['3d'][1]
    table = tool.main([workspace['cfg'], workspace['ckpt'], '--classes', 'Car'])
    assert set(table) == {'none', *tool.ORACLES}


def test_analysis_oracles_replace_their_component():
    tool = _load_analysis_tool()
    from test_tools.kitti_workspace import KITTI_P2
    gt = np.array([1.5, 1.65, 20., 3.9, 1.5, 1.6, 0.3])
    center = tool.center2d_of(gt, KITTI_P2)[0]
    det = tool.rebuild(center + 6., 23., np.array([1.6, 1.5, 4.3]), -0.2, KITTI_P2)
    np.testing.assert_allclose(tool.rebuild(center, 20., gt[[4, 5, 3]], 0.3, KITTI_P2), gt,
                               atol=1e-9)
    every = tool.apply_oracle('depth+center2d+dims+rot_y', det, center + 6., gt, KITTI_P2)
    np.testing.assert_allclose(every, gt, atol=1e-9)
    depth = tool.apply_oracle('depth', det, center + 6., gt, KITTI_P2)
    assert depth[2] == pytest.approx(20.) and depth[6] == det[6]
    np.testing.assert_allclose(depth[3:6], det[3:6])
    location = tool.apply_oracle('location', det, center + 6., gt, KITTI_P2)
    np.testing.assert_allclose(location[[0, 2]], gt[[0, 2]])
    assert location[1] - location[4] / 2 == pytest.approx(gt[1] - gt[4] / 2)  # same center
    rot = tool.apply_oracle('rot_y', det, center + 6., gt, KITTI_P2)
    np.testing.assert_allclose(rot[:6], det[:6], atol=1e-9)
    assert rot[6] == pytest.approx(0.3)
