"""The official CenterNet input transform: one affine warp for scale, shift, crop and pad.

mmdet's CenterNet uses ``RandomCenterCropPad`` instead, which samples crops differently; these
transforms follow the official ``CTDetDataset`` so trained models match the paper.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmcenternet.registry import TRANSFORMS

#: results key -> ``fn(results, mat, flipped, width, out_size)``, run when the key is present
#: (see :func:`register_affine_mapper`).
AFFINE_MAPPERS: Dict[str, Callable] = {}
#: ``jitter_style`` -> ``fn(transform, center, size, height, width) -> size``.
JITTER_STYLES: Dict[str, Callable] = {}


def register_affine_mapper(key: str) -> Callable:
    """Decorator of a task file: ``fn(results, mat, flipped, width, out_size)`` maps the
    task's annotation ``results[key]`` (when present and not None) through the warp of
    :class:`CenterAffine`: ``mat`` (3x3, original -> input pixels, flip included), whether the
    image was flipped left-right, the width of the image flipped and the ``(w, h)`` input."""
    def wrap(fn: Callable) -> Callable:
        AFFINE_MAPPERS[key] = fn
        return fn
    return wrap


def register_jitter_style(name: str) -> Callable:
    """Decorator: ``fn(transform, center, size, height, width) -> size`` is the gaussian
    jitter of ``CenterAffine(jitter_style=name)`` (it moves ``center`` in place)."""
    def wrap(fn: Callable) -> Callable:
        JITTER_STYLES[name] = fn
        return fn
    return wrap


class RandomSourceMixin:
    """``self.random``: numpy's global random state, as the official data pipeline uses it.

    Setting ``rng`` (anything with numpy's ``RandomState`` methods) replaces it, e.g. a
    seeded ``RandomState`` or, in the fidelity tests, a replay of the official code's draws.
    """

    rng = None

    @property
    def random(self):
        return np.random if self.rng is None else self.rng


def get_border(border: int, size: int) -> int:
    """Largest ``border / 2**i`` that leaves room for a random center (official rule)."""
    i = 1
    while size - border // i <= border // i:
        i *= 2
    return border // i


def affine_matrix(center: np.ndarray, src_width: float, output_size: Tuple[int, int],
                  rot_deg: float = 0.0) -> np.ndarray:
    """3x3 matrix sending the ``src_width``-wide square around ``center`` onto the output.

    Equivalent to the official ``get_affine_transform(center, scale, rot, output_size)``
    (which builds it from three point pairs): a uniform scale ``out_w / src_width``, a
    rotation by ``-rot_deg`` and a translation putting ``center`` at the output center.
    """
    out_w, out_h = output_size
    k = out_w / float(src_width)
    rad = np.deg2rad(rot_deg)
    cos, sin = np.cos(rad) * k, np.sin(rad) * k
    linear = np.array([[cos, sin], [-sin, cos]], dtype=np.float64)
    translation = np.array([out_w / 2.0, out_h / 2.0]) - linear @ np.asarray(center, np.float64)
    mat = np.eye(3, dtype=np.float64)
    mat[:2, :2] = linear
    mat[:2, 2] = translation
    return mat


def hflip_matrix(width: int) -> np.ndarray:
    """The official image flip as a matrix: ``x -> width - 1 - x``."""
    return np.array([[-1., 0., width - 1.], [0., 1., 0.], [0., 0., 1.]])


def transform_bboxes(bboxes: np.ndarray, mat: np.ndarray) -> np.ndarray:
    """Maps the two corners of xyxy boxes through ``mat`` (as the official code does)."""
    corners = bboxes.reshape(-1, 2).astype(np.float64)
    out = corners @ mat[:2, :2].T + mat[:2, 2]
    return out.reshape(-1, 4).astype(np.float32)


@TRANSFORMS.register_module()
class CenterAffine(RandomSourceMixin, BaseTransform):
    """Warps the image to the network input as official CenterNet (train and test).

    Test (no randomness): ``input_size`` with the long side fit (``fix_res``), or
    ``keep_res=True``: the image at its size padded to a multiple of ``pad_divisor``.
    Train: the source size is multiplied by a random factor from ``random_scales``, the center
    is drawn at least ``get_border(border)`` pixels inside the image, and the image is flipped
    left-right with probability ``flip_prob`` (box x mapped as ``w - 1 - x``, as officially).
    Instead of ``random_scales`` (official ``not_rand_crop``) ``shift`` / ``scale`` give the
    gaussian jitter of the official alternative, in the registered ``jitter_style``
    (:func:`register_jitter_style`; the 3D one lives in ``transforms/mono3d.py``). With
    ``crop_size`` the random window is ``crop_size`` times the random scale instead of the
    long side times it (CornerNet's and Keypoint Triplets' ``random_crop``: a ``511 * scale``
    window resized to 511).

    Adds ``affine_matrix`` (3x3, original -> input pixels), ``img_shape``, ``scale_factor``,
    ``flip``, ``flip_direction`` and ``jittered`` (whether a random crop / scale / shift was
    applied: the 3D task does not supervise depth and size on such images). Boxes are mapped
    but not clipped: the target encoder clips them at the output stride, as the official
    code does. The other annotations (keypoints, 3D boxes, ...) go through the mappers their
    task files register for their results key (:func:`register_affine_mapper`).

    Args:
        input_size: ``(width, height)`` of the network input when not ``keep_res``.
        keep_res: Keep the resolution and pad to ``pad_divisor`` (official ``--keep_res``).
        pad_divisor: See ``keep_res`` (official ``pad`` 31 + 1 = 32; 128 for Hourglass).
        random_scales: Candidate scale factors, e.g. ``np.arange(0.6, 1.4, 0.1)``; None to
            disable random cropping.
        border: Official crop border (128).
        shift: Gaussian center jitter (fraction of the size) when ``random_scales`` is None.
        scale: Gaussian scale jitter when ``random_scales`` is None.
        flip_prob: Probability of a horizontal flip.
        crop_size: Side of the random crop window before scaling (e.g. 511 for Keypoint
            Triplets); None (official CenterNet) uses the image's long side.
        scale_ratio: Test scale (multi-scale test): the image is first resized by this
            factor (``cv2.resize`` to ``int(h * r), int(w * r)``), as the official
            ``pre_process``; with ``keep_res`` the input follows the resized size, else the
            source square keeps the original long side.
        backmap: How ``affine_matrix`` accounts for that resize, i.e. how predictions are
            mapped back to the original image: ``'official'`` divides by ``scale_ratio``
            as the official ``post_process`` does, although ``int()`` made the resized
            image slightly smaller (up to ~2 px off at 0.5 on the far side); ``'exact'``
            uses the true ratios ``new_w / w`` and ``new_h / h``.
        jitter_prob: Probability that an image gets the ``shift`` / ``scale`` jitter
            (official ``aug_ddd`` 0.5 for 3D; 1 otherwise).
        jitter_style: A registered jitter: ``'ctdet'`` (shift first, relative to the source
            size) or ``'ddd'`` (``transforms/mono3d.py``).
    """

    BACKMAP_MODES = ('official', 'exact')

    def __init__(self, input_size: Tuple[int, int] = (512, 512), keep_res: bool = False,
                 pad_divisor: int = 32, random_scales: Optional[Sequence[float]] = None,
                 border: int = 128, shift: float = 0.0, scale: float = 0.0,
                 flip_prob: float = 0.0, scale_ratio: float = 1.0,
                 backmap: str = 'official', crop_size: Optional[int] = None,
                 jitter_prob: float = 1.0, jitter_style: str = 'ctdet') -> None:
        if backmap not in self.BACKMAP_MODES:
            raise ValueError(f'CenterAffine.backmap must be one of {self.BACKMAP_MODES}, '
                             f'got {backmap!r}')
        if jitter_style not in JITTER_STYLES:
            raise ValueError(f'CenterAffine.jitter_style must be one of {tuple(JITTER_STYLES)}'
                             f', got {jitter_style!r}')
        self.backmap = backmap
        self.input_size = tuple(input_size)
        self.keep_res = keep_res
        self.pad_divisor = pad_divisor
        self.random_scales = None if random_scales is None else [float(s) for s in random_scales]
        self.border = border
        self.shift = shift
        self.scale = scale
        self.flip_prob = flip_prob
        self.scale_ratio = scale_ratio
        self.crop_size = crop_size
        self.jitter_prob = jitter_prob
        self.jitter_style = jitter_style

    @property
    def is_random(self) -> bool:
        return (self.random_scales is not None or self.shift > 0 or self.scale > 0
                or self.flip_prob > 0)

    def _source_square(self, height: int, width: int, long_side: int
                       ) -> Tuple[np.ndarray, np.ndarray, Tuple[int, int]]:
        """Center, source size and output size before any randomness.

        The official test code centers ``keep_res`` inputs at ``(w // 2, h // 2)``; its
        training code (and ``fix_res`` testing) at ``(w / 2, h / 2)``.
        """
        if self.keep_res and not self.is_random:
            center = np.array([width // 2, height // 2], dtype=np.float32)
        else:
            center = np.array([width / 2., height / 2.], dtype=np.float32)
        if self.keep_res:
            pad = self.pad_divisor - 1
            out = ((width | pad) + 1, (height | pad) + 1)
            size = np.array(out, dtype=np.float32)
        else:
            out = self.input_size
            size = np.array([long_side] * 2, dtype=np.float32)
        return center, size, out

    def _randomise(self, center: np.ndarray, size: np.ndarray, height: int,
                   width: int) -> np.ndarray:
        """Official random crop (scale + center) or gaussian shift/scale jitter."""
        if self.random_scales is not None:
            size = size * self.random.choice(self.random_scales)
            w_border = get_border(self.border, width)
            h_border = get_border(self.border, height)
            center[0] = self.random.randint(low=w_border, high=width - w_border)
            center[1] = self.random.randint(low=h_border, high=height - h_border)
        else:
            size = JITTER_STYLES[self.jitter_style](self, center, size, height, width)
        return size

    def transform(self, results: dict) -> dict:
        img = results['img']
        long_side = max(img.shape[:2])
        resize = np.eye(3)
        if self.scale_ratio != 1.0:
            img, resize = self._resize(img, self.scale_ratio, self.backmap)
        height, width = img.shape[:2]
        center, size, out_size = self._source_square(height, width, long_side)
        if self.crop_size is not None and self.random_scales is not None:
            size = np.array([self.crop_size] * 2, dtype=np.float32)
        before = np.concatenate([center, size])
        size = self._randomise(center, size, height, width)
        jittered = not np.array_equal(before, np.concatenate([center, size]))
        flipped = self.flip_prob > 0 and self.random.random() < self.flip_prob
        if flipped:
            img = img[:, ::-1]
            center[0] = width - center[0] - 1
        warp = affine_matrix(center, size[0], out_size)
        mat = (warp @ hflip_matrix(width) if flipped else warp) @ resize
        results['img'] = cv2.warpAffine(np.ascontiguousarray(img), warp[:2], out_size,
                                        flags=cv2.INTER_LINEAR)
        results['img_shape'] = (out_size[1], out_size[0])
        results['affine_matrix'] = mat.astype(np.float32)
        k = out_size[0] / float(size[0])
        results['scale_factor'] = (k, k)
        results['flip'] = bool(flipped)
        results['flip_direction'] = 'horizontal' if flipped else None
        results['jittered'] = jittered
        if results.get('gt_bboxes') is not None:
            self._map_boxes(results, mat, flipped)
        for key, mapper in AFFINE_MAPPERS.items():
            if results.get(key) is not None:
                mapper(results, mat, flipped, width, out_size)
        return results

    @staticmethod
    def _resize(img: np.ndarray, ratio: float,
                backmap: str = 'official') -> Tuple[np.ndarray, np.ndarray]:
        """Official test-scale resize; returns the image and its 3x3 matrix (see
        ``backmap``)."""
        height, width = img.shape[:2]
        new_w, new_h = int(width * ratio), int(height * ratio)
        resized = cv2.resize(img, (new_w, new_h))
        if backmap == 'official':
            return resized, np.diag([ratio, ratio, 1.0])
        return resized, np.diag([new_w / width, new_h / height, 1.0])

    @staticmethod
    def _map_boxes(results: dict, mat: np.ndarray, flipped: bool) -> None:
        boxes = results['gt_bboxes']
        array = boxes.numpy() if hasattr(boxes, 'numpy') else np.asarray(boxes)
        mapped = transform_bboxes(array, mat)
        if flipped:  # the flip swaps left and right corners
            mapped = mapped[:, [2, 1, 0, 3]]
        results['gt_bboxes'] = type(boxes)(mapped) if hasattr(boxes, 'numpy') else mapped

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_size={self.input_size}, '
                f'keep_res={self.keep_res}, random_scales={self.random_scales}, '
                f'flip_prob={self.flip_prob}, scale_ratio={self.scale_ratio}, '
                f'backmap={self.backmap!r})')


@register_jitter_style('ctdet')
def ctdet_jitter(t: CenterAffine, center: np.ndarray, size: np.ndarray, height: int,
                 width: int) -> np.ndarray:
    """The official ``CTDetDataset`` jitter (``not_rand_crop``): for a ``jitter_prob`` share
    of the images, the shift first, relative to the source size, then the scale."""
    if (t.shift > 0 or t.scale > 0) and (t.jitter_prob >= 1 or t.random.random() < t.jitter_prob):
        cf, sf = t.shift, t.scale
        center[0] += size[0] * np.clip(t.random.randn() * cf, -2 * cf, 2 * cf)
        center[1] += size[0] * np.clip(t.random.randn() * cf, -2 * cf, 2 * cf)
        size = size * np.clip(t.random.randn() * sf + 1, 1 - sf, 1 + sf)
    return size


@TRANSFORMS.register_module()
class CenterNetColorAug(RandomSourceMixin, BaseTransform):
    """Official colour augmentation: brightness, contrast, saturation (random order,
    strength 0.4 each) and PCA lighting (std 0.1) on the 0-1 BGR image.

    The output stays float32 in the 0-255 range (not clipped, as officially), so the data
    preprocessor's mean/std are the official ones times 255.

    Args:
        strength: Range of the three blend factors (official 0.4).
        lighting_std: Std of the PCA lighting coefficients (official 0.1).
        eig_val / eig_vec: PCA of the training colours (official COCO values by default).
    """

    COCO_EIG_VAL = (0.2141788, 0.01817699, 0.00341571)
    COCO_EIG_VEC = ((-0.58752847, -0.69563484, 0.41340352),
                    (-0.5832747, 0.00994535, -0.81221408),
                    (-0.56089297, 0.71832671, 0.41158938))

    def __init__(self, strength: float = 0.4, lighting_std: float = 0.1,
                 eig_val: Sequence[float] = COCO_EIG_VAL,
                 eig_vec: Sequence[Sequence[float]] = COCO_EIG_VEC) -> None:
        self.strength = strength
        self.lighting_std = lighting_std
        self.eig_val = np.asarray(eig_val, dtype=np.float32)
        self.eig_vec = np.asarray(eig_vec, dtype=np.float32)

    def _factor(self) -> float:
        return 1. + self.random.uniform(low=-self.strength, high=self.strength)

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32) / 255.
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        gray_mean = gray.mean()
        for op in self.random.permutation(3):
            alpha = self._factor()
            if op == 0:  # brightness
                img = img * alpha
            elif op == 1:  # contrast
                img = img * alpha + gray_mean * (1 - alpha)
            else:  # saturation
                img = img * alpha + gray[:, :, None] * (1 - alpha)
        coeffs = self.random.normal(scale=self.lighting_std, size=(3, ))
        # the official in-place ``image += dot(eigvec, eigval * alpha)`` adds in float64
        img = (img + self.eig_vec @ (self.eig_val * coeffs)).astype(np.float32)
        results['img'] = (img * 255.).astype(np.float32)
        return results
