"""A CenterNet detector that runs an exported ONNX model with ONNX Runtime.

:class:`ONNXRuntimeDetector` is an mmdet detector (``test_step`` / ``predict`` give
``DetDataSample`` s), so ``tools/test.py``, ``demo/image_demo.py``, mmdet's
``inference_detector`` and the benchmarks use it as they use the PyTorch model. Only the
network (and, for models exported with the decode, the decode) runs in ONNX Runtime; the
rest is the PyTorch model's own code, not a copy of it:

* pre-processing: the config's test pipeline (``CenterAffine``) and its data preprocessor
  (mean / std / channel order / padding, built from ``data_preprocessor``);
* post-processing: the config's ``CenterNetHead`` (``results_from_dets``: back-mapping of
  ``point_keys`` through the inverse ``affine_matrix``, the codec's ``finalize``, the
  optional score threshold / NMS); for ``--no-decode`` exports, the head's own decode.

The model file is checked against the config before anything runs (:func:`load_session`,
:func:`check_model_fits`): an unreadable or non-ONNX file, other input names, outputs of
neither kind, or another class count than the config's raise :class:`ONNXModelError`
with one line naming the file, what was found and what to do.
"""
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.structures import SampleList
from torch import Tensor

from mmcenternet.errors import CheckpointNotFoundError, ONNXModelError
from mmcenternet.registry import MODELS
from .onnx_export import export_keys
from .onnx_meta import DET_KEYS, INPUT_NAME, META_KEY

EXPORT_HINT = 'export one with tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT'


def _describe_file(path: str) -> str:
    """Why a file that ONNX Runtime could not parse is not an ONNX model, if we can tell."""
    with open(path, 'rb') as f:
        head = f.read(4)
    if head[:2] == b'PK' or head[:1] == b'\x80':
        return ('it looks like a PyTorch checkpoint: run it without --backend onnxruntime, '
                f'or {EXPORT_HINT}')
    if not head:
        return f'the file is empty; {EXPORT_HINT}'
    return EXPORT_HINT


