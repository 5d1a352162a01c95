"""The toy pose generator and tiny pose configs that train in seconds (test helper)."""
import importlib.util
import os.path as osp
import textwrap

from .toy_workspace import load_generator, tiny_overrides

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
POSE_QUICKSTART = osp.join(ROOT, 'configs', 'quickstart',
                           'centernet_r18w16_1xb8-90e_toy-pose.py')
ALL_POSE_QUICKSTART = osp.join(ROOT, 'configs', 'quickstart',
                               'centernet_r18w16_1xb8-90e_toy-all-pose.py')


def load_pose_generator():
    """Imports tools/misc/gen_toy_pose.py."""
    return load_generator('gen_toy_pose')


def make_pose_workspace(tmp_path, base=POSE_QUICKSTART, with_shapes=False, num_train=8,
                        num_val=4, img_size=64, epochs=2, head: str = '') -> str:
    """Generates toy pose data and writes a tiny config inheriting ``base`` (``head``: more
    ``bbox_head`` arguments)."""
    data_root = tmp_path / 'toy_pose'
    load_pose_generator().generate(str(data_root), num_train, num_val, img_size, 0,
                                   with_shapes=with_shapes)
    ann = data_root / 'annotations'
    cfg = tmp_path / 'tiny_pose.py'
    cfg.write_text(textwrap.dedent(f'''
        _base_ = [{base!r}]
        data_root = {str(data_root) + '/'!r}
        train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        val_evaluator = [
            dict(type='CocoKeypointMetric', ann_file={str(ann / 'person_keypoints_val.json')!r}),
            dict(type='mmdet.CocoMetric', ann_file={str(ann / 'person_keypoints_val.json')!r},
                 metric='bbox')]
        test_evaluator = val_evaluator
        ''') + tiny_overrides(epochs, head))
    return str(cfg)


def train_in_process(cfg_path: str, work_dir: str) -> None:
    """``tools/train.py CONFIG --work-dir WORK_DIR`` in this process (no start-up cost)."""
    spec = importlib.util.spec_from_file_location('mmcn_train_tool',
                                                  osp.join(ROOT, 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([cfg_path, '--work-dir', work_dir])
