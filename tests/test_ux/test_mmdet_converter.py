"""tools/model_converters/mmdet2mmcn.py: an MMDetection CenterNet checkpoint (DCN and plain
R18) converted and loaded strictly into our config gives mmdet's maps and detections."""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from test_engine.conftest import run_main
from test_tools.toy_workspace import ROOT

OURS = osp.join(ROOT, 'configs/centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py')


@pytest.fixture(scope='module')
def compare():
    spec = importlib.util.spec_from_file_location(
        'compare_mmdet_for_converter', osp.join(ROOT, 'benchmarks/compare_mmdet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mmdet_checkpoint(compare, tmp_path, plain: bool):
    """A randomised mmdet CenterNet R18 (DCN or plain neck) saved as mmdet saves one."""
    from mmdet.registry import MODELS as MMDET_MODELS
    name = 'centernet_r18_8xb16-crop512-140e_coco.py' if plain else \
        'centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'
    mmdet_cfg = Config.fromfile(osp.join(osp.dirname(compare.mmdet_config_path()), name))
    ours_cfg = Config.fromfile(OURS)
    with DefaultScope.overwrite_default_scope('mmdet'):
        theirs = MMDET_MODELS.build(compare.mmdet_model_cfg(mmdet_cfg,
                                                            ours_cfg.model.data_preprocessor))
    theirs.init_weights()
    compare.randomize_(theirs, seed=1)
    theirs.eval()
    path = tmp_path / ('mmdet_plain.pth' if plain else 'mmdet_dcn.pth')
    classes = tuple(f'class{i}' for i in range(80))
    torch.save({'state_dict': theirs.state_dict(),
                'meta': {'dataset_meta': {'classes': classes}}}, path)
    return theirs, path, classes


@pytest.mark.parametrize('plain', [False, True], ids=['dcnv2', 'plain'])
def test_converted_mmdet_checkpoint_gives_mmdets_outputs(compare, tmp_path, capsys,
                                                         monkeypatch, plain):
    from mmcenternet.apis import init_detector
    theirs, src, classes = mmdet_checkpoint(compare, tmp_path, plain)
    dst = tmp_path / 'ours.pth'
    code, stdout, err = run_main('tools/model_converters/mmdet2mmcn.py', [src, dst], capsys,
                                 monkeypatch)
    assert code == 0, err[-2000:]
    assert ('plain conv' if plain else 'DCNv2') in stdout
    options = {'model.neck.conv_cfg': None} if plain else None
    ours = init_detector(OURS, str(dst), cfg_options=options)  # strict
    ours.eval()
    assert tuple(ours.dataset_meta['classes']) == classes
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    ok, report = compare.check_outputs(ours, copy.deepcopy(ours), theirs, x, tol=1e-3)
    assert ok, report
    assert report['ours_maps_max_abs_diff'] < 1e-4
    assert report['ours_dets']['num_ours'] == 100


def test_converter_refuses_another_model(tmp_path, capsys, monkeypatch):
    src = tmp_path / 'update.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1),
                               'neck.fpn_convs.0.conv.weight': torch.zeros(1)}}, src)
    code, _, err = run_main('tools/model_converters/mmdet2mmcn.py', [src, tmp_path / 'o.pth'],
                            capsys, monkeypatch)
    assert code == 2, err
    assert err.startswith(f'error: {src}: 1 keys are not those of an mmdet CenterNet')
    assert 'neck.fpn_convs.0.conv.weight' in err.splitlines()[0]
    assert not (tmp_path / 'o.pth').exists()
