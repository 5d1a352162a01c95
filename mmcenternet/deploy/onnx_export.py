"""ONNX export of a CenterNet detector, with the decode inside the graph.

The exported graph takes the network input the PyTorch model sees (the test pipeline's
``CenterAffine`` warp, then the data preprocessor's mean / std / padding) and returns, by
default, the decoded detections in network-input pixels:

=========  ==============  ==========================================================
name       shape / type    meaning
=========  ==============  ==========================================================
input      (B, 3, H, W)    normalised image, channel order and mean / std of the config
bboxes     (B, K, 4) f32   x1, y1, x2, y2 in network-input pixels
scores     (B, K) f32      peak scores (sigmoid heatmap), descending
labels     (B, K) int64    class indices, 0-based
<extra>    (B, K, ...)     every other ``instance_keys``, ``point_keys`` and
                           ``finalize_keys`` output of the codec's ``decode_maps``
                           (keypoints, keypoint_scores, 3D attributes, landmarks, ...)
=========  ==============  ==========================================================

``K`` is the codec's ``topk``. The decode is the codec's own ``decode_maps`` traced
into the graph (3x3 max-pool peaks, one top-K over classes and positions, gathers and box
assembly), so a task gets its extra outputs by giving them in ``decode_maps`` and naming
them in ``instance_keys`` (or ``point_keys`` / ``finalize_keys`` when only ``to_original``
needs them): nothing here knows the task. Mapping back to the original image
(the inverse ``affine_matrix`` of each image, for ``point_keys``) and the codec's
``finalize`` stay outside the graph, where the image's meta information is; the ONNX
Runtime detector (:mod:`mmcenternet.deploy.ort_detector`) runs the same code as the PyTorch
head for that. With ``decode=False`` the outputs are instead the activated branch maps of
the last stack, named by branch (``heatmap`` after its sigmoid, ``wh``, ``offset``, ...).

Deformable convolutions (our ``DCNv2Fast`` and mmcv's ``ModulatedDeformConv2dPack``, e.g.
in the DLA neck) become the standard ONNX ``DeformConv`` (opset 19), which ONNX Runtime
runs on CPU for models whose IR version is at most 13; the IR version is set explicitly.

Differences from a plain ``torch.onnx.export`` call: the exporter is the TorchScript one
(``dynamo=False``; the dynamo exporter needs ``onnxscript``, which this stack does not
ship), and the model's meta information (classes, preprocessing constants, output names,
codec settings) is stored in the file's ``metadata_props`` under :data:`META_KEY` so that
a model can be checked against a config before it is run.
"""
import copy
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmcenternet.errors import ExportError
from mmcenternet.models.layers.dcn import DCNv2Fast
from mmcenternet.models.utils.fuse import fuse_conv_bn
from .onnx_meta import DET_KEYS, INPUT_NAME, OPSET, ir_version_for, set_meta


class CenterNetONNX(nn.Module):
    """A CenterNet detector as one traceable ``input -> outputs`` module.

    Args:
        detector: A CenterNet detector (``extract_feat`` + a ``CenterNetHead``-like
            ``bbox_head`` with ``activate`` and ``codec``).
        decode: Put the decode in the graph (outputs :attr:`output_names`, detections)
            or stop at the activated branch maps of the last stack.
    """

    def __init__(self, detector: nn.Module, decode: bool = True) -> None:
        super().__init__()
        self.detector = detector
        self.decode = decode
        self.output_names: List[str] = []

    @property
    def head(self) -> nn.Module:
        return self.detector.bbox_head

    def maps(self, x: Tensor) -> Dict[str, Tensor]:
        """Activated branch maps of the last stack."""
        return self.head.activate(self.head(self.detector.extract_feat(x))[-1])

    def outputs(self, x: Tensor) -> Dict[str, Tensor]:
        """The named outputs: decoded detections, or the branch maps."""
        maps = self.maps(x)
        if not self.decode:
            return maps
        dets = self.head.codec.decode_maps(maps, None)
        return {key: dets[key] for key in output_keys(self.head.codec, dets)}

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = self.outputs(x)
        self.output_names = list(outs)
        return tuple(outs.values())


