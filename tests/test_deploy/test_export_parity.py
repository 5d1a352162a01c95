"""ONNX export (decode inside, DCNv2 as ONNX DeformConv) vs PyTorch, run by ONNX Runtime.

Parity: R18-DCNv2 (random weights, fixed seed) and the quickstart model, one ``--dynamic``
export each through ``tools/deployment/pytorch2onnx.py``, two input sizes (and a batch of
two): the top-100 boxes within 1e-3 px, scores within 1e-4, same labels. Inputs are small
(128 px and below) to keep the export fast on CPU; the full-size figures are in
docs/deployment.md.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch import nn

from mmcenternet.deploy import get_meta
from mmcenternet.deploy.ort_detector import load_session
from mmcenternet.deploy.verify import compare_with_pytorch, pytorch_outputs
from mmcenternet.registry import MODELS
from mmcenternet.utils.benchmark import randomize_
from .helpers import load_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

R18_DCN = 'configs/centernet/centernet_r18-dcnv2_8xb16-crop512-140e_coco.py'
QUICKSTART = 'configs/quickstart/centernet_r18w16_1xb8-70e_toy.py'


def random_checkpoint(repo_root, config, tmp_path, seed=0):
    """The config's model with random non-trivial weights (BN statistics, offsets, head
    biases), saved as a checkpoint; returns ``(model, checkpoint path)``."""
    model = MODELS.build(Config.fromfile(osp.join(repo_root, config)).model)
    model.init_weights()
    randomize_(model, seed).eval()
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return model, str(ckpt)


def assert_same_detections(report, num=100):
    for diff in report:
        assert diff['num_ours'] == num and diff['num_mmdet'] == num, diff
        assert diff['labels'] == 0, diff  # every detection paired: same label, same score
        assert diff['box'] < 1e-3 and diff['score'] < 1e-4, diff


@pytest.mark.parametrize('config', [R18_DCN, QUICKSTART], ids=['r18-dcnv2', 'quickstart'])
def test_dynamic_export_matches_pytorch_at_two_sizes(config, repo_root, tmp_path):
    model, ckpt = random_checkpoint(repo_root, config, tmp_path)
    out = tmp_path / 'model.onnx'
    export = load_tool(repo_root, 'tools/deployment/pytorch2onnx.py')
    meta = export.main([osp.join(repo_root, config), ckpt, '--out', str(out), '--dynamic',
                        '--input-size', '128', '128'])
    assert meta['output_names'] == ['bboxes', 'scores', 'labels']
    proto = onnx.load(str(out))
    ops = [n.op_type for n in proto.graph.node]
    assert proto.ir_version <= 13 and all(n.domain in ('', 'ai.onnx') for n in proto.graph.node)
    assert 'TopK' in ops and 'MaxPool' in ops  # the decode is in the graph
    assert ops.count('DeformConv') == (3 if config == R18_DCN else 0)
    assert get_meta(proto)['num_classes'] == model.bbox_head.num_classes
    session = load_session(str(out))
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.randn(1, 3, 128, 128, generator=gen),
              torch.randn(2, 3, 96, 160, generator=gen)]
    report = compare_with_pytorch(model, session, inputs)
    assert len(report) == 3
    assert_same_detections(report)


def test_no_decode_export_gives_the_activated_maps(repo_root, tmp_path):
    model, ckpt = random_checkpoint(repo_root, QUICKSTART, tmp_path)
    out = tmp_path / 'maps.onnx'
    export = load_tool(repo_root, 'tools/deployment/pytorch2onnx.py')
    export.main([osp.join(repo_root, QUICKSTART), ckpt, '--out', str(out), '--no-decode',
                 '--input-size', '64', '96'])
    session = load_session(str(out))
    assert [o.name for o in session.get_outputs()] == ['heatmap', 'wh', 'offset']
    assert [i.shape for i in session.get_inputs()] == [[1, 3, 64, 96]]  # not dynamic
    x = torch.randn(1, 3, 64, 96)
    ref = pytorch_outputs(model, x, decode=False)
    got = session.run(None, {'input': x.numpy()})
    assert float(ref['heatmap'].min()) >= 0 and float(ref['heatmap'].max()) <= 1  # sigmoid
    for name, value in zip(['heatmap', 'wh', 'offset'], got):
        np.testing.assert_allclose(value, ref[name].numpy(), atol=1e-5, rtol=1e-4)


class MMCVDeformBlock(nn.Module):
    """mmcv's DCNv2 (as in the DLA neck): offsets and mask from its own conv."""

    def __init__(self, **kwargs):
        super().__init__()
        from mmcv.ops import ModulatedDeformConv2dPack
        self.dcn = ModulatedDeformConv2dPack(8, 6, 3, **kwargs)
        with torch.no_grad():  # offsets of a few pixels, many sampling points off the map
            self.dcn.conv_offset.weight.normal_(0, 0.3)
            self.dcn.conv_offset.bias.normal_(0, 2)

    def forward(self, x):
        return self.dcn(x)


@pytest.mark.parametrize('kwargs', [
    dict(padding=1),
    dict(stride=2, padding=2, dilation=2, deform_groups=2, bias=False),
], ids=['plain', 'stride2-dilation2-groups2-nobias'])
def test_mmcv_dcnv2_exports_as_onnx_deformconv(kwargs, tmp_path):
    """mmcv's op (exported by mmcv as a custom op) becomes ONNX DeformConv and ONNX Runtime
    matches mmcv's own CPU kernel."""
    from mmcenternet.deploy.onnx_export import to_exportable
    from mmcenternet.deploy.onnx_meta import MAX_IR_VERSION, ir_version_for
    torch.manual_seed(0)
    block = MMCVDeformBlock(**kwargs).eval()
    out = tmp_path / 'dcn.onnx'
    x = torch.randn(1, 8, 11, 13)
    torch.onnx.export(to_exportable(block, fuse_bn=False), (x, ), str(out), dynamo=False,
                      opset_version=19, input_names=['input'], output_names=['out'],
                      autograd_inlining=False)
    proto = onnx.load(str(out))
    proto.ir_version = ir_version_for(proto)
    assert proto.ir_version <= MAX_IR_VERSION
    assert [n.op_type for n in proto.graph.node].count('DeformConv') == 1
    onnx.save(proto, str(out))
    got = load_session(str(out)).run(None, {'input': x.numpy()})[0]
    with torch.no_grad():
        ref = block(x).numpy()  # mmcv's CPU kernel
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-4)
