"""Official ``ddd`` (monocular 3D) checkpoints convert and give the official outputs.

The official ddd network is the DLA-34 ``DLASeg`` with heads ``hm`` 3, ``dep`` 1, ``rot``
8, ``dim`` 3, ``wh`` 2, ``reg`` 2 (``opts.py``), re-described in ``_official_centernet.py``.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(__file__))
from _official_centernet import OfficialDLASeg, randomize_  # noqa: E402

from mmcenternet.checkpoint.official import convert_official_state_dict  # noqa: E402
from mmcenternet.registry import MODELS  # noqa: E402
from test_tools.test_official_converter import load_tool  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'centernet_3d',
                  'centernet_dla34-dcnv2_2xb8-1280x384-70e_kitti-3dop.py')
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'centernet_official2mmcn.py')
DDD_HEADS = {'hm': 3, 'dep': 1, 'rot': 8, 'dim': 3, 'wh': 2, 'reg': 2}
DDD_HEAD_MAP, detect_task = load_tool().TASK_HEAD_MAPS['ddd'], load_tool().detect_task


def _ours():
    return MODELS.build(Config.fromfile(CONFIG).model).eval()


def _compare(official, ours, x):
    with torch.no_grad():
        ref = official(x)[0]
        out = ours._forward(x)[0]
    for off_name, name in DDD_HEAD_MAP.items():
        scale = max(1.0, ref[off_name].abs().max().item())
        diff = (ref[off_name] - out[name]).abs().max().item()
        assert diff <= 1e-4 * scale, f'{off_name}: {diff}'


def test_ddd_layout_and_task_detection():
    with torch.device('meta'):
        official = OfficialDLASeg(DDD_HEADS)
        ours = MODELS.build(Config.fromfile(CONFIG).model)
    assert detect_task(official.state_dict()) == 'ddd'
    with pytest.warns(UserWarning, match='base.fc'):
        converted = convert_official_state_dict(official.state_dict(), 'dla_34', DDD_HEAD_MAP)
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected


def test_ddd_tool_converts_and_outputs_match(tmp_path):
    spec = importlib.util.spec_from_file_location('centernet_official2mmcn', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    official = randomize_(OfficialDLASeg(DDD_HEADS), seed=7).eval()
    src, dst = tmp_path / 'ddd_3dop.pth', tmp_path / 'ours.pth'
    torch.save({'epoch': 70, 'state_dict': {'module.' + k: v
                                            for k, v in official.state_dict().items()}}, src)
    with pytest.warns(UserWarning, match='base.fc'):
        assert tool.main([str(src), str(dst)]) == 0  # arch and task detected
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['task'] == 'ddd' and ckpt['meta']['arch'] == 'dla_34'
    ours = _ours()
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    _compare(official, ours, torch.randn(1, 3, 64, 96))