def export_keys(codec) -> List[str]:
    """What a codec's outputs in the graph may be: ``bboxes / scores / labels``, then its
    ``instance_keys``, ``point_keys`` and ``finalize_keys`` (what ``to_original`` reads)."""
    keys: List[str] = []
    for key in (*DET_KEYS, *codec.instance_keys, *codec.point_keys, *codec.finalize_keys):
        if key not in keys:
            keys.append(key)
    return keys


def output_keys(codec, dets: Dict[str, Tensor]) -> List[str]:
    """The keys of :func:`export_keys` that ``decode_maps`` gives (without image metas)."""
    return [k for k in export_keys(codec) if k in dets]


#: Modules with no standard ONNX form (type name -> why); :func:`check_exportable`.
UNEXPORTABLE_MODULES = {
    'CornerPool': 'mmcv CornerPool (corner pooling, torch.cummax: ONNX has no cumulative '
                  'max op, and PyTorch\'s exporter refuses aten::cummax)',
}


def check_exportable(model: nn.Module, cfg=None) -> None:
    """Raises :class:`ExportError` when the model cannot go to a standard ONNX graph: its
    head is not a :class:`CenterNetHead` (no ``activate`` / ``codec.decode_maps`` to
    trace, post-processing of its own), or it has a module of
    :data:`UNEXPORTABLE_MODULES`."""
    from mmcenternet.models.dense_heads.centernet_head import CenterNetHead
    name = osp.basename(getattr(cfg, 'filename', None) or '') or type(model).__name__
    head = getattr(model, 'bbox_head', None)
    reasons = []
    if not isinstance(head, CenterNetHead):
        reasons.append(f'its head {type(head).__name__} is not a CenterNetHead (the export '
                       'traces CenterNetHead.activate and the codec\'s decode_maps)')
    found = sorted({type(m).__name__ for m in model.modules()} & set(UNEXPORTABLE_MODULES))
    reasons += [f'it uses {UNEXPORTABLE_MODULES[t]}' for t in found]
    if reasons:
        raise ExportError(f'{name} cannot be exported to ONNX: {"; ".join(reasons)} '
                          '(see docs/deployment.md, "Which configs export")')


def to_exportable(model: nn.Module, fuse_bn: bool = True) -> nn.Module:
    """A copy of ``model`` in eval mode whose deformable convs export as ONNX ``DeformConv``.

    With ``fuse_bn`` every BatchNorm is first folded into the conv before it
    (:func:`~mmcenternet.models.utils.fuse_conv_bn`, which also covers transposed and
    deformable convs, where ONNX Runtime's own graph fusions stop at plain ``Conv``).

    mmcv's ``ModulatedDeformConv2dPack`` (exported by mmcv as a custom ``mmcv::`` op) is
    replaced by a :class:`DCNv2Fast` with the same geometry and weights, which exports as
    the standard op. Other modules are kept as they are.
    """
    from mmcv.ops import ModulatedDeformConv2dPack
    model = copy.deepcopy(model).eval()
    if fuse_bn:
        fuse_conv_bn(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ModulatedDeformConv2dPack) and not isinstance(
                    child, DCNv2Fast):
                setattr(parent, name, dcnv2fast_like(child))
    return model


def dcnv2fast_like(conv: nn.Module) -> DCNv2Fast:
    """A :class:`DCNv2Fast` with the geometry and the weights of an mmcv DCNv2 module."""
    new = DCNv2Fast(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                    padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                    deform_groups=conv.deform_groups, bias=conv.bias is not None,
                    impl='torch')
    new.load_state_dict(conv.state_dict())
    return new.to(conv.weight.device).eval()


def preprocess_meta(data_preprocessor: Optional[dict]) -> dict:
    """The constants a caller needs to build ``input`` (from the config's preprocessor)."""
    pre = dict(data_preprocessor or {})
    return dict(mean=[float(v) for v in pre.get('mean', (0., 0., 0.))],
                std=[float(v) for v in pre.get('std', (1., 1., 1.))],
                bgr_to_rgb=bool(pre.get('bgr_to_rgb', False) or pre.get('rgb_to_bgr', False)),
                pad_size_divisor=int(pre.get('pad_size_divisor', 1)),
                pad_value=float(pre.get('pad_value', 0.)))


