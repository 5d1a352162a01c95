"""Helpers shared by ``tools/analysis_tools/benchmark.py`` and ``benchmarks/compare_mmdet.py``.

Timing: every case is warmed up, then run ``repeat`` times; with several cases the runs
alternate (round-robin, first case rotating) so that slow phases of a shared machine hit
all of them alike. Reported: median, 90th percentile and throughput (items / median), and
the median of the process's CPU time per run (all its threads): with one thread on a
machine shared with other jobs, the wall clock counts the time spent waiting for a core, the
CPU time does not, so it estimates the latency on an idle core.
"""
import contextlib
import logging
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from torch import Tensor, nn


@dataclass
class Timing:
    """Run times (seconds) of one benchmark case; ``items`` per run (e.g. images)."""
    name: str
    times: List[float] = field(default_factory=list)
    items: int = 1
    cpu_times: List[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median run time in seconds."""
        return float(np.median(self.times))

    @property
    def p90(self) -> float:
        """90th percentile run time in seconds."""
        return float(np.percentile(self.times, 90))

    @property
    def cpu_median(self) -> Optional[float]:
        """Median process CPU time per run in seconds (``None`` when not recorded)."""
        return float(np.median(self.cpu_times)) if self.cpu_times else None

    @property
    def throughput(self) -> float:
        """Items per second at the median run time."""
        return self.items / self.median

    def row(self) -> str:
        """One line: median / p90 in ms, throughput and the median CPU time per run."""
        cpu = '' if self.cpu_median is None else f'   cpu {self.cpu_median * 1e3:9.2f} ms'
        return (f'{self.name:<34s} median {self.median * 1e3:9.2f} ms   '
                f'p90 {self.p90 * 1e3:9.2f} ms   {self.throughput:8.2f} items/s '
                f'(x{self.items}, n={len(self.times)}){cpu}')


@contextlib.contextmanager
def quiet_logs(level: int = logging.WARNING):
    """Raises mmengine's current logger to ``level`` (no per-parameter init messages)."""
    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(level)
    try:
        yield logger
    finally:
        logger.setLevel(previous)


def synchronize(device: str) -> None:
    """Waits for queued CUDA work (no-op on CPU)."""
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def time_cases(cases: Dict[str, Callable[[], object]], warmup: int = 3, repeat: int = 10,
               device: str = 'cpu', items: Optional[Dict[str, int]] = None
               ) -> Dict[str, Timing]:
    """Times several zero-argument callables, alternating between them.

    Args:
        cases: ``{name: fn}``; each ``fn()`` is one run.
        warmup: Untimed runs of each case first.
        repeat: Timed runs of each case.
        device: For CUDA synchronisation around each run.
        items: Items processed per run, per case (default 1), for the throughput.

    Returns:
        ``{name: Timing}`` in the order of ``cases``.
    """
    items = items or {}
    names = list(cases)
    for name in names:
        for _ in range(warmup):
            cases[name]()
    out = {name: Timing(name, items=items.get(name, 1)) for name in names}
    for rnd in range(repeat):
        for j in range(len(names)):
            name = names[(rnd + j) % len(names)]
            synchronize(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            cases[name]()
            synchronize(device)
            out[name].times.append(time.perf_counter() - start)
            out[name].cpu_times.append(time.process_time() - cpu_start)
    return out


def random_boxes(num: int, img_size: int, generator: torch.Generator,
                 min_size: float = 8.0) -> Tensor:
    """``num`` random xyxy boxes inside an ``img_size`` square, at least ``min_size`` wide."""
    wh = min_size + torch.rand(num, 2, generator=generator) * (img_size / 2 - min_size)
    xy = torch.rand(num, 2, generator=generator) * (img_size - wh)
    return torch.cat([xy, xy + wh], dim=1)


def synthetic_gt(batch_size: int, num_objects: int, img_size: int, num_classes: int,
                 seed: int = 0) -> List[InstanceData]:
    """Random gt (plain-tensor ``bboxes`` and ``labels``) for ``batch_size`` images."""
    gen = torch.Generator().manual_seed(seed)
    return [
        InstanceData(bboxes=random_boxes(num_objects, img_size, gen),
                     labels=torch.randint(0, num_classes, (num_objects, ), generator=gen))
        for _ in range(batch_size)
    ]


def synthetic_train_data(batch_size: int, img_size: int, num_objects: int,
                         num_classes: int, seed: int = 0) -> dict:
    """A training batch as the dataloader gives it: uint8 images + data samples with gt.

    Meta information covers what both mmcenternet's and mmdet's CenterNet read.
    """
    gen = torch.Generator().manual_seed(seed)
    gts = synthetic_gt(batch_size, num_objects, img_size, num_classes, seed)
    inputs, samples = [], []
    for gt in gts:
        inputs.append(torch.randint(0, 256, (3, img_size, img_size), dtype=torch.uint8,
                                    generator=gen))
        sample = DetDataSample(metainfo=dict(
            img_shape=(img_size, img_size), ori_shape=(img_size, img_size),
            pad_shape=(img_size, img_size), scale_factor=(1., 1.), flip=False,
            border=(0., img_size, 0., img_size), affine_matrix=np.eye(3)))
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def write_test_image(path: str, img_size: int, seed: int = 0) -> str:
    """Writes a ``img_size`` square BGR image with a few coloured rectangles (for e2e runs)."""
    import cv2
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (img_size, img_size, 3), dtype=np.uint8)
    for _ in range(8):
        x0, y0 = rng.integers(0, img_size * 3 // 4, 2)
        w, h = rng.integers(img_size // 16 + 2, img_size // 3, 2)
        color = tuple(int(c) for c in rng.integers(60, 256, 3))
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), color, -1)
    if osp.dirname(path):
        import os
        os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, img)
    return path


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Gives a freshly initialised CenterNet (ours or mmdet's) non-trivial weights, in place.

    Random BatchNorm statistics and affine parameters (so that folding them matters),
    deformable offsets of a few pixels, and head weights that give spread-out scores and
    boxes tens of pixels wide; heatmap biases spread around the official -2.19.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
                module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=gen))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(module.num_features,
                                                                generator=gen))
            elif name.endswith('conv_offset'):
                module.weight.copy_(0.01 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen))
            elif 'head' in name and isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                std = 0.5 / fan_in**0.5
                heatmap = module.kernel_size == (1, 1) and module.out_channels > 2
                if heatmap:
                    std = 0.2 / fan_in**0.5  # heatmap logits: keep the sigmoid unsaturated
                module.weight.copy_(std * torch.randn(module.weight.shape, generator=gen))
                if heatmap and module.bias is not None:
                    module.bias.copy_(-2.19 + 0.3 * torch.randn(module.bias.shape,
                                                                generator=gen))
                if module.out_channels == 2 and module.kernel_size == (1, 1) and \
                        module.bias is not None:
                    is_wh = any(p in ('wh', 'wh_head') for p in name.split('.'))
                    module.bias.fill_(8.0 if is_wh else 0.0)
    return model


