"""Pretrained initialisation of the official-recipe configs (issue 8, point 1; Must show e).

Synthetic checkpoints in the exact layouts (and file formats) of the official sources
(``_pretrained_sources.py``) are served from a local HTTP server on 127.0.0.1; the configs'
``init_cfg`` is pointed at them with ``--cfg-options``-style overrides, and ``init_weights()``
must load every backbone tensor (no missing / unexpected key). Nothing reaches the internet.
"""
import glob
import os
import os.path as osp
import re
from collections import OrderedDict

import pytest
import torch
from _pretrained_sources import (HG_TINY, FileServer, dla34_imagenet_shapes, go_online,
                                 hourglass_size_cfg, hourglass_source_shapes,
                                 legacy_tar_bytes, malicious_bytes, mmdet_cornernet_shapes,
                                 module_shapes, prefixed, random_state, sha_name,
                                 torch_bytes, torchvision_resnet_shapes)
from mmengine.config import Config
from test_tools._official_centernet import OfficialHourglass, OfficialPoseResNet

from mmcenternet.checkpoint import map_pretrained_backbone
from mmcenternet.errors import CheckpointError, CheckpointNotFoundError
from mmcenternet.models.utils import strip_pretrained_init
from mmcenternet.models.utils.pretrained import (OFFICIAL_PRETRAINED, SKIP_PRETRAINED_ENV,
                                                PretrainedMapped)
from mmcenternet.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'centernet', '*.py')))
QUICKSTART = osp.join(ROOT, 'configs', 'quickstart', 'centernet_r18w16_1xb8-70e_toy.py')


def _config(name: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', 'centernet', name))


def _meta_backbone_shapes(cfg: Config) -> dict:
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    return module_shapes(model.backbone)


def _meta(shapes: dict) -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict((k, torch.empty(s, device='meta')) for k, s in shapes.items())


@pytest.fixture(autouse=True)
def _online_env(monkeypatch, tmp_path):
    """Pretrained loading on, a private download cache, no proxy for 127.0.0.1."""
    go_online(monkeypatch, tmp_path)


@pytest.fixture(scope='module')
def server():
    srv = FileServer()
    yield srv
    srv.close()


def _cache_dir() -> str:
    return osp.join(os.environ['TORCH_HOME'], 'hub', 'checkpoints')


# ------------------------------------------------------------------------------ Must show (e)
def test_torchvision_resnet_builder_matches_official_networks():
    """The torchvision layout builder equals the (independently written) official networks'
    backbone keys and shapes, so that the layouts below are the real ones."""
    for depth in (18, 101):
        with torch.device('meta'):
            official = OfficialPoseResNet(depth, {'hm': 1}, 64, dcn=False)
        expected = {k: v for k, v in module_shapes(official, counters=False).items()
                    if re.match(r'(conv1|bn1|layer\d)\.', k)}
        built = torchvision_resnet_shapes(depth)
        assert built.pop('fc.weight') == (1000, 512 if depth == 18 else 2048)
        assert built.pop('fc.bias') == (1000, )
        assert built == expected


@pytest.mark.parametrize('py2', [False, True], ids=['py3', 'py2'])
def test_legacy_tar_writer_and_reader_agree_with_torch(py2, tmp_path):
    """The synthetic PyTorch 0.1 .tar files are what torch's own legacy reader reads, and our
    weights-only reader returns the same tensors (keys, order, dtypes, values)."""
    from mmcenternet.checkpoint import safe_load
    state = random_state(torchvision_resnet_shapes(18, width=4), seed=11)
    state['bn1.num_batches_tracked'] = torch.tensor(7)  # an int64 0-dim tensor too
    path = tmp_path / 'legacy.pth'
    path.write_bytes(legacy_tar_bytes(state, py2=py2))
    # Oracle only: torch's full unpickler on a file this test has just written (trusted);
    # downloaded files are never loaded this way.
    oracle = torch.load(path, weights_only=False)
    ours = safe_load(str(path))
    for loaded in (oracle, ours):
        assert list(loaded) == list(state)
        for key, value in state.items():
            assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value), key
    with pytest.raises(Exception, match='legacy .tar format'):
        torch.load(path, weights_only=True)  # why the project needs its own reader


