"""The official CenterNet input transform: one affine warp for scale, shift, crop and pad.

mmdet's CenterNet uses ``RandomCenterCropPad`` instead, which samples crops differently; these
transforms follow the official ``CTDetDataset`` so trained models match the paper.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmcenternet.registry import TRANSFORMS
from .mono3d import flip_mono3d_annotations


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
class CenterAffine(BaseTransform):
    """Warps the image to the network input as official CenterNet (train and test).

    Test (no randomness): ``input_size`` with the long side fit (``fix_res``), or
    ``keep_res=True``: the image at its size padded to a multiple of ``pad_divisor``.
    Train: the source size is multiplied by a random factor from ``random_scales``, the center
    is drawn at least ``get_border(border)`` pixels inside the image, and the image is flipped
    left-right with probability ``flip_prob`` (box x mapped as ``w - 1 - x``, as officially).
    Instead of ``random_scales`` (official ``not_rand_crop``) ``shift`` / ``scale`` give the
    gaussian jitter of the official alternative; ``jitter_prob`` / ``jitter_style='ddd'``
    give the official 3D task's variant (applied to a fraction of the images, scale drawn
    first, the shift relative to the image width and height).

    Adds ``affine_matrix`` (3x3, original -> input pixels), ``img_shape``, ``scale_factor``,
    ``flip``, ``flip_direction`` and ``jittered`` (whether a random crop / scale / shift was
    applied: the 3D task does not supervise depth and size on such images). Boxes are mapped
    but not clipped: the target encoder clips them at the output stride, as the official
    code does. 3D annotations (``gt_bboxes_3d``, ``gt_alphas``) stay in camera coordinates
    (``cam2img`` stays the original image's calibration, the network input's camera being
    ``affine_matrix @ cam2img``); a flip mirrors them (:func:`flip_mono3d_annotations`).

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
        scale_ratio: Test scale (multi-scale test): the image is first resized by this
            factor (``cv2.resize`` to ``int(h * r), int(w * r)``), as the official
            ``pre_process``; with ``keep_res`` the input follows the resized size, else the
            source square keeps the original long side.
        jitter_prob: Probability that an image gets the ``shift`` / ``scale`` jitter
            (official ``aug_ddd`` 0.5 for 3D; 1 otherwise).
        jitter_style: ``'ctdet'`` (shift first, relative to the source size) or ``'ddd'``
            (the official ``DddDataset``: a uniform draw against ``jitter_prob`` for every
            image, then the scale, then the shift relative to the image width / height).
    """

    JITTER_STYLES = ('ctdet', 'ddd')

    def __init__(self, input_size: Tuple[int, int] = (512, 512), keep_res: bool = False,
                 pad_divisor: int = 32, random_scales: Optional[Sequence[float]] = None,
                 border: int = 128, shift: float = 0.0, scale: float = 0.0,
                 flip_prob: float = 0.0, scale_ratio: float = 1.0, jitter_prob: float = 1.0,
                 jitter_style: str = 'ctdet') -> None:
        if jitter_style not in self.JITTER_STYLES:
            raise ValueError(f'CenterAffine.jitter_style must be one of {self.JITTER_STYLES}, '
                             f'got {jitter_style!r}')
        self.input_size = tuple(input_size)
        self.keep_res = keep_res
        self.pad_divisor = pad_divisor
        self.random_scales = None if random_scales is None else [float(s) for s in random_scales]
        self.border = border
        self.shift = shift
        self.scale = scale
        self.flip_prob = flip_prob
        self.scale_ratio = scale_ratio
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
            size = size * np.random.choice(self.random_scales)
            w_border = get_border(self.border, width)
            h_border = get_border(self.border, height)
            center[0] = np.random.randint(low=w_border, high=width - w_border)
            center[1] = np.random.randint(low=h_border, high=height - h_border)
        elif self.jitter_style == 'ddd':
            if np.random.random() < self.jitter_prob:
                sf, cf = self.scale, self.shift
                size = size * np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
                center[0] += width * np.clip(np.random.randn() * cf, -2 * cf, 2 * cf)
                center[1] += height * np.clip(np.random.randn() * cf, -2 * cf, 2 * cf)
        elif (self.shift > 0 or self.scale > 0) and (
                self.jitter_prob >= 1 or np.random.random() < self.jitter_prob):
            cf, sf = self.shift, self.scale
            center[0] += size[0] * np.clip(np.random.randn() * cf, -2 * cf, 2 * cf)
            center[1] += size[0] * np.clip(np.random.randn() * cf, -2 * cf, 2 * cf)
            size = size * np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
        return size

    def transform(self, results: dict) -> dict:
        img = results['img']
        long_side = max(img.shape[:2])
        resize = np.eye(3)
        if self.scale_ratio != 1.0:
            img, resize = self._resize(img, self.scale_ratio)
        height, width = img.shape[:2]
        center, size, out_size = self._source_square(height, width, long_side)
        before = np.concatenate([center, size])
        size = self._randomise(center, size, height, width)
        jittered = not np.array_equal(before, np.concatenate([center, size]))
        flipped = self.flip_prob > 0 and np.random.random() < self.flip_prob
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
        if flipped and results.get('gt_alphas') is not None:
            flip_mono3d_annotations(results, width)
        return results

    @staticmethod
    def _resize(img: np.ndarray, ratio: float) -> Tuple[np.ndarray, np.ndarray]:
        """Official test-scale resize; returns the image and its 3x3 matrix."""
        height, width = img.shape[:2]
        new_w, new_h = int(width * ratio), int(height * ratio)
        resized = cv2.resize(img, (new_w, new_h))
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
                f'flip_prob={self.flip_prob}, scale_ratio={self.scale_ratio})')


@TRANSFORMS.register_module()
class CenterNetColorAug(BaseTransform):
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
        return 1. + np.random.uniform(low=-self.strength, high=self.strength)

    def transform(self, results: dict) -> dict:
        img = results['img'].astype(np.float32) / 255.
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        gray_mean = gray.mean()
        for op in np.random.permutation(3):
            alpha = self._factor()
            if op == 0:  # brightness
                img = img * alpha
            elif op == 1:  # contrast
                img = img * alpha + gray_mean * (1 - alpha)
            else:  # saturation
                img = img * alpha + gray[:, :, None] * (1 - alpha)
        coeffs = np.random.normal(scale=self.lighting_std, size=(3, ))
        img = img + (self.eig_vec @ (self.eig_val * coeffs)).astype(np.float32)
        results['img'] = (img * 255.).astype(np.float32)
        return results
