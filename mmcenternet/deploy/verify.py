"""ONNX Runtime vs PyTorch on the same input: the check behind ``pytorch2onnx.py --verify``
and the parity tests."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from mmcenternet.utils.benchmark import pair_dets
from .onnx_export import CenterNetONNX
from .onnx_meta import DET_KEYS, INPUT_NAME


def pytorch_outputs(model: nn.Module, x: Tensor, decode: bool = True) -> Dict[str, Tensor]:
    """The outputs the export of ``model`` should give for ``x`` (PyTorch, unfused)."""
    wrapper = CenterNetONNX(model, decode=decode).eval()
    with torch.no_grad():
        return {k: v.float() if v.is_floating_point() else v
                for k, v in wrapper.outputs(x).items()}


def ort_outputs(session, x: Tensor) -> Dict[str, Tensor]:
    """An ONNX Runtime session's outputs for ``x``, by name."""
    names = [o.name for o in session.get_outputs()]
    outs = session.run(names, {INPUT_NAME: np.ascontiguousarray(x.numpy(), np.float32)})
    return {n: torch.from_numpy(o) for n, o in zip(names, outs)}


def peaks_only(dets: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """One image's detections without those of score 0: positions the 3x3 max-pool
    suppressed, which fill the top-K when a map has fewer than K peaks (one class on a
    small input) and, all tied at 0, come out of ``TopK`` in any order."""
    keep = dets['scores'] > 0
    return {k: v[keep] for k, v in dets.items()}


def compare_extras(got: Dict[str, Tensor], ref: Dict[str, Tensor],
                   pairs: Sequence[Tuple[int, int]]) -> Dict[str, float]:
    """Max abs difference of every other output (keypoints, 3D attributes, ...) over the
    paired detections of one image (``pairs``: ``(index in got, index in ref)``)."""
    if not pairs:
        return {}
    mine, theirs = (torch.tensor(side) for side in zip(*pairs))
    return {key: float((got[key][mine].double() - ref[key][theirs].double()).abs().max())
            for key in ref if key not in DET_KEYS and key in got}


def compare_with_pytorch(model: nn.Module, session, inputs: Sequence[Tensor],
                         score_tol: float = 1e-4) -> List[Dict[str, float]]:
    """Per input and image: detections paired one to one (:func:`pair_dets`: max box /
    score difference and unpaired count, pairing scores within ``score_tol``; non-peaks
    left out, :func:`peaks_only`) and, under ``extras``, the max abs difference of each
    other output over the pairs; or the max abs difference per branch map for a
    ``--no-decode`` model."""
    names = [o.name for o in session.get_outputs()]
    decode = 'bboxes' in names
    report = []
    for x in inputs:
        ref = pytorch_outputs(model, x, decode)
        got = ort_outputs(session, x)
        if not decode:
            report.append({k: float((got[k].float() - ref[k]).abs().max()) for k in ref})
            continue
        for i in range(x.shape[0]):
            pick = {k: peaks_only({n: v[i] for n, v in d.items()})
                    for k, d in (('got', got), ('ref', ref))}
            diff, pairs = pair_dets(pick['got'], pick['ref'], score_tol)
            diff['extras'] = compare_extras(pick['got'], pick['ref'], pairs)
            report.append(diff)
    return report


def compare_graph_decode(model: nn.Module, maps_session, dets_session,
                         inputs: Sequence[Tensor]) -> List[Dict[str, float]]:
    """The decode in the graph alone: the PyTorch codec's decode applied to a ``--no-decode``
    model's maps against the detections of the model with the decode, on the same inputs.
    Per image, as :func:`compare_with_pytorch`; separates what the decode's export does from
    what float rounding of the maps does at ties (plateaus of equal neighbours)."""
    report = []
    codec = model.bbox_head.codec
    for x in inputs:
        got = ort_outputs(dets_session, x)
        with torch.no_grad():
            ref = codec.decode_maps(ort_outputs(maps_session, x), None)
        for i in range(x.shape[0]):
            mine = peaks_only({n: v[i] for n, v in got.items()})
            theirs = peaks_only({n: ref[n][i] for n in got})
            diff, pairs = pair_dets(mine, theirs)
            diff['extras'] = compare_extras(mine, theirs, pairs)
            report.append(diff)
    return report