def test_legacy_tar_refuses_pickled_modules_and_broken_records(tmp_path):
    """A whole pickled model (PyTorch 0.1 persisted module classes as ``(class, source file,
    source)`` ids) and unknown storage types are refused with a one-line error."""
    import io
    import pickle

    from mmcenternet.checkpoint import safe_load
    path = tmp_path / 'model.pth'
    container = object()
    for pid, message in (((torch.nn.Conv2d, 'conv.py', 'src'),
                          r'refused to unpickle torch\.nn\.modules\.conv\.Conv2d'),
                         (('Conv2d', 'conv.py', 'src'), 'a pickled nn.Module class')):

        class _ModulePid(pickle._Pickler):
            def persistent_id(self, obj, pid=pid):
                return pid if obj is container else None

        buf = io.BytesIO()
        _ModulePid(buf, protocol=2).dump({'model': container})
        path.write_bytes(legacy_tar_bytes({'w': torch.zeros(2)}, main_pickle=buf.getvalue()))
        with pytest.raises(CheckpointError, match=message):
            safe_load(str(path))
    good = legacy_tar_bytes({'w': torch.zeros(2)})
    path.write_bytes(good.replace(b'FloatStorage', b'EvilXStorage'))
    with pytest.raises(CheckpointError, match=r'refused to unpickle torch\.EvilXStorage'):
        safe_load(str(path))


LAYOUTS = {
    # name: (config, source key -> shape, mapping, prefix)
    'torchvision_resnet18': ('centernet_r18_8xb16-crop512-140e_coco.py',
                             lambda: torchvision_resnet_shapes(18), 'torchvision_resnet', None),
    'torchvision_resnet18_dcn': ('centernet_r18-dcnv2_8xb16-crop512-140e_coco.py',
                                 lambda: torchvision_resnet_shapes(18), 'torchvision_resnet',
                                 None),
    'torchvision_resnet101': ('centernet_r101-dcnv2_8xb12-crop512-140e_coco.py',
                              lambda: torchvision_resnet_shapes(101), 'torchvision_resnet',
                              None),
    'dla34_imagenet': ('centernet_dla34-dcnv2_8xb16-crop512-140e_coco.py',
                       dla34_imagenet_shapes, 'dla34_imagenet', None),
    'extremenet_pkl': ('centernet_hg104_8xb3-crop512-50e_coco.py',
                       lambda: prefixed(hourglass_source_shapes('extremenet_pkl'), 'module.'),
                       'extremenet', None),
    'extremenet_pth': ('centernet_hg104_8xb3-crop512-50e_coco.py',
                       lambda: prefixed(hourglass_source_shapes('extremenet_pth'), 'module.'),
                       'extremenet', None),
    'cornernet_pkl': ('centernet_hg104_8xb3-crop512-50e_coco.py',
                      lambda: prefixed(hourglass_source_shapes('cornernet_pkl'), 'module.'),
                      'extremenet', None),
    'cornernet_mmdet': ('centernet_hg104_8xb3-crop512-50e_coco.py', mmdet_cornernet_shapes,
                        None, 'backbone.'),
}


