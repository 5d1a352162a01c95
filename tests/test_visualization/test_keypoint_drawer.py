"""The keypoint drawer: skeleton and joints from the dataset metainfo, on predictions and gt."""
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmcenternet.registry import VISUALIZERS
from mmcenternet.visualization.keypoints import limb_segments

META = dict(classes=('person', 'dog'), keypoint_classes=('person', ),
            keypoint_names=('c', 'l', 'r'), skeleton=[[0, 1], [0, 2]],
            keypoint_colors=[[0, 255, 0], [0, 0, 255], [255, 0, 0]],
            skeleton_colors=[[255, 255, 0], [0, 255, 255]])
JOINTS = [[[32., 16.], [48., 40.], [16., 40.]]]


def _draw(pred=None, gt=None, name='kp'):
    vis = VISUALIZERS.build(dict(type='CenterNetVisualizer', name=f'{name}-{id(pred)}'))
    vis.dataset_meta = META
    sample = DetDataSample()
    if pred is not None:
        sample.pred_instances = pred
    if gt is not None:
        sample.gt_instances = gt
    vis.add_datasample('x', np.zeros((64, 64, 3), np.uint8), sample, draw_gt=gt is not None,
                       draw_pred=pred is not None, pred_score_thr=0.3)
    return vis.get_image()


def _pred(label=0, score=0.9):
    return InstanceData(bboxes=torch.tensor([[10., 10., 54., 50.]]), scores=torch.tensor([score]),
                        labels=torch.tensor([label]), keypoints=torch.tensor(JOINTS),
                        keypoint_scores=torch.tensor([[0.9, 0., 0.5]]))


def _colour_near(img, xy, colour, radius=1):
    x, y = int(xy[0]), int(xy[1])
    patch = img[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3)
    return bool((np.abs(patch.astype(int) - colour).sum(1) < 60).any())


def test_predicted_people_get_joints_and_limbs_in_the_metainfo_colours():
    img = _draw(_pred())
    for xy, colour in zip(JOINTS[0], META['keypoint_colors']):
        assert _colour_near(img, xy, colour), (xy, colour)
    # the middle of limb 0 (centre -> left) in its limb colour
    assert _colour_near(img, (40, 28), META['skeleton_colors'][0])
    assert _colour_near(img, (24, 28), META['skeleton_colors'][1])


def test_other_classes_and_low_scores_get_no_skeleton():
    assert not _colour_near(_draw(_pred(label=1), name='dog'), (40, 28),
                            META['skeleton_colors'][0])
    assert not _colour_near(_draw(_pred(score=0.1), name='low'), JOINTS[0][0],
                            META['keypoint_colors'][0])


def test_ground_truth_draws_labelled_joints_only():
    gt = InstanceData(bboxes=torch.tensor([[10., 10., 54., 50.]]), labels=torch.tensor([0]),
                      keypoints=torch.tensor(JOINTS),
                      keypoints_visible=torch.tensor([[2., 0., 1.]]))
    img = _draw(gt=gt, name='gt')
    assert _colour_near(img, JOINTS[0][0], META['keypoint_colors'][0])
    assert _colour_near(img, JOINTS[0][2], META['keypoint_colors'][2])
    assert not _colour_near(img, JOINTS[0][1], META['keypoint_colors'][1])
    assert not _colour_near(img, (40, 28), META['skeleton_colors'][0])


def test_limb_segments():
    points = np.array(JOINTS)
    segs, limb = limb_segments(points, np.array([[True, False, True]]), [[0, 1], [0, 2]])
    assert limb.tolist() == [1]
    np.testing.assert_array_equal(segs[0], [[32, 16], [16, 40]])


def test_joints_off_the_image_are_skipped_and_do_not_shrink_it():
    pred = _pred()
    pred.keypoints[0, 1] = torch.tensor([90., -20.])  # the left joint off the 64 px image
    img = _draw(pred, name='off')
    assert _colour_near(img, JOINTS[0][0], META['keypoint_colors'][0])  # still in place
    assert not _colour_near(img, (40, 28), META['skeleton_colors'][0])  # its limb skipped
    assert (img[60:, 60:] == 0).all()  # no margin: the canvas was not rescaled
