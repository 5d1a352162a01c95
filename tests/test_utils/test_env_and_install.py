"""Import-time stack checks, the .mim install layout and the README's example config."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

import mmcenternet
from mmcenternet.utils import env_check

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_mmcv_without_ops_gives_a_clear_message(monkeypatch):
    from mmcv.utils import ext_loader

    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'mmcv._ext'")

    monkeypatch.setattr(ext_loader, 'load_ext', missing)
    with pytest.raises(ImportError, match='without its compiled ops.*MMCV_WITH_OPS=1'):
        env_check.check_mmcv_ops()


def test_version_ranges_are_checked(monkeypatch):
    import mmcv
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    with pytest.raises(ImportError, match='mmcv 2.2.0 is installed.*< 2.2.0'):
        env_check.check_environment()
    monkeypatch.setattr(mmcv, '__version__', '2.1.0')
    env_check.check_environment()  # the pinned stack passes


def test_configs_and_tools_are_in_the_package_mim_folder():
    mim = osp.join(osp.dirname(mmcenternet.__file__), '.mim')
    assert osp.isfile(osp.join(mim, 'configs', 'centernet',
                               'centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'))
    assert osp.isfile(osp.join(mim, 'tools', 'train.py'))


def test_readme_custom_dataset_example_builds(tmp_path):
    text = open(osp.join(ROOT, 'README.md')).read()
    block = re.search(r'```python\n(# configs/my_project/.*?)```', text, re.S).group(1)
    project = osp.join(ROOT, 'configs', 'my_project_readme_test')
    cfg_path = tmp_path / 'example.py'
    base = osp.join(ROOT, 'configs', 'centernet')
    cfg_path.write_text(block.replace("'../centernet/", f"'{base}/"))
    cfg = Config.fromfile(str(cfg_path))
    assert not osp.exists(project)
    assert cfg.model.bbox_head.codec.num_classes == 2
    assert cfg.train_dataloader.dataset.metainfo['classes'] == ('cat', 'dog')
    assert cfg.train_dataloader.dataset.data_root == 'data/my_data/'
    from mmcenternet.registry import MODELS
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == 2
