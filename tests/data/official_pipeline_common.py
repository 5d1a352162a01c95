"""Inputs shared by make_official_pipeline_fixtures.py and the whole-path fidelity tests.

Everything here is ours and deterministic, so the fixture script (which runs the official
code) and the tests (which run ours) see exactly the same images, annotations and "network".
"""
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# realistic COCO image sizes (width, height), a crowd box, border-touching boxes, and one
# image with more objects than max_objs
IMAGE_SIZES = ((640, 480), (500, 375), (427, 640))
CATEGORY_IDS = (1, 3, 7)  # non-contiguous, as COCO's
NUM_CLASSES = len(CATEGORY_IDS)
MANY_OBJECTS = 140
COCO_MEAN = (0.40789654, 0.44719302, 0.47026115)  # official coco.py, BGR, 0-1
COCO_STD = (0.28863828, 0.27408164, 0.27809835)
STRIDE = 4


def make_image(index: int, width: int, height: int) -> np.ndarray:
    """A BGR uint8 image with a gradient background and filled shapes."""
    rng = np.random.RandomState(100 + index)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xs / width * 200 + 20, ys / height * 180 + 30,
                     (xs + ys) / (width + height) * 160 + 40], axis=2)
    img = base.astype(np.uint8)
    for _ in range(25):
        color = tuple(int(c) for c in rng.randint(0, 256, 3))
        x, y = int(rng.randint(0, width)), int(rng.randint(0, height))
        if rng.rand() < 0.5:
            cv2.circle(img, (x, y), int(rng.randint(5, 60)), color, -1)
        else:
            w, h = int(rng.randint(5, 120)), int(rng.randint(5, 120))
            cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
    noise = rng.randint(-12, 13, img.shape)
    return np.clip(img.astype(np.int32) + noise, 0, 255).astype(np.uint8)


def make_annotations(index: int, width: int, height: int, first_id: int) -> List[dict]:
    """COCO annotations (xywh) inside the image; the last image gets MANY_OBJECTS."""
    rng = np.random.RandomState(200 + index)
    num = MANY_OBJECTS if index == len(IMAGE_SIZES) - 1 else rng.randint(8, 20)
    anns = []
    for k in range(num):
        w = float(np.exp(rng.uniform(np.log(3), np.log(width * 0.7))))
        h = float(np.clip(w * np.exp(rng.uniform(-0.8, 0.8)), 2, height - 1))
        x = float(rng.uniform(0, width - w))
        y = float(rng.uniform(0, height - h))
        if k == 1:  # touches the right border
            x = width - w
        if k == 2:  # touches the top-left corner
            x, y = 0.0, 0.0
        anns.append(dict(id=first_id + k, image_id=index + 1,
                         category_id=int(CATEGORY_IDS[rng.randint(0, NUM_CLASSES)]),
                         bbox=[round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                         area=round(w * h, 2), iscrowd=1 if k == 3 else 0))
    return anns


def write_dataset(root: str) -> str:
    """Writes ``root/images/*.png`` and ``root/annotations.json``; returns the json path."""
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, anns = [], []
    for i, (w, h) in enumerate(IMAGE_SIZES):
        name = f'{i:03d}.png'
        cv2.imwrite(osp.join(root, 'images', name), make_image(i, w, h))
        images.append(dict(id=i + 1, file_name=name, width=w, height=h))
        anns += make_annotations(i, w, h, first_id=len(anns) + 1)
    categories = [dict(id=c, name=f'class{c}') for c in CATEGORY_IDS]
    path = osp.join(root, 'annotations.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=categories), f)
    return path


class MapNet(nn.Module):
    """A fixed stand-in for a trained CenterNet: normalised ``(B, 3, H, W)`` input ->
    ``[{'hm': logits, 'wh': sizes, 'reg': offsets}]`` at stride 4 (official names).

    Its weights come from a fixed seed, and its maps depend on the image content, so flips,
    scales and padding all change them as they would a real network's. Flat regions (the
    padding) get low heatmap scores and a small term of the map position breaks the other
    exact ties: top-K implementations do not define the order of equal scores (a flip-test
    average of a constant region is mirror-symmetric, so it ties in pairs).
    """

    def __init__(self, num_classes: int = NUM_CLASSES, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.num_classes = num_classes
        self.w1 = nn.Parameter(torch.randn(12, 3, 3, 3, generator=gen) * 0.2)
        self.b1 = nn.Parameter(torch.randn(12, generator=gen) * 0.1)
        self.w2 = nn.Parameter(torch.randn(num_classes + 4, 12, 3, 3, generator=gen) * 0.05)
        self.b2 = nn.Parameter(torch.randn(num_classes + 4, generator=gen) * 0.1)

    def forward(self, x: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        x = x.float()
        feat = F.avg_pool2d(x, STRIDE)
        var = (F.avg_pool2d(x * x, STRIDE) - feat * feat).clamp(min=0).mean(1, keepdim=True)
        feat = F.relu(F.conv2d(feat, self.w1, self.b1, padding=1))
        out = F.conv2d(feat, self.w2, self.b2, padding=1)
        ys = torch.arange(out.shape[2], dtype=out.dtype).view(-1, 1)
        xs = torch.arange(out.shape[3], dtype=out.dtype).view(1, -1)
        out = out + 0.05 * torch.sin(0.37 * xs + 0.61 * ys + 0.3)
        c = self.num_classes
        flat = 4 * torch.log(var + 1e-3) - 4 * torch.log(var.new_tensor(1.001))
        return [dict(hm=out[:, :c] * 3 - 2.5 + flat.clamp(max=0), wh=F.softplus(out[:, c:c + 2]) * 10 + 1,
                     reg=torch.sigmoid(out[:, c + 2:c + 4]))]


def detections_by_class(results: Dict[int, np.ndarray]) -> np.ndarray:
    """Official ``{class (1-based): (n, 5)}`` results -> ``(N, 6)`` rows
    ``[x1, y1, x2, y2, score, label]``, classes in order (as the official COCO export)."""
    rows = [np.concatenate([np.asarray(results[j], np.float32).reshape(-1, 5),
                            np.full((len(results[j]), 1), j - 1, np.float32)], axis=1)
            for j in sorted(results)]
    return np.concatenate(rows) if rows else np.zeros((0, 6), np.float32)


class DrawRecorder:
    """Wraps a random source and records what each method returned, per method."""

    def __init__(self, source) -> None:
        self.source = source
        self.draws: Dict[str, list] = defaultdict(list)

    def __getattr__(self, name):
        fn = getattr(self.source, name)

        def recorded(*args, **kwargs):
            value = fn(*args, **kwargs)
            self.draws[name].append(value)
            return value
        return recorded


class DrawReplay:
    """Returns recorded draws in order, per method (``choice``, ``randint``, ...)."""

    def __init__(self, draws: Dict[str, list]) -> None:
        self.draws = {k: list(v) for k, v in draws.items()}

    def _next(self, name):
        values = self.draws.get(name)
        if not values:
            raise AssertionError(f'no recorded draw left for {name}')
        return values.pop(0)

    def choice(self, *args, **kwargs):
        return self._next('choice')

    def randint(self, *args, **kwargs):
        return self._next('randint')

    def random(self, *args, **kwargs):
        return self._next('random')

    def uniform(self, *args, **kwargs):
        return self._next('uniform')

    def normal(self, *args, **kwargs):
        return self._next('normal')

    def permutation(self, *args, **kwargs):
        return self._next('permutation')