def export_meta(wrapper: CenterNetONNX, cfg, input_shape: Sequence[int], dynamic: bool,
                opset: int) -> dict:
    """What :func:`export_onnx` stores in the file (``metadata_props[META_KEY]``, JSON)."""
    head = wrapper.head
    codec = head.codec
    meta = dict(
        format_version=1,
        num_classes=int(head.num_classes),
        classes=list((cfg.get('metainfo') or {}).get('classes', ())) if cfg else [],
        decode=wrapper.decode,
        input_name=INPUT_NAME,
        output_names=list(wrapper.output_names),
        branches=list(head.branch_cfgs) if hasattr(head, 'branch_cfgs') else [],
        instance_keys=list(codec.instance_keys),
        point_keys=list(codec.point_keys),
        finalize_keys=list(codec.finalize_keys),
        codec=type(codec).__name__,
        topk=getattr(codec, 'topk', None),
        stride=codec.stride,
        export_input_shape=[int(v) for v in input_shape],
        dynamic=bool(dynamic),
        opset=int(opset),
        preprocess=preprocess_meta(cfg.model.get('data_preprocessor') if cfg else None))
    if getattr(cfg, 'filename', None):
        meta['config'] = osp.basename(cfg.filename)
    return meta


def dynamic_axes_for(names: Sequence[str], decode: bool) -> Dict[str, Dict[int, str]]:
    """Dynamic batch, height and width for ``input``; batch (and map size) for outputs."""
    axes = {INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'}}
    for name in names:
        axes[name] = {0: 'batch'} if decode else {0: 'batch', 2: 'map_height',
                                                   3: 'map_width'}
    return axes


def export_onnx(model: nn.Module, out_file: str, input_shape: Sequence[int] = (1, 3, 512, 512),
                decode: bool = True, dynamic: bool = False, opset: int = OPSET, cfg=None,
                fp16: bool = False) -> dict:
    """Exports a CenterNet detector to ONNX (see the module docstring for the I/O).

    Args:
        model: The detector (built from its config, weights loaded).
        out_file: Where to write the ``.onnx`` file.
        input_shape: ``(B, 3, H, W)`` of the example input traced.
        decode: Decode inside the graph (default) or output the branch maps.
        dynamic: Dynamic batch, height and width (else the graph is fixed to
            ``input_shape``).
        opset: ONNX opset (at least 19, for ``DeformConv``).
        cfg: The model's config (``mmengine.Config``), for the stored meta information.
        fp16: Also convert the weights and activations to float16 (inputs and outputs stay
            float32; see :func:`mmcenternet.deploy.quantize.convert_fp16`).

    Returns:
        The stored meta information (:func:`export_meta`).
    """
    import onnx
    if opset < OPSET:
        raise ValueError(f'--opset must be at least {OPSET} (ONNX DeformConv), got {opset}')
    check_exportable(model, cfg)
    wrapper = CenterNetONNX(to_exportable(model), decode=decode).eval()
    device = next(model.parameters()).device
    example = torch.randn(*input_shape, device=device)
    with torch.no_grad():
        wrapper(example)  # fixes output_names
    names = list(wrapper.output_names)
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter is chosen on purpose (see the module docstring)
        warnings.filterwarnings('ignore', message='You are using the legacy TorchScript')
        torch.onnx.export(
            wrapper, (example, ), out_file, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=names, do_constant_folding=True,
            autograd_inlining=False,  # keeps DeformConvONNX a node with its symbolic
            dynamic_axes=dynamic_axes_for(names, decode) if dynamic else None)
    meta = export_meta(wrapper, cfg, input_shape, dynamic, opset)
    proto = onnx.load(out_file)
    proto.ir_version = ir_version_for(proto)
    set_meta(proto, meta)
    if fp16:
        from .quantize import convert_fp16
        proto = convert_fp16(proto)
        meta = dict(meta, precision='fp16')
        set_meta(proto, meta)
    onnx.checker.check_model(proto)
    onnx.save(proto, out_file)
    return meta
