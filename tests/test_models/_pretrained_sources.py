"""Synthetic pretrained checkpoints in the exact layouts of the official sources, and a local
HTTP server that serves them (tests never reach the internet).

Layouts, written from reading the sources' module definitions (not copied):

* torchvision ImageNet ResNet (``resnet18-5c106cde.pth``, ``resnet101-5d3b4d8f.pth``, loaded by
  the official ``msra_resnet.py`` / ``resnet_dcn.py``): ``conv1``, ``bn1``, ``layer1..4`` of
  basic / bottleneck blocks (``downsample.0`` conv + ``downsample.1`` BN on the first block of a
  stage that changes stride or width), ``fc`` (Linear to 1000). Saved by PyTorch 0.1 in its
  ``.tar`` format, without BN ``num_batches_tracked`` (added in PyTorch 0.4.1).
* DLA-34 ImageNet (``dla34-ba72cf86.pth``, loaded strictly by the official
  ``DLA.load_pretrained_model`` after it adds ``fc``): the official ``DLA`` names plus ``fc``
  (1x1 conv to 1000). Built with ``OfficialDLA34`` of ``tests/test_tools/_official_centernet.py``.
* ExtremeNet (``ExtremeNet_500000.pkl`` as saved by ExtremeNet's ``NetworkFactory``: keys under
  ``module.``; ``ExtremeNet_500000.pth`` after the official ``convert_hourglass_weight.py``:
  ``{'epoch': 0, 'state_dict': ...}`` with ``t_heats`` -> ``hm_t`` etc.): the official ``exkp``
  backbone (``pre``, ``kps``, ``cnvs``, ``inters``, ``inters_``, ``cnvs_``) and the heads
  ``{t,l,b,r,ct}_heats`` (80) and ``{t,l,b,r}_regrs`` (2), each a 3x3 ``convolution`` without
  BN + a 1x1 conv per stack (``ExtremeNet/models/py_utils/exkp.py``).
* CornerNet (``CornerNet_500000.pkl``, princeton-vl/CornerNet ``models/py_utils/kp.py`` and
  ``models/CornerNet.py``): the same backbone, ``tl_cnvs`` / ``br_cnvs`` corner-pooling modules
  (``p1_conv1``, ``p2_conv1``, ``p_conv1``, ``p_bn1``, ``conv1``, ``bn1``, ``conv2``), and
  ``{tl,br}_heats`` (80), ``{tl,br}_tags`` (1), ``{tl,br}_regrs`` (2).
* mmdet CornerNet HG-104 (download.openmmlab.com): mmdet's own ``CornerNet`` state dict
  (``backbone.*`` = mmdet ``HourglassNet``, ``bbox_head.*``) in ``{'meta', 'state_dict'}``.
"""
from __future__ import annotations

import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading
from collections import OrderedDict
from typing import Callable, Dict, Mapping, Optional, Tuple

import torch
from torch import nn

from test_tools._official_centernet import HGConv, OfficialDLA34, OfficialHourglass

Shapes = Dict[str, Tuple[int, ...]]

# --------------------------------------------------------------------------------- layouts
RESNET_STAGES = {18: ('basic', (2, 2, 2, 2)), 101: ('bottleneck', (3, 4, 23, 3))}


def _bn(shapes: Shapes, name: str, channels: int, counters: bool) -> None:
    for p in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{name}.{p}'] = (channels, )
    if counters:
        shapes[f'{name}.num_batches_tracked'] = ()


