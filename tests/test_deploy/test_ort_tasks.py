"""The tasks beyond 2D boxes through ONNX Runtime: pose and faces evaluated end to end by
tools/test.py --backend onnxruntime with their own metrics, and their extra outputs
(keypoints, landmarks, 3D boxes) in original-image pixels against the PyTorch model's.

The pose and face models are the quickstart networks at test-suite width, trained for a
few seconds to memorise their 4 val images (:func:`helpers.memorise`), so that their
keypoint AP / WIDER FACE AP / landmark error are figures worth comparing. The 3D model has
random weights (its boxes go through the calibration outside the graph).
"""
import math
import os.path as osp
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmcenternet.deploy.verify import compare_extras, peaks_only
from mmcenternet.registry import DATASETS, MODELS
from mmcenternet.utils.benchmark import pair_dets, randomize_
from test_tools.face_workspace import make_face_workspace
from test_tools.pose_workspace import make_pose_workspace
from test_tools.toy_workspace import ROOT, load_generator
from .helpers import load_tool, memorise, write_constant_detector

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

DDD_QUICKSTART = osp.join(ROOT, 'configs', 'quickstart',
                          'centernet3d_r18w16_1xb8-20e_toy-kitti.py')
# its own visualizer: mmengine reuses an instance of the same name made by another test
OWN_VISUALIZER = "visualizer = dict(name='ort-tasks-visualizer-{}')\n"


def face_workspace(tmp) -> str:
    """The toy face set (4 val images) and the half-width face quickstart over it.

    Its score threshold is 1e-4 instead of the quickstart's 0: on a 16 x 16 map of one
    class the top-100 is mostly non-peaks of score 0, all tied, which PyTorch's and ONNX
    Runtime's TopK return in different orders (other boxes, which may still hit a face).
    """
    return make_face_workspace(tmp, num_train=4, extra='''
        model = dict(test_cfg=dict(score_thr=1e-4))
        ''' + OWN_VISUALIZER.format('face'))[0]