@pytest.mark.parametrize('source', sorted(LAYOUTS))
def test_source_layout_maps_with_no_missing_key(source):
    """Each pretrained source's full-size layout maps onto the config's backbone: same keys,
    same shapes; only known non-backbone parts are dropped, and only the BN counters that
    pre-0.4.1 files lack may be absent."""
    config, shapes_fn, mapping, prefix = LAYOUTS[source]
    target = _meta_backbone_shapes(_config(config))
    state = _meta(shapes_fn())
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                            if k.startswith(prefix))
    dropped = []
    if mapping:
        state, dropped = map_pretrained_backbone(state, mapping)
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(set(target) - set(got))
    assert all(k.endswith('num_batches_tracked') for k in missing), missing[:5]
    if not any(k.endswith('num_batches_tracked') for k in got):  # a pre-0.4.1 layout
        assert len(missing) == sum(k.endswith('num_batches_tracked') for k in target)
    else:
        assert missing == []
    assert sorted(set(got) - set(target)) == []
    assert {k: target[k] for k in got} == got
    if mapping in ('torchvision_resnet', 'dla34_imagenet'):
        assert sorted(dropped) == ['fc.bias', 'fc.weight']
    elif mapping == 'extremenet':
        assert dropped and not any(d.startswith(('pre.', 'kps.', 'cnvs', 'inters'))
                                   for d in dropped)


# ------------------------------------------------------------------------------ configs
#: Sources for the configs' tests, small where the full size is large (R101, HG-104).
_R101_SMALL = dict(backbone=dict(base_channels=8), neck=dict(in_channels=256))


@pytest.fixture(scope='module')
def sources():
    """File bytes of each official source (built once)."""
    resnet18 = random_state(torchvision_resnet_shapes(18), seed=1)
    resnet101 = random_state(torchvision_resnet_shapes(101, width=8), seed=2)
    dla34 = random_state(dla34_imagenet_shapes(), seed=3)
    extremenet = random_state(prefixed(hourglass_source_shapes('extremenet_pth', HG_TINY),
                                       'module.'), seed=4)
    return dict(
        resnet18=(resnet18, legacy_tar_bytes(resnet18, py2=True)),
        resnet101=(resnet101, legacy_tar_bytes(resnet101, py2=True)),
        # 2018 file: the 0.2-1.5 pickle format, no BN counters
        dla34=(dla34, torch_bytes(dla34, legacy=True)),
        # convert_hourglass_weight.py output: {'epoch': 0, 'state_dict': module.-keys}
        extremenet=(extremenet, torch_bytes({'epoch': 0, 'state_dict': extremenet},
                                            legacy=True)),
    )


def _hourglass_features(official: OfficialHourglass, x: torch.Tensor) -> list:
    """The official ``exkp`` backbone outputs (the ``cnvs`` maps of each stack)."""
    feats = []
    hooks = [m.register_forward_hook(lambda m, i, o: feats.append(o)) for m in official.cnvs]
    official(x)
    for hook in hooks:
        hook.remove()
    return feats