def torchvision_resnet_shapes(depth: int, width: int = 64, counters: bool = False,
                              num_classes: int = 1000) -> Shapes:
    """Key -> shape of torchvision's ImageNet ResNet (``width`` scales every stage)."""
    block, counts = RESNET_STAGES[depth]
    expansion = 4 if block == 'bottleneck' else 1
    shapes: Shapes = OrderedDict()
    shapes['conv1.weight'] = (width, 3, 7, 7)
    _bn(shapes, 'bn1', width, counters)
    cin = width
    for stage, n in enumerate(counts, start=1):
        planes = width * 2 ** (stage - 1)
        for b in range(n):
            p = f'layer{stage}.{b}'
            if block == 'basic':
                convs = [(planes, cin, 3, 3), (planes, planes, 3, 3)]
            else:
                convs = [(planes, cin, 1, 1), (planes, planes, 3, 3),
                         (planes * expansion, planes, 1, 1)]
            for i, shape in enumerate(convs, start=1):
                shapes[f'{p}.conv{i}.weight'] = shape
                _bn(shapes, f'{p}.bn{i}', shape[0], counters)
            if b == 0 and (stage > 1 or cin != planes * expansion):
                shapes[f'{p}.downsample.0.weight'] = (planes * expansion, cin, 1, 1)
                _bn(shapes, f'{p}.downsample.1', planes * expansion, counters)
            cin = planes * expansion
    shapes['fc.weight'] = (num_classes, cin)
    shapes['fc.bias'] = (num_classes, )
    return shapes


def module_shapes(module: nn.Module, counters: bool = True, prefix: str = '') -> Shapes:
    """Key -> shape of a module's state dict (BN counters optional)."""
    return OrderedDict((prefix + k, tuple(v.shape)) for k, v in module.state_dict().items()
                       if counters or not k.endswith('num_batches_tracked'))


def dla34_imagenet_shapes(counters: bool = False) -> Shapes:
    """``dla34-ba72cf86.pth``: the official DLA-34 with its ImageNet ``fc``."""
    with torch.device('meta'):
        return module_shapes(OfficialDLA34(with_fc=True), counters)


EXTREMENET_HEADS = {**{f'{s}_heats': 80 for s in ('t', 'l', 'b', 'r', 'ct')},
                    **{f'{s}_regrs': 2 for s in ('t', 'l', 'b', 'r')}}
#: The official convert_hourglass_weight.py renaming (ExtremeNet .pkl -> .pth).
EXTREMENET_RENAME = {'t_heats': 'hm_t', 'l_heats': 'hm_l', 'b_heats': 'hm_b',
                     'r_heats': 'hm_r', 'ct_heats': 'hm_c', 't_regrs': 'reg_t',
                     'l_regrs': 'reg_l', 'b_regrs': 'reg_b', 'r_regrs': 'reg_r'}
CORNERNET_HEADS = {'tl_heats': 80, 'br_heats': 80, 'tl_tags': 1, 'br_tags': 1,
                   'tl_regrs': 2, 'br_regrs': 2}
#: Full Hourglass-104 and a tiny one of the same structure (for loads with real tensors).
HG104 = dict(n=5, dims=(256, 256, 384, 384, 384, 512), mods=(2, 2, 2, 2, 2, 4), cnv_dim=256)
HG_TINY = dict(n=2, dims=(16, 16, 24), mods=(1, 1, 2), cnv_dim=32)