def load_session(onnx_file: str, num_threads: Optional[int] = None,
                 providers: Sequence[str] = ('CPUExecutionProvider', )):
    """An ``onnxruntime.InferenceSession`` for ``onnx_file``, with clear errors.

    Args:
        onnx_file: The model file.
        num_threads: ONNX Runtime intra-op threads (default: torch's thread count, so that
            both back-ends use the same cores).
        providers: Execution providers, in order of preference.

    Raises:
        CheckpointNotFoundError: The file does not exist.
        ONNXModelError: ONNX Runtime cannot read it.
    """
    import onnxruntime as ort
    if not osp.isfile(onnx_file):
        raise CheckpointNotFoundError(f'ONNX model file {onnx_file} does not exist')
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(num_threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(onnx_file, options, providers=list(providers))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        reason = ' '.join(str(exc).split())
        reason = reason.split(' : ')[-1][:200]
        raise ONNXModelError(f'{onnx_file} is not an ONNX model ONNX Runtime can load '
                             f'({reason}); {_describe_file(onnx_file)}') from exc


def model_meta(session) -> Optional[dict]:
    """The meta information ``pytorch2onnx.py`` stored in the model, or None."""
    import json
    value = session.get_modelmeta().custom_metadata_map.get(META_KEY)
    return json.loads(value) if value else None


def _shapes(args) -> str:
    return ', '.join(f'{a.name} {list(a.shape)}' for a in args)


def check_model_fits(session, head, onnx_file: str) -> Tuple[bool, List[str], Optional[dict]]:
    """Checks an ONNX model's inputs, outputs and class count against the config's head.

    Returns:
        ``(decoded, output_names, meta)``: whether the model outputs detections (else
        branch maps), the output names to fetch, and its stored meta information.

    Raises:
        ONNXModelError: One line naming the file, what it has and what was expected.
    """
    inputs = session.get_inputs()
    shape = inputs[0].shape if len(inputs) == 1 else []
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME or len(shape) != 4 or (
            isinstance(shape[1], int) and shape[1] != 3):
        raise ONNXModelError(
            f'{onnx_file} has inputs [{_shapes(inputs)}]; a CenterNet model takes one input '
            f'{INPUT_NAME!r} of shape (B, 3, H, W): {EXPORT_HINT}')
    outputs = session.get_outputs()
    names = [o.name for o in outputs]
    branches = list(getattr(head, 'branch_cfgs', {'heatmap': None}))
    decoded = all(k in names for k in DET_KEYS)
    if not decoded and not all(b in names for b in branches):
        raise ONNXModelError(
            f'{onnx_file} has outputs [{_shapes(outputs)}]; expected the detections '
            f'{list(DET_KEYS)} (default export) or the branch maps {branches} of the '
            f'config (export with --no-decode): {EXPORT_HINT}')
    meta = model_meta(session)
    expected = int(head.num_classes)
    found, source = None, ''
    if meta is not None and meta.get('num_classes') is not None:
        found, source = int(meta['num_classes']), 'it was exported with'
    elif not decoded:
        channels = outputs[names.index('heatmap')].shape[1]
        if isinstance(channels, int):
            found, source = channels, 'its heatmap output has'
    if found is None:
        warnings.warn(f'{onnx_file} carries no class count (not exported by '
                      'tools/deployment/pytorch2onnx.py): it cannot be checked against the '
                      f'config\'s {expected} classes')
    elif found != expected:
        raise ONNXModelError(
            f'{onnx_file}: {source} {found} classes, the config has {expected} '
            '(model.bbox_head.codec.num_classes): use the config the model was '
            'exported from, or export it again with this config')
    codec = type(head.codec).__name__
    # files exported before the codecs name the task's decoder (e.g. CTDetDecoder)
    exported = (meta or {}).get('codec') or (meta or {}).get('decoder', '').replace(
        'Decoder', 'Codec')
    if exported not in ('', codec):
        raise ONNXModelError(
            f'{onnx_file} was exported with the codec {exported}, the config uses {codec} '
            '(model.bbox_head.codec.type): use the config the model was exported from')
    missing = [k for k in head.codec.finalize_keys if k not in names]
    if decoded and missing:
        raise ONNXModelError(
            f'{onnx_file} lacks the outputs {missing} that {codec}.finalize reads (exported '
            f'by an older pytorch2onnx.py?): {EXPORT_HINT}')
    fetch = [n for n in names if n in export_keys(head.codec)] if decoded else branches
    return decoded, fetch, meta


def fixed_input_shape(session) -> Optional[List[Optional[int]]]:
    """The input's static dims (None where dynamic), or None when all are dynamic."""
    dims = [d if isinstance(d, int) else None for d in session.get_inputs()[0].shape]
    return None if all(d is None for d in dims) else dims


@MODELS.register_module()
class ONNXRuntimeDetector(BaseDetector):
    """Runs an ONNX model exported by ``tools/deployment/pytorch2onnx.py``.

    Args:
        onnx_file: The ``.onnx`` model.
        bbox_head: The config's ``model.bbox_head`` (its codec and post-processing are
            used; its convolutions are not run).
        data_preprocessor: The config's ``model.data_preprocessor``.
        test_cfg: The config's ``model.test_cfg`` (score threshold / NMS, as the head).
        num_threads: ONNX Runtime intra-op threads (default: torch's thread count).
        providers: ONNX Runtime execution providers.
        init_cfg: Unused (no weights to initialise).
    """

    def __init__(self, onnx_file: str, bbox_head: dict,
                 data_preprocessor: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 num_threads: Optional[int] = None,
                 providers: Sequence[str] = ('CPUExecutionProvider', ),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        bbox_head = dict(bbox_head)
        bbox_head.update(test_cfg=test_cfg)
        self.bbox_head = MODELS.build(bbox_head)
        self.onnx_file = onnx_file
        self.session = load_session(onnx_file, num_threads, providers)
        self.decoded, self.output_names, self.onnx_meta = check_model_fits(
            self.session, self.bbox_head, onnx_file)
        self.fixed_shape = fixed_input_shape(self.session)

    def check_input(self, x: Tensor) -> None:
        """A clear error when a fixed-size model gets another input size."""
        if self.fixed_shape is None:
            return
        if any(d is not None and d != s for d, s in zip(self.fixed_shape, x.shape)):
            shown = 'x'.join('?' if d is None else str(d) for d in self.fixed_shape)
            raise ONNXModelError(
                f'{self.onnx_file} takes a fixed input of {shown}, the pipeline gives '
                f'{"x".join(map(str, x.shape))}: export it with --dynamic (or with '
                '--input-size matching the test pipeline)')

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None) -> Dict[str, Tensor]:
        """The model's outputs by name (detections in input pixels, or branch maps)."""
        self.check_input(batch_inputs)
        x = batch_inputs.detach().to('cpu', torch.float32).contiguous().numpy()
        outs = self.session.run(self.output_names, {INPUT_NAME: x})
        return {name: torch.from_numpy(out) for name, out in zip(self.output_names, outs)}

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detections of a preprocessed batch, as the PyTorch model's ``predict``."""
        outs = self._forward(batch_inputs)
        metas = [s.metainfo for s in batch_data_samples]
        if self.decoded:
            results = self.bbox_head.results_from_dets(outs, metas, rescale)
        else:
            results = self.bbox_head.decode_maps(outs, metas, rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def extract_feat(self, batch_inputs: Tensor):
        raise NotImplementedError('an ONNX Runtime model gives no features')

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList):
        raise NotImplementedError('an ONNX Runtime model cannot be trained')


def ort_model_cfg(model_cfg: dict, onnx_file: str, **kwargs) -> dict:
    """The ``ONNXRuntimeDetector`` config for a PyTorch model config and an ONNX file."""
    if 'bbox_head' not in model_cfg:
        raise ONNXModelError(f'--backend onnxruntime runs CenterNet configs (a model with '
                             f'bbox_head); the config\'s model is {model_cfg.get("type")}')
    return dict(type='ONNXRuntimeDetector', onnx_file=os.fspath(onnx_file),
                bbox_head=model_cfg['bbox_head'],
                data_preprocessor=model_cfg.get('data_preprocessor'),
                test_cfg=model_cfg.get('test_cfg'), **kwargs)