def _check_hourglass(model, state) -> None:
    """Our backbone computes what the official network with the served weights computes."""
    official = OfficialHourglass({'hm': 1}, n=HG_TINY['n'], dims=HG_TINY['dims'],
                                 mods=HG_TINY['mods'], cnv_dim=HG_TINY['cnv_dim']).eval()
    backbone = OrderedDict((k[len('module.'):], v) for k, v in state.items()
                           if not re.match(r'module\.(hm|reg|[tlbr]|ct|tl|br)_', k))
    missing, unexpected = official.load_state_dict(backbone, strict=False)
    assert unexpected == [] and all(k.startswith('hm.') for k in missing)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.backbone.eval()(x)
        theirs = _hourglass_features(official, x)
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_initialises_backbone_from_official_source(path, server, sources):
    """Every official-recipe config starts its backbone from its official source: build,
    ``init_weights()``, and every backbone tensor equals the served one."""
    cfg = Config.fromfile(path)
    init = cfg.model.init_cfg
    assert init.type == 'PretrainedMapped' and init.module == 'backbone'
    name = osp.basename(init.checkpoint)
    if 'resnet18-5c106cde' in name:
        key = 'resnet18'
    elif 'resnet101-5d3b4d8f' in name:
        key = 'resnet101'
        cfg.merge_from_dict({'model.' + k: v for k, v in _R101_SMALL.items()})
    elif 'dla34-ba72cf86' in name:
        key = 'dla34'
    else:
        assert name == 'ExtremeNet_500000.pth' and init.mapping == 'extremenet'
        key = 'extremenet'
        cfg.merge_from_dict({'model.backbone': hourglass_size_cfg(HG_TINY),
                             'model.bbox_head.in_channels': HG_TINY['cnv_dim']})
    state, data = sources[key]
    if key == 'extremenet':
        # the official default is a local file: the cache folder is where it is looked up
        os.makedirs(_cache_dir(), exist_ok=True)
        with open(osp.join(_cache_dir(), name), 'wb') as f:
            f.write(data)
    else:
        served = sha_name(name.split('-')[0], data)
        cfg.merge_from_dict({'model.init_cfg.checkpoint': server.add(served, data)})
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    if key == 'extremenet':
        _check_hourglass(model, state)
    else:
        assert sorted(set(state) - set(loaded)) == ['fc.bias', 'fc.weight']
        for k, v in loaded.items():
            if k.endswith('num_batches_tracked'):  # absent from these files: left at 0
                assert k not in state and v.item() == 0
            else:
                assert torch.equal(v, state[k]), k


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_defaults_are_the_official_sources(path):
    """Each config's default is what the official code loads for its backbone."""
    cfg = Config.fromfile(path)
    backbone = cfg.model.backbone
    source = {'mmdet.ResNet': f"resnet{backbone.get('depth')}", 'DLA': 'dla34',
              'mmdet.HourglassNet': 'extremenet'}[backbone.type]
    init = {k: v for k, v in cfg.model.init_cfg.items() if k not in ('type', 'module')}
    assert init == OFFICIAL_PRETRAINED[source]


def test_quickstart_stays_from_scratch_and_offline():
    cfg = Config.fromfile(QUICKSTART)
    assert cfg.model.init_cfg is None
    assert cfg.model.backbone.init_cfg is None


# ------------------------------------------------------------------------------ alternatives
def _small_r18_cfg() -> Config:
    """The R18 config with an 8-wide backbone (fast loads for the behaviour tests)."""
    cfg = _config('centernet_r18_8xb16-crop512-140e_coco.py')
    cfg.merge_from_dict({'model.backbone.base_channels': 8, 'model.neck.in_channels': 64})
    return cfg


def _cfg_options(*options: str) -> dict:
    """``--cfg-options`` parsed as the tools parse them."""
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def test_from_scratch_override():
    cfg = _hg_cfg()
    cfg.merge_from_dict(_cfg_options('model.init_cfg=None'))
    assert cfg.model.init_cfg is None
    MODELS.build(cfg.model).init_weights()  # no ExtremeNet file needed


def _hg_cfg(**init) -> Config:
    cfg = _config('centernet_hg104_8xb3-crop512-50e_coco.py')
    cfg.merge_from_dict({'model.backbone': hourglass_size_cfg(HG_TINY),
                         'model.bbox_head.in_channels': HG_TINY['cnv_dim'],
                         **{f'model.init_cfg.{k}': v for k, v in init.items()}})
    return cfg