class CornerPoolO(nn.Module):
    """CornerNet's ``pool`` module (parameters only; the pooling ops have none)."""

    def __init__(self, dim: int, mid: int = 128) -> None:
        super().__init__()
        self.p1_conv1 = HGConv(3, dim, mid)
        self.p2_conv1 = HGConv(3, dim, mid)
        self.p_conv1 = nn.Conv2d(mid, dim, 3, padding=1, bias=False)
        self.p_bn1 = nn.BatchNorm2d(dim)
        self.conv1 = nn.Conv2d(dim, dim, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(dim)
        self.conv2 = HGConv(3, dim, dim)


def hourglass_source_shapes(kind: str, size: Mapping = HG104, counters: bool = True) -> Shapes:
    """``extremenet_pkl``, ``extremenet_pth`` or ``cornernet_pkl`` layouts (before the
    ``module.`` prefix that both repositories' savers add)."""
    heads = CORNERNET_HEADS if kind == 'cornernet_pkl' else EXTREMENET_HEADS
    with torch.device('meta'):
        net = OfficialHourglass(heads, n=size['n'], dims=size['dims'], mods=size['mods'],
                                cnv_dim=size['cnv_dim'])
        if kind == 'cornernet_pkl':
            net.tl_cnvs = nn.ModuleList([CornerPoolO(size['cnv_dim']) for _ in range(2)])
            net.br_cnvs = nn.ModuleList([CornerPoolO(size['cnv_dim']) for _ in range(2)])
        shapes = module_shapes(net, counters)
    if kind == 'extremenet_pth':
        renamed = OrderedDict()
        for key, shape in shapes.items():
            head = key.split('.')[0]
            renamed[key.replace(head, EXTREMENET_RENAME[head], 1)
                    if head in EXTREMENET_RENAME else key] = shape
        shapes = renamed
    return shapes


def mmdet_cornernet_shapes(backbone: Optional[dict] = None) -> Shapes:
    """mmdet 3.3's ``CornerNet`` HG-104 state dict (as its published checkpoints)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import DefaultScope
    backbone = backbone or dict(
        type='HourglassNet', downsample_times=5, num_stacks=2,
        stage_channels=[256, 256, 384, 384, 384, 512], stage_blocks=[2, 2, 2, 2, 2, 4],
        norm_cfg=dict(type='BN', requires_grad=True))
    feat = backbone.get('feat_channel', 256)
    cfg = dict(type='CornerNet', backbone=backbone, neck=None,
               bbox_head=dict(type='CornerHead', num_classes=80, in_channels=feat,
                              num_feat_levels=2, corner_emb_channels=1),
               train_cfg=None, test_cfg=None)
    with DefaultScope.overwrite_default_scope('mmdet'), torch.device('meta'):
        return module_shapes(MMDET_MODELS.build(cfg))


def random_state(shapes: Shapes, seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """Random tensors of the given shapes (positive BN variances, int64 BN counters)."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.randint(1, 1000, shape, generator=gen)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen)
    return state


# --------------------------------------------------------------------------------- formats
class _Py2Str(str):
    """A ``str`` that the legacy writer pickles as Python 2 did (SHORT_BINSTRING)."""


class _LegacyPickler(pickle._Pickler):
    """Protocol-2 pickler that can write Python 2 byte strings and persistent ids."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, persistent: Optional[Callable] = None) -> None:
        super().__init__(file, protocol=2)
        self._persistent = persistent

    def persistent_id(self, obj):
        return self._persistent(obj) if self._persistent else None

    def _save_py2_str(self, obj: str) -> None:
        data = obj.encode('ascii')
        assert len(data) < 256
        self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        self.memoize(obj)

    dispatch[_Py2Str] = _save_py2_str


def _dump(obj, persistent: Optional[Callable] = None) -> bytes:
    buf = io.BytesIO()
    _LegacyPickler(buf, persistent).dump(obj)
    return buf.getvalue()


_LEGACY_TYPES = {torch.float32: ('FloatStorage', 'FloatTensor'),
                 torch.int64: ('LongStorage', 'LongTensor')}


def legacy_tar_bytes(state: Mapping[str, torch.Tensor], py2: bool = False,
                     main_pickle: Optional[bytes] = None) -> bytes:
    """PyTorch 0.1's ``torch.save`` tar format (members ``sys_info``, ``pickle``, ``tensors``,
    ``storages``; one storage per tensor; persistent ids ``str(key)``).

    Args:
        state: The state dict to save.
        py2: Write keys and strings as Python 2 byte strings.
        main_pickle: Replace the ``pickle`` member (to craft a malicious file).
    """
    text = _Py2Str if py2 else str
    keys = {id(t): 1000 + 16 * i for i, t in enumerate(state.values())}
    ordered = OrderedDict((text(k), v) for k, v in state.items())
    sys_info = _dump(dict(protocol_version=1000, little_endian=True,
                          type_sizes=dict(short=2, int=4, long=8)))
    body = main_pickle if main_pickle is not None else _dump(
        ordered, lambda o: text(str(keys[id(o)])) if torch.is_tensor(o) else None)
    tensors, storages = io.BytesIO(), io.BytesIO()
    tensors.write(_dump(len(state)))
    storages.write(_dump(len(state)))
    for tensor in state.values():
        key = keys[id(tensor)]
        storage_name, tensor_name = _LEGACY_TYPES[tensor.dtype]
        flat = tensor.detach().contiguous().reshape(-1)
        tensors.write(_dump((key, key + 1, getattr(torch, tensor_name))))
        tensors.write(struct.pack('<i', tensor.dim()) + b'\0' * 4)
        tensors.write(struct.pack(f'<{tensor.dim()}q', *tensor.shape))
        strides = torch.empty(tensor.shape).stride() if tensor.dim() else ()
        tensors.write(struct.pack(f'<{tensor.dim()}q', *strides) + struct.pack('<q', 0))
        storages.write(_dump((key + 1, text('cpu'), getattr(torch, storage_name))))
        storages.write(struct.pack('<q', flat.numel()) + flat.numpy().tobytes())
    storages.write(_dump([]))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w:', format=tarfile.PAX_FORMAT) as tar:
        for name, data in (('sys_info', sys_info), ('pickle', body),
                           ('tensors', tensors.getvalue()), ('storages', storages.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def torch_bytes(obj, legacy: bool = False) -> bytes:
    """``torch.save`` to bytes: the zip format, or the 0.2-1.5 pickle format (``legacy``)."""
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


class _Evil:
    """Unpickling this runs ``touch <marker>`` (the payload of the malicious files)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def malicious_bytes(kind: str, marker: str) -> bytes:
    """A checkpoint whose unpickling would create ``marker``: ``zip``, ``legacy`` (the
    0.2-1.5 pickle format), ``tar`` (PyTorch 0.1) or ``pickle`` (a bare pickle)."""
    evil = {'state_dict': {'conv1.weight': torch.zeros(1)}, 'x': _Evil(marker)}
    if kind == 'tar':
        return legacy_tar_bytes({'w': torch.zeros(1)},
                                main_pickle=pickle.dumps(_Evil(marker), protocol=2))
    if kind == 'pickle':
        return pickle.dumps(evil)
    return torch_bytes(evil, legacy=kind == 'legacy')