def compare_dets(ours: Dict[str, Tensor], theirs: Dict[str, Tensor],
                 score_tol: float = 1e-4) -> Dict[str, float]:
    """Matches two top-K detection lists one to one and measures their differences.

    Detections with equal scores may come out of ``topk`` in either order, so each of ours
    is paired with the unused detection of the other list (mmdet's, ONNX Runtime's) of the
    same label, a score within ``score_tol`` and the nearest box (in rank order). Returns
    the max abs box and score differences over the pairs and the number of detections left
    unpaired (``labels``). A detection at the top-K cut (its score within ``score_tol`` of
    the other list's lowest score, when that list is full at ``len(ours)``) may lose its
    place to a near-equal detection that the other list keeps instead: it is not counted,
    as long as the other list's extra detection is at the cut too (``cut_swaps``).
    """
    return pair_dets(ours, theirs, score_tol)[0]


def pair_dets(ours: Dict[str, Tensor], theirs: Dict[str, Tensor],
              score_tol: float = 1e-4) -> Tuple[Dict[str, float], List[Tuple[int, int]]]:
    """:func:`compare_dets` and its pairs ``(index in ours, index in theirs)``, so that
    other per-detection outputs (keypoints, 3D attributes) can be compared pair by pair."""
    num_ours, num_theirs = len(ours['bboxes']), len(theirs['bboxes'])
    out = dict(num_ours=num_ours, num_mmdet=num_theirs, box=0.0, score=0.0,
               labels=abs(num_ours - num_theirs))
    pairs: List[Tuple[int, int]] = []
    if num_ours == 0 or num_theirs == 0:
        return out, pairs
    box_cost = (ours['bboxes'][:, None] - theirs['bboxes'][None]).abs().amax(-1)
    score_cost = (ours['scores'][:, None] - theirs['scores'][None]).abs()
    box_cost[(ours['labels'][:, None] != theirs['labels'][None]) | (score_cost > score_tol)] = \
        float('inf')
    used = torch.zeros(num_theirs, dtype=torch.bool)
    unpaired = []
    for i in range(num_ours):
        j = int(box_cost[i].argmin())
        if not torch.isfinite(box_cost[i, j]):
            unpaired.append(i)
            continue
        pairs.append((i, j))
        out['box'] = max(out['box'], float(box_cost[i, j]))
        out['score'] = max(out['score'], float(score_cost[i, j]))
        box_cost[:, j] = float('inf')
        used[j] = True
    # swaps at the top-K cut: ours unpaired and theirs unused, all near both lists' last score
    cut = max(float(ours['scores'].min()), float(theirs['scores'].min())) + score_tol
    left = theirs['scores'][~used]
    swaps = 0
    if num_ours == num_theirs and len(unpaired) == len(left):
        at_cut = bool((ours['scores'][unpaired] <= cut).all()) and bool((left <= cut).all())
        swaps = len(unpaired) if at_cut else 0
    out['labels'] += len(unpaired) - swaps
    out['cut_swaps'] = swaps
    return out, pairs


def same(diff: Dict[str, float], tol: float) -> bool:
    """Whether a :func:`compare_dets` result counts as the same detections."""
    return diff['box'] < tol and diff['score'] < tol and diff['labels'] == 0


def test_pipeline_of(cfg) -> List[dict]:
    """The test pipeline of a config, without annotation loading (inference only); with
    ``apis.inference_batch``'s ``pipelines`` cache, e.g. ``{False: Compose(...)}``, the
    timed image-file predictor."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    return [dict(t) for t in pipeline if 'LoadAnnotations' not in str(t.get('type'))]


class DenseNet(nn.Module):
    """``backbone -> neck -> head`` of a detector as one module returning a flat tuple.

    For tracing (FLOP counting, export) and for timing the network alone.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: Tensor) -> tuple:
        """Raw head maps as a tuple of tensors (dict values in order, for every stack)."""
        outs = self.detector.bbox_head(self.detector.extract_feat(x))
        flat = []
        for item in outs:
            if isinstance(item, dict):
                flat.extend(item.values())
            elif isinstance(item, (list, tuple)):
                flat.extend(item)
            else:
                flat.append(item)
        return tuple(flat)
