"""Build cases of the face task and the light backbones (issue 14)."""
import os.path as osp

GT_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'widerface_gt')


def wider_face_dataset(tmp):
    label = tmp / 'label.txt'
    label.write_text('# 0--Parade/0_Parade_1.jpg\n'
                     '10 20 30 40 15 30 0.0 30 30 0.0 22 40 0.0 16 50 1.0 30 50 0.0 0.9\n'
                     '# 0--Parade/0_Parade_2.jpg\n50 60 8 9 ' + '-1.0 ' * 15 + '0.2\n')
    return dict(type='WiderFaceDataset', ann_file=str(label), data_prefix=dict(img='images/'),
                test_mode=True, pipeline=[])


CASES = {
    ('TASK_UTILS', 'CenterFaceCodec'): lambda tmp: dict(type='CenterFaceCodec', topk=50),
    ('MODELS', 'RegSmoothL1Loss'): lambda tmp: dict(type='RegSmoothL1Loss', loss_weight=0.1),
    ('MODELS', 'CenterNetFPNNeck'): lambda tmp: dict(type='CenterNetFPNNeck',
                                                     in_channels=[24, 32, 96, 320]),
    ('MODELS', 'ShuffleNetV2'): lambda tmp: dict(type='ShuffleNetV2', widen_factor=0.5),
    ('DATASETS', 'WiderFaceDataset'): wider_face_dataset,
    ('METRICS', 'WiderFaceMetric'): lambda tmp: dict(type='WiderFaceMetric', gt_dir=GT_DIR),
    ('METRICS', 'FaceLandmarkMetric'): lambda tmp: dict(type='FaceLandmarkMetric'),
}