def sha_name(stem: str, data: bytes, ext: str = '.pth') -> str:
    """``<stem>-<first 8 hex digits of SHA-256>.pth``, the torch.hub naming."""
    return f'{stem}-{hashlib.sha256(data).hexdigest()[:8]}{ext}'


# --------------------------------------------------------------------------------- server
class FileServer:
    """A bounded HTTP server on 127.0.0.1 serving in-memory files from a thread.

    ``add(name, data, mode)``: ``'ok'``, ``'truncated'`` (announces the full length, sends
    half, closes), ``'truncated_nolength'`` (no Content-Length, sends half), ``'missing'``
    (404). ``hits[name]`` counts the requests.
    """

    def __init__(self) -> None:
        self.files: Dict[str, Tuple[bytes, str]] = {}
        self.hits: Dict[str, int] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.lstrip('/')
                server.hits[name] = server.hits.get(name, 0) + 1
                data, mode = server.files.get(name, (b'', 'missing'))
                if mode == 'missing':
                    self.send_error(404, 'Not Found')
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                if mode != 'truncated_nolength':
                    self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data if mode == 'ok' else data[:len(data) // 2])
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs=dict(poll_interval=0.05), daemon=True)
        self.thread.start()

    def add(self, name: str, data: bytes, mode: str = 'ok') -> str:
        self.files[name] = (data, mode)
        return self.url(name)

    def url(self, name: str) -> str:
        return f'http://127.0.0.1:{self.httpd.server_address[1]}/{name}'

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def go_online(monkeypatch, tmp_path) -> None:
    """Pretrained loading on, a private download cache under ``tmp_path``, no proxy for
    127.0.0.1 (for the tests that serve checkpoints from :class:`FileServer`)."""
    from mmcenternet.models.utils.pretrained import SKIP_PRETRAINED_ENV
    monkeypatch.delenv(SKIP_PRETRAINED_ENV, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    for var in ('http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy',
                'ALL_PROXY'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1')
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')


def hourglass_size_cfg(size: Mapping) -> dict:
    """``--cfg-options``-style overrides giving our HourglassNet the given size."""
    return dict(downsample_times=size['n'], stage_channels=tuple(size['dims']),
                stage_blocks=tuple(size['mods']), feat_channel=size['cnv_dim'])


def prefixed(state: Mapping[str, torch.Tensor], prefix: str) -> 'OrderedDict':
    return OrderedDict((prefix + k, v) for k, v in state.items())
