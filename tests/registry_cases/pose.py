"""Build cases of the multi-person pose modules (issue 10)."""
import os.path as osp

from test_tools.pose_workspace import load_pose_generator

COCO_PERSON = 'configs/_base_/datasets/coco_keypoints.py'


def _metainfo():
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    return Config.fromfile(osp.join(root, COCO_PERSON)).metainfo.to_dict()


def pose_dataset(tmp):
    root = tmp / 'toy_pose'
    load_pose_generator().generate(str(root), 2, 2, 64, 0)
    return dict(type='CocoPoseDataset', data_root=str(root), metainfo=_metainfo(),
                ann_file='annotations/person_keypoints_val.json', data_prefix=dict(img='val/'),
                test_mode=True, pipeline=[])


CASES = {
    ('TASK_UTILS', 'MultiPoseCodec'): lambda tmp: dict(type='MultiPoseCodec', num_keypoints=17,
                                                       topk=20),
    ('DATASETS', 'CocoPoseDataset'): pose_dataset,
    ('TRANSFORMS', 'LoadPoseAnnotations'): lambda tmp: dict(type='LoadPoseAnnotations'),
    ('METRICS', 'CocoKeypointMetric'): lambda tmp: dict(
        type='CocoKeypointMetric', ann_file='data/coco/annotations/person_keypoints_val2017.json'),
}
