"""Reduced precision for exported models: fp16 conversion and int8 static quantisation.

* fp16: ONNX Runtime's converter (``onnxruntime.transformers.float16``, not the separate
  ``onnxconverter-common`` package) with float32 inputs and outputs; the decode
  (:func:`decode_nodes`) and the ops ONNX Runtime's CPU provider has no float16 kernel for
  (:data:`FP16_BLOCK_OPS`) stay float32, so casts are inserted around them.
* int8: ONNX Runtime static quantisation (``quantize_static``), QDQ format, per-channel
  int8 weights and uint8 activations (the x86 VNNI recipe), calibrated on images of the
  config's dataset run through the config's own test pipeline and data preprocessor
  (:class:`CalibrationReader`), with MinMax, entropy (KL divergence over a 2048-bin
  histogram, as TensorRT's calibrator) or percentile ranges. The decode
  is never quantised: its 3x3 peak test compares a max-pooled map with itself, which int8
  rounding would turn into ties.
"""
import copy
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Set

import numpy as np
import torch

from .onnx_meta import INPUT_NAME, get_meta, ir_version_for, set_meta

CALIBRATION_METHODS = ('minmax', 'entropy', 'percentile')
# Ops kept in float32 by the fp16 conversion: ONNX Runtime's own default list plus the ones
# its CPU provider cannot run in float16.
FP16_BLOCK_OPS = ('DeformConv', )
# What int8 quantises: the convolutions and what sits between them (residual Add, pooling
# and ReLU fold into the QDQ groups); deformable convs keep float32 (no int8 kernel).
INT8_OP_TYPES = ('Conv', 'ConvTranspose', 'Add', 'MaxPool', 'Relu', 'Concat', 'Resize')
HEAVY_OPS = ('Conv', 'ConvTranspose', 'DeformConv', 'MatMul', 'Gemm')


