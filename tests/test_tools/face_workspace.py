"""The toy face generator and a narrow face quickstart config over it (test helper)."""
import os.path as osp
import textwrap

from .toy_workspace import ROOT, load_generator

FACE_QUICKSTART = osp.join(ROOT, 'configs', 'quickstart',
                           'centerface_mobilenetv2_1xb8-60e_toy.py')


def make_face_workspace(tmp_path, num_train=8, num_val=4, img_size=64,
                        extra: str = '') -> tuple:
    """Generates the toy face set and writes a config inheriting the face quickstart at
    half width, evaluated with COCO box AP, the landmark error and the WIDER FACE protocol
    (``extra``: more config lines). Returns ``(config path, the generator's paths)``."""
    paths = load_generator('gen_toy_face').generate(str(tmp_path / 'data'), num_train,
                                                    num_val, img_size, 0)
    cfg = tmp_path / 'tiny_face.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{FACE_QUICKSTART!r}]
        data_root = {paths['root'] + '/'!r}
        train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        val_evaluator = [
            dict(type='CenterNetCocoMetric', ann_file={paths['val_ann_file']!r}),
            dict(type='FaceLandmarkMetric'),
            dict(type='WiderFaceMetric', gt_dir={paths['gt_dir']!r})]
        test_evaluator = val_evaluator
        model = dict(backbone=dict(widen_factor=0.5), neck=dict(in_channels=[16, 16, 48, 160]))
        ''') + textwrap.dedent(extra))
    return str(cfg), paths