def make_ddd_workspace(tmp) -> str:
    root = str(tmp / 'toy_kitti')
    load_generator('gen_toy_kitti').generate(root, num_train=2, num_val=2, seed=1)
    cfg = tmp / 'tiny_3d.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{DDD_QUICKSTART!r}]
        data_root = {root + '/'!r}
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        model = dict(test_cfg=dict(score_thr=0.0))
        ''') + OWN_VISUALIZER.format('3d'))
    return str(cfg)


def export(repo_root, cfg: str, ckpt: str, out: str) -> str:
    load_tool(repo_root, 'tools/deployment/pytorch2onnx.py').main(
        [cfg, ckpt, '--out', out, '--dynamic', '--input-size', '64', '64'])
    return out


def test_tool(repo_root, *args) -> dict:
    """tools/test.py in this process (no start-up cost); its metrics."""
    return load_tool(repo_root, 'tools/test.py').main(list(args))


test_tool.__test__ = False  # a helper, not a test


@pytest.fixture(scope='module')
def pose(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp('ort_pose')
    cfg = make_pose_workspace(tmp, num_train=2, num_val=4)
    with open(cfg, 'a') as f:
        f.write(OWN_VISUALIZER.format('pose'))
    ckpt = str(tmp / 'pose.pth')
    memorise(cfg, ckpt, steps=40, split='test_dataloader')
    return cfg, ckpt, export(repo_root, cfg, ckpt, str(tmp / 'pose.onnx')), tmp


@pytest.fixture(scope='module')
def face(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp('ort_face')
    cfg = face_workspace(tmp)
    ckpt = str(tmp / 'face.pth')
    memorise(cfg, ckpt, steps=80, split='test_dataloader', lr=2e-2)
    return cfg, ckpt, export(repo_root, cfg, ckpt, str(tmp / 'face.onnx')), tmp


@pytest.fixture(scope='module')
def ddd(tmp_path_factory, repo_root):
    """Random weights with spread-out scores and sizes (``randomize_``)."""
    tmp = tmp_path_factory.mktemp('ort_3d')
    cfg = make_ddd_workspace(tmp)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    randomize_(model, 0)
    ckpt = str(tmp / 'ddd.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': dict(classes=('Car', 'Pedestrian'))}}, ckpt)
    return cfg, ckpt, export(repo_root, cfg, ckpt, str(tmp / 'ddd.onnx')), tmp


def assert_same_metrics(ours: dict, theirs: dict, tol: float = 0.002) -> None:
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        if isinstance(value, (int, float)):
            assert abs(value - theirs[key]) <= tol or (
                math.isnan(value) and math.isnan(theirs[key])), (key, value, theirs[key])


def results_of(cfg_path: str, ckpt: str, onnx_file: str):
    """``pred_instances`` of the test set's images: PyTorch, then ONNX Runtime."""
    from mmcenternet.deploy import ort_model_cfg
    from mmcenternet.checkpoint import load_weights
    cfg = Config.fromfile(cfg_path)
    model = MODELS.build(cfg.model)
    load_weights(model, ckpt)
    ort = MODELS.build(ort_model_cfg(cfg.model, onnx_file))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        return [[s.pred_instances for s in m.eval().test_step(batch)] for m in (model, ort)]


def assert_same_outputs(cfg_path, ckpt, onnx_file, keys, tol=1e-3) -> int:
    """Paired detections of every image: boxes and ``keys`` within ``tol`` px (original
    image), scores within 1e-4, none unpaired. Returns the number of pairs."""
    num_pairs = 0
    for ref, got in zip(*results_of(cfg_path, ckpt, onnx_file)):
        ref, got = peaks_only(ref.to_dict()), peaks_only(got.to_dict())
        diff, pairs = pair_dets(got, ref)
        assert diff['labels'] == 0 and diff['box'] < tol and diff['score'] < 1e-4, diff
        extras = compare_extras(got, ref, pairs)
        assert set(keys) <= set(extras), extras
        assert all(extras[k] < tol for k in keys), extras
        num_pairs += len(pairs)
    return num_pairs


def test_pose_keypoint_ap_equal_through_onnxruntime(pose, repo_root):
    cfg, ckpt, onnx_file, tmp = pose
    args = ['--eval', 'keypoints', 'bbox']
    ref = test_tool(repo_root, cfg, ckpt, *args, '--work-dir', str(tmp / 'pt'))
    got = test_tool(repo_root, cfg, onnx_file, '--backend', 'onnxruntime', *args,
                    '--work-dir', str(tmp / 'ort'))
    assert ref['coco/keypoints_mAP'] > 0.3 and ref['coco/bbox_mAP_50'] > 0.5, ref  # memorised
    assert_same_metrics(got, ref)


def test_pose_keypoints_parity(pose):
    cfg, ckpt, onnx_file, _ = pose
    assert assert_same_outputs(cfg, ckpt, onnx_file, ('keypoints', 'keypoint_scores')) > 20


def test_face_widerface_landmarks_bbox_equal_through_onnxruntime(face, repo_root):
    cfg, ckpt, onnx_file, tmp = face
    args = ['--eval', 'widerface', 'landmarks', 'bbox']
    ref = test_tool(repo_root, cfg, ckpt, *args, '--work-dir', str(tmp / 'pt'))
    got = test_tool(repo_root, cfg, onnx_file, '--backend', 'onnxruntime', *args,
                    '--work-dir', str(tmp / 'ort'))
    assert ref['coco/bbox_mAP_50'] > 0.5 and ref['widerface/hard'] > 0.5, ref  # memorised
    assert ref['landmarks/nme'] < 0.2, ref
    assert_same_metrics(got, ref)


def test_face_landmarks_parity(face):
    cfg, ckpt, onnx_file, _ = face
    assert assert_same_outputs(cfg, ckpt, onnx_file, ('keypoints', )) > 20


def test_3d_boxes_parity_and_kitti_metrics(ddd, repo_root):
    """3D boxes come from ``cam2img`` in ``finalize``, after ONNX Runtime, from the exported
    ``centers`` / ``box_sizes`` / ``depths`` / ``dims`` / ``alphas``."""
    cfg, ckpt, onnx_file, tmp = ddd
    assert assert_same_outputs(cfg, ckpt, onnx_file, ('bboxes_3d', 'alphas')) > 20
    ref = test_tool(repo_root, cfg, ckpt, '--eval', 'kitti', '--work-dir', str(tmp / 'pt'))
    got = test_tool(repo_root, cfg, onnx_file, '--backend', 'onnxruntime', '--eval', 'kitti',
                    '--work-dir', str(tmp / 'ort'))
    assert 'kitti/Car_3D_R40_Moderate' in ref
    assert_same_metrics(got, ref)


def test_triplet_config_does_not_export_with_a_one_line_error(repo_root, tmp_path):
    from mmcenternet.errors import ExportError
    config = osp.join(ROOT, 'configs', 'quickstart', 'centernet-triplet_hg-tiny_1xb8-30e_toy.py')
    tool = load_tool(repo_root, 'tools/deployment/pytorch2onnx.py')
    with pytest.raises(ExportError) as info:
        tool.main([config, str(tmp_path / 'absent.pth'), '--out', str(tmp_path / 'x.onnx')])
    text = str(info.value)
    assert '\n' not in text and 'centernet-triplet_hg-tiny_1xb8-30e_toy.py' in text
    assert 'TripletHead is not a CenterNetHead' in text and 'CornerPool' in text
    assert not (tmp_path / 'x.onnx').exists()


def test_model_without_what_finalize_reads_is_a_one_line_error(tmp_path):
    """A 3D model file with only the detections (no ``depths`` / ``dims``) is refused."""
    from mmcenternet.deploy.ort_detector import check_model_fits, load_session
    from mmcenternet.errors import ONNXModelError
    head = MODELS.build(Config.fromfile(DDD_QUICKSTART).model.bbox_head)
    onnx_file = write_constant_detector(tmp_path / 'old.onnx', num_classes=head.num_classes,
                                        meta=False)
    with pytest.warns(UserWarning, match='carries no class count'), \
            pytest.raises(ONNXModelError) as info:
        check_model_fits(load_session(onnx_file), head, onnx_file)
    assert "lacks the outputs ['depths', 'dims'] that DDDCodec.finalize reads" in str(
        info.value) and '\n' not in str(info.value)