def decode_nodes(proto, with_head_outputs: bool = False) -> List[str]:
    """Names of the nodes of the decode: everything between the graph outputs and the last
    convolutions (walking back from the outputs, stopping at conv-like nodes).

    For a ``--no-decode`` export this is just the heatmap activation; for a decoded one the
    activations, the peak max-pool, the top-K, gathers and box assembly of any decoder.
    With ``with_head_outputs`` the convolutions where the walk stops (the last conv of
    every branch) are included.
    """
    producer = {out: node for node in proto.graph.node for out in node.output}
    seen: Set[int] = set()
    names: List[str] = []
    stack = [o.name for o in proto.graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in HEAVY_OPS:
            if with_head_outputs:
                names.append(node.name)
            continue
        names.append(node.name)
        stack.extend(i for i in node.input if i)
    return names


def _name_nodes(proto) -> None:
    """Gives every unnamed node a unique name (the converters address nodes by name)."""
    used = {n.name for n in proto.graph.node if n.name}
    for i, node in enumerate(proto.graph.node):
        if not node.name:
            name = f'{node.op_type}_{i}'
            while name in used:
                name += '_'
            node.name = name
            used.add(name)


def convert_fp16(proto):
    """A float16 copy of an fp32 model (float32 inputs / outputs, decode in float32).

    Uses ``onnxruntime.transformers.float16.convert_float_to_float16``.
    """
    from onnxruntime.transformers.float16 import (DEFAULT_OP_BLOCK_LIST,
                                                  convert_float_to_float16)
    proto = copy.deepcopy(proto)
    _name_nodes(proto)
    meta = get_meta(proto)
    out = convert_float_to_float16(
        proto, keep_io_types=True, op_block_list=list(DEFAULT_OP_BLOCK_LIST) + list(
            FP16_BLOCK_OPS), node_block_list=decode_nodes(proto))
    _tidy_nodes(out)
    out.ir_version = ir_version_for(out)
    if meta is not None:
        set_meta(out, dict(meta, precision='fp16'))
    return out


def _tidy_nodes(proto) -> None:
    """Drops exact repeats of a node and sorts the nodes topologically, in place.

    ONNX Runtime 1.31's float16 converter appends the casts it inserts at the end of the
    node list (ONNX Runtime sorts them itself, the ONNX checker refuses them), and inserts
    one ``Cast`` back to float32 per consumer of a tensor that several float32 nodes read,
    all with the same name and output; one of them is enough.
    """
    unique, seen = [], set()
    for node in proto.graph.node:
        key = (node.name, tuple(node.input), tuple(node.output))
        if not (node.name and key in seen):
            seen.add(key)
            unique.append(node)
    ready = {i.name for i in proto.graph.input} | {i.name for i in proto.graph.initializer}
    ready.add('')
    ordered, pending = [], unique
    while pending:
        left = []
        for node in pending:
            if all(i in ready for i in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                left.append(node)
        if len(left) == len(pending):
            raise ValueError(f'the graph has a cycle or a missing input at {left[0].name}')
        pending = left
    del proto.graph.node[:]
    proto.graph.node.extend(ordered)


def calibration_pipeline(cfg, fixed_hw: Optional[Sequence[int]] = None) -> List[dict]:
    """The config's test pipeline without annotation loading; with ``fixed_hw`` (a model
    of fixed input size) the affine warp targets that size instead of ``keep_res``."""
    from mmcenternet.utils.benchmark import test_pipeline_of
    return [dict(type='CenterAffine', input_size=(int(fixed_hw[1]), int(fixed_hw[0])))
            if fixed_hw is not None and step.get('type') == 'CenterAffine' else step
            for step in test_pipeline_of(cfg)]


class CalibrationReader:
    """``onnxruntime.quantization.CalibrationDataReader`` over a config's dataset.

    Images are taken evenly spread over the chosen split's dataset, loaded and warped by
    the config's test pipeline and normalised by its data preprocessor (the model's own
    code, built from the config), one image per batch.

    Args:
        cfg: The config (``mmengine.Config``).
        num_images: Images to calibrate on (fewer if the dataset is smaller).
        split: ``'train'``, ``'val'`` or ``'test'``: whose ``<split>_dataloader.dataset``.
            Calibrating on the training split keeps the evaluation images unseen.
        fixed_hw: ``(H, W)`` of a model with a fixed input size (see
            :func:`calibration_pipeline`).
    """

    def __init__(self, cfg, num_images: int = 64, split: str = 'train',
                 fixed_hw: Optional[Sequence[int]] = None) -> None:
        from mmengine.registry import DefaultScope

        from mmcenternet.registry import DATASETS, MODELS
        key = f'{split}_dataloader'
        if key not in cfg:
            raise ValueError(f'the config has no {key} to calibrate on (--split)')
        dataset_cfg = copy.deepcopy(cfg[key].dataset)
        dataset_cfg['pipeline'] = calibration_pipeline(cfg, fixed_hw)
        dataset_cfg['test_mode'] = True
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmcenternet')):
            self.dataset = DATASETS.build(dataset_cfg)
            self.preprocessor = MODELS.build(cfg.model.data_preprocessor)
        count = min(int(num_images), len(self.dataset))
        if count < 1:
            raise ValueError(f'{key}.dataset has no images to calibrate on')
        self.indices = np.linspace(0, len(self.dataset) - 1, count).round().astype(int)
        self.start, self.end = 0, len(self.indices)
        self.position = 0

    def __len__(self) -> int:
        return len(self.indices)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Restricts the next pass to ``indices[start:end]`` (chunked calibration)."""
        self.start, self.end = start_index, min(end_index, len(self.indices))
        self.position = self.start

    def inputs(self, index: int) -> Dict[str, np.ndarray]:
        """The network input of dataset item ``index``."""
        from mmengine.dataset import pseudo_collate
        data = pseudo_collate([self.dataset[int(index)]])
        with torch.no_grad():
            x = self.preprocessor(data, False)['inputs']
        return {INPUT_NAME: x.float().contiguous().numpy()}

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self.position >= self.end:
            return None
        self.position += 1
        return self.inputs(self.indices[self.position - 1])


# Histogram settings of the entropy (KL) calibration: 2048 bins searched for the 128-level
# window of least KL divergence, as TensorRT's calibrator. ``quantize_static`` cannot pass
# them (it would use 128 bins for 128 levels, a search with one candidate: the min-max
# range), so :func:`calibrate` runs ONNX Runtime's calibrator itself.
ENTROPY_BINS = dict(num_bins=2048, num_quantized_bins=128)


def calibrate(model_file: str, reader: CalibrationReader, method: str,
              op_types: Sequence[str], chunk: int = 8):
    """Activation ranges (``onnxruntime.quantization.TensorsData``) of a model over the
    calibration images, collected ``chunk`` images at a time (bounded memory)."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator
    kind = dict(minmax=CalibrationMethod.MinMax, entropy=CalibrationMethod.Entropy,
                percentile=CalibrationMethod.Percentile)[method]
    options = dict(ENTROPY_BINS) if method == 'entropy' else {}
    with tempfile.TemporaryDirectory(prefix='mmcn_calib_') as tmp:
        calibrator = create_calibrator(
            model_file, list(op_types), osp.join(tmp, 'augmented.onnx'),
            calibrate_method=kind, extra_options=options)
        for start in range(0, len(reader), chunk):
            reader.set_range(start, start + chunk)
            calibrator.collect_data(reader)
        ranges = calibrator.compute_data()
        del calibrator
    return kind, ranges


def quantize_int8(fp32_file: str, out_file: str, reader: CalibrationReader,
                  method: str = 'minmax', per_channel: bool = True,
                  exclude: Sequence[str] = (), head_outputs_fp32: bool = True) -> dict:
    """ONNX Runtime static int8 quantisation (QDQ) of an exported fp32 model.

    Args:
        fp32_file: The fp32 model (``pytorch2onnx.py`` output).
        out_file: Where to write the int8 model.
        reader: Calibration inputs.
        method: ``'minmax'``, ``'entropy'`` (KL divergence, :data:`ENTROPY_BINS`) or
            ``'percentile'`` (99.999 %).
        per_channel: Per-output-channel weight scales.
        exclude: Extra node names to keep in float32 (the decode always is).
        head_outputs_fp32: Keep the last conv of every branch in float32 (its input is
            still int8). Their outputs are the heatmap logits and box sizes, where a few
            large values (the peaks, the big boxes) matter most: a calibrated int8 range,
            entropy's above all, clips exactly those.

    Returns:
        The model's meta information, with the quantisation settings added.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.calibrate import save_tensors_data
    from onnxruntime.quantization.shape_inference import quant_pre_process
    if method not in CALIBRATION_METHODS:
        raise ValueError(f'calibration method must be one of {CALIBRATION_METHODS}, '
                         f'got {method!r}')
    proto = onnx.load(fp32_file)
    meta = get_meta(proto) or {}
    with tempfile.TemporaryDirectory(prefix='mmcn_quant_') as tmp:
        named = osp.join(tmp, 'named.onnx')
        _name_nodes(proto)
        onnx.save(proto, named)
        prepared = osp.join(tmp, 'prepared.onnx')
        # ONNX shape inference + graph clean-up, as ONNX Runtime recommends before
        # quantising (its symbolic shape inference does not know DeformConv: skipped)
        quant_pre_process(named, prepared, skip_symbolic_shape=True)
        skip = decode_nodes(onnx.load(prepared), head_outputs_fp32) + list(exclude)
        kind, ranges = calibrate(prepared, reader, method, INT8_OP_TYPES)
        cache = osp.join(tmp, 'ranges.json')
        save_tensors_data(ranges, cache)
        quantize_static(
            prepared, out_file, None, quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(INT8_OP_TYPES), per_channel=per_channel,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=skip, calibrate_method=kind, calibration_cache_path=cache)
    out = onnx.load(out_file)
    out.ir_version = ir_version_for(out)
    meta = dict(meta, precision='int8', calibration=dict(
        method=method, images=len(reader), per_channel=per_channel, format='QDQ',
        activations='uint8', weights='int8', head_outputs_fp32=head_outputs_fp32))
    set_meta(out, meta)
    onnx.save(out, out_file)
    return meta