def test_hourglass_alternative_mmdet_cornernet(server):
    """mmdet's CornerNet checkpoint (mmdet layout under ``backbone.``), selected by the
    documented overrides: mapping None, prefix 'backbone.'."""
    tiny = dict(type='HourglassNet', **hourglass_size_cfg(HG_TINY), num_stacks=2,
                norm_cfg=dict(type='BN', requires_grad=True))
    state = random_state(mmdet_cornernet_shapes(tiny), seed=5)
    data = torch_bytes({'meta': {'mmdet_version': '2.3.0', 'CLASSES': ('person', ),
                                 'epoch': 210}, 'state_dict': state})
    url = server.add(sha_name('cornernet_hourglass104_mstest_8x6_210e_coco', data), data)
    cfg = _hg_cfg()
    # the overrides exactly as README.md gives them on the command line
    cfg.merge_from_dict(_cfg_options(f'model.init_cfg.checkpoint={url}',
                                     'model.init_cfg.mapping=None',
                                     'model.init_cfg.prefix=backbone.'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    assert set(loaded) == {k[len('backbone.'):] for k in state if k.startswith('backbone.')}
    for k, v in loaded.items():
        assert torch.equal(v, state['backbone.' + k]), k


@pytest.mark.parametrize('kind', ['extremenet_pkl', 'cornernet_pkl'])
def test_hourglass_raw_official_pickles(kind, server):
    """The raw ExtremeNet .pkl (before convert_hourglass_weight.py) and the official
    CornerNet .pkl: bare state dicts under ``module.``, saved by PyTorch 0.4.1 (counters)."""
    state = random_state(prefixed(hourglass_source_shapes(kind, HG_TINY), 'module.'), seed=6)
    data = torch_bytes(state, legacy=True)
    url = server.add(f'{kind}.pkl', data)
    model = MODELS.build(_hg_cfg(checkpoint=url).model)
    model.init_weights()
    _check_hourglass(model, state)
    # the counters of a 0.4.1 file are loaded too
    counters = [v.item() for k, v in model.backbone.state_dict().items()
                if k.endswith('num_batches_tracked')]
    assert counters and min(counters) >= 1


def test_resnet_resaved_zip_file(server):
    """torchvision's re-saved ``resnet18-f37072fd.pth`` (same weights, zip format) works too."""
    state = random_state(torchvision_resnet_shapes(18, width=8), seed=7)
    data = torch_bytes(state)
    cfg = _small_r18_cfg()
    cfg.model.init_cfg.checkpoint = server.add(sha_name('resnet18', data), data)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for k, v in model.backbone.state_dict().items():
        if not k.endswith('num_batches_tracked'):
            assert torch.equal(v, state[k]), k


def test_download_is_cached(server):
    state = random_state(torchvision_resnet_shapes(18, width=8), seed=8)
    data = legacy_tar_bytes(state)
    name = sha_name('resnet18cache', data)
    cfg = _small_r18_cfg()
    cfg.model.init_cfg.checkpoint = server.add(name, data)
    for _ in range(2):
        MODELS.build(cfg.model).init_weights()
    assert server.hits[name] == 1
    assert os.listdir(_cache_dir()) == [name]


def test_mmengine_http_scheme_uses_the_checked_download(server):
    """After the explicit opt-in, mmengine ``load_from`` / ``Pretrained`` URLs go through
    the same download: the official .tar files load, and a truncated transfer is an error
    that caches nothing. (The runner's ``load_from`` uses it without the opt-in.)"""
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmcenternet.checkpoint import (disable_safe_checkpoint_loading,
                                        enable_safe_checkpoint_loading)
    state = random_state(torchvision_resnet_shapes(18, width=4), seed=12)
    data = legacy_tar_bytes(state)
    enable_safe_checkpoint_loading()
    try:
        loaded = CheckpointLoader.load_checkpoint(server.add('mm_http.pth', data))
        assert list(loaded) == list(state) and all(
            torch.equal(loaded[k], state[k]) for k in state)
        assert os.listdir(_cache_dir()) == ['mm_http.pth']
        with pytest.raises(CheckpointError, match='truncated'):
            CheckpointLoader.load_checkpoint(server.add('mm_http_half.pth', data, 'truncated'))
        assert os.listdir(_cache_dir()) == ['mm_http.pth']
    finally:
        disable_safe_checkpoint_loading()


@pytest.mark.parametrize('local_rank', [0, 1])
def test_distributed_ranks_meet_at_one_barrier(local_rank, monkeypatch, server):
    """Every rank calls the barrier exactly once, cached file or not (no deadlock); local
    rank 0 downloads, the others read the cache."""
    import mmengine.dist

    import mmcenternet.checkpoint.download as download
    calls = []
    monkeypatch.setattr(download, '_local_rank', lambda: (local_rank, 2))
    monkeypatch.setattr(mmengine.dist, 'barrier', lambda: calls.append(1))
    data = b'x' * 100
    url = server.add(f'rank{local_rank}.bin', data)
    if local_rank == 1:  # as if rank 0 had just downloaded it
        os.makedirs(_cache_dir(), exist_ok=True)
        with open(osp.join(_cache_dir(), f'rank{local_rank}.bin'), 'wb') as f:
            f.write(data)
    path, downloaded = download.download_to_cache(url)
    assert calls == [1] and downloaded == (local_rank == 0)
    assert server.hits.get(f'rank{local_rank}.bin', 0) == (1 if local_rank == 0 else 0)
    assert open(path, 'rb').read() == data


# ------------------------------------------------------------------------------ errors
def _init_small_r18(server, state=None, data=None, name=None, mode='ok') -> torch.nn.Module:
    if data is None:
        data = legacy_tar_bytes(state)
    cfg = _small_r18_cfg()
    cfg.model.init_cfg.checkpoint = server.add(name or sha_name('resnet18', data), data, mode)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _r18_small_state(seed=9):
    return random_state(torchvision_resnet_shapes(18, width=8), seed=seed)


def test_missing_key_is_reported(server):
    state = _r18_small_state()
    del state['layer1.0.conv1.weight']
    with pytest.raises(CheckpointError, match=r'1 missing keys: layer1\.0\.conv1\.weight'):
        _init_small_r18(server, state)


def test_unexpected_key_is_reported(server):
    state = _r18_small_state()
    state['layer1.0.conv3.weight'] = torch.zeros(8, 8, 1, 1)  # a bottleneck key
    with pytest.raises(CheckpointError, match=r'1 unexpected keys: layer1\.0\.conv3\.weight'):
        _init_small_r18(server, state)
    state = _r18_small_state()
    state['head.weight'] = torch.zeros(2)  # not part of any ResNet
    with pytest.raises(CheckpointError, match=r"not part of a 'torchvision_resnet' backbone: "
                                              r"\['head.weight'\]"):
        _init_small_r18(server, state)


def test_shape_mismatch_is_reported(server):
    state = _r18_small_state()
    state['conv1.weight'] = torch.zeros(8, 3, 3, 3)
    with pytest.raises(CheckpointError, match=r'conv1\.weight: checkpoint \(8, 3, 3, 3\) vs '
                                              r'model \(8, 3, 7, 7\)'):
        _init_small_r18(server, state)


def test_truncated_download_fails_and_caches_nothing(server):
    data = legacy_tar_bytes(_r18_small_state())
    # torch.hub's download does not compare the length with Content-Length: the file fails
    # to load before it enters the cache
    with pytest.raises(CheckpointError, match=r'resnet18trunc\.pth: .*truncated .*'
                                              r'removed from the cache'):
        _init_small_r18(server, data=data, name='resnet18trunc.pth', mode='truncated')
    assert not osp.exists(_cache_dir()) or os.listdir(_cache_dir()) == []


@pytest.mark.parametrize('fmt', ['tar', 'zip'])
def test_truncated_download_without_length(fmt, server):
    """No Content-Length and no hash in the name: the load fails, and the bad file is not
    left in the cache."""
    state = _r18_small_state()
    data = legacy_tar_bytes(state) if fmt == 'tar' else torch_bytes(state)
    with pytest.raises(CheckpointError, match='truncated') as info:
        _init_small_r18(server, data=data, name=f'resnet18half{fmt}.pth',
                        mode='truncated_nolength')
    assert 'removed from the cache' in str(info.value)
    assert os.listdir(_cache_dir()) == []


def test_hash_mismatch_and_http_errors(server):
    data = legacy_tar_bytes(_r18_small_state())
    with pytest.raises(CheckpointError, match='does not start with deadbeef'):
        _init_small_r18(server, data=data, name='resnet18-deadbeef.pth')
    with pytest.raises(CheckpointError, match='HTTP 404'):
        _init_small_r18(server, data=b'', name='resnet18gone.pth', mode='missing')
    assert os.listdir(_cache_dir()) == []


@pytest.mark.parametrize('kind', ['zip', 'legacy', 'tar', 'pickle'])
def test_malicious_download_never_runs_code(kind, server, tmp_path):
    marker = tmp_path / 'code_ran'
    data = malicious_bytes(kind, str(marker))
    with pytest.raises(CheckpointError, match='refused to unpickle|not a PyTorch checkpoint'):
        _init_small_r18(server, data=data, name=f'evil{kind}.pth')
    assert not marker.exists()


def test_missing_local_extremenet_says_where_to_get_it(sources):
    model = MODELS.build(_hg_cfg().model)
    with pytest.raises(CheckpointNotFoundError, match=r'ExtremeNet_500000\.pth.*does not '
                                                      r'exist.*Google Drive.*CornerNet'):
        model.init_weights()
    # once the file is there, calling init_weights again loads it (the failure is not final)
    state, data = sources['extremenet']
    os.makedirs(_cache_dir(), exist_ok=True)
    with open(osp.join(_cache_dir(), 'ExtremeNet_500000.pth'), 'wb') as f:
        f.write(data)
    model.init_weights()
    _check_hourglass(model, state)


# ------------------------------------------------------------------------------ switches
def test_skip_switch_and_strip_for_random_weight_tools(monkeypatch, server):
    cfg = _config('centernet_hg104_8xb3-crop512-50e_coco.py')
    cfg.merge_from_dict({'model.backbone': hourglass_size_cfg(HG_TINY),
                         'model.bbox_head.in_channels': HG_TINY['cnv_dim']})
    monkeypatch.setenv(SKIP_PRETRAINED_ENV, '1')
    with pytest.warns(UserWarning, match='NOT initialised'):
        MODELS.build(cfg.model).init_weights()
    monkeypatch.delenv(SKIP_PRETRAINED_ENV)
    assert strip_pretrained_init(cfg.model) == ['init_cfg']
    assert cfg.model.init_cfg is None
    MODELS.build(cfg.model).init_weights()  # no file needed any more


def test_initialiser_arguments_are_checked():
    with pytest.raises(ValueError, match='unknown mapping'):
        PretrainedMapped(checkpoint='x.pth', mapping='resnet')
    with pytest.raises(ValueError, match='checkpoint must be'):
        PretrainedMapped(checkpoint='')
    init = PretrainedMapped(checkpoint='x.pth', module='nope')
    with pytest.raises(CheckpointError, match="no sub-module 'nope'"):
        init(torch.nn.Conv2d(1, 1, 1))


def _load_script(rel_path: str):
    import importlib.util
    path = osp.join(ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_random_weight_tools_do_not_download(monkeypatch, capsys):
    """The benchmark (without a checkpoint) and FLOPs tools strip the pretrained init."""
    import mmcenternet.checkpoint.download as download

    def no_download(*args, **kwargs):
        raise AssertionError('a random-weight tool tried to download pretrained weights')

    monkeypatch.setattr(download, '_fetch', no_download)
    r18 = osp.join(ROOT, 'configs', 'centernet', 'centernet_r18_8xb16-crop512-140e_coco.py')
    bench = _load_script('tools/analysis_tools/benchmark.py')
    assert bench.build_model(Config.fromfile(r18), None, 'cpu') is not None
    flops = _load_script('tools/analysis_tools/get_flops.py')
    assert flops.main([r18, '--shape', '32', '32']) == 0
    assert 'Flops' in capsys.readouterr().out
