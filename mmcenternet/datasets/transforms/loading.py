"""Image loading that names the bad file, or skips it, and checks its size.

mmcv's ``LoadImageFromFile`` reports a missing file as a bare ``[Errno 2]``
from deep inside the file backend and a corrupt one as ``AssertionError:
failed to load image`` (or not at all: ``cv2.imdecode`` returns None). And an
image whose real size differs from the ``width`` / ``height`` of its
annotation (a resized copy, an EXIF rotation) goes unnoticed: its boxes are
placed as if the annotation were right. :class:`LoadImageFromFileSafe`
compares the two each time an image is decoded (no extra decoding, so no
cost when the dataset loads) and warns, with a count, or raises.

It is registered as ``LoadImageFromFile`` in the ``mmcenternet`` scope (our child
``TRANSFORMS`` registry; mmcv's and mmdet's registries are left as they are), so a config
names it as mmdet's configs do, ``dict(type='LoadImageFromFile')``, and tools that look for
that name in a test pipeline (mmdet's ``DetInferencer``, which puts its own loader there)
run our configs. ``LoadImageFromFileSafe`` stays an alias of the same class.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from mmcenternet.errors import ImageReadError, ImageSizeError
from mmcenternet.registry import TRANSFORMS
from mmcenternet.utils.messages import warn_and_log

__all__ = ['LoadImageFromFileSafe', 'BadImageWarning', 'ImageSizeWarning', 'SIZE_CHECKS']

#: Values of ``LoadImageFromFileSafe(size_check=...)``.
SIZE_CHECKS = ('warn', 'error', 'off')


class BadImageWarning(UserWarning):
    """An image could not be read and its sample was skipped."""


class ImageSizeWarning(UserWarning):
    """An image's real size differs from its annotation's width / height."""


@TRANSFORMS.register_module(name=['LoadImageFromFile', 'LoadImageFromFileSafe'])
class LoadImageFromFileSafe(LoadImageFromFile):
    """``LoadImageFromFile`` with clear errors for missing / corrupt images.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.

    Args:
        skip_bad: Instead of raising, warn with the path and return None;
            mmengine's ``BaseDataset`` then draws another sample (training
            only: in test mode a None sample is an error).
        size_check: When the sample carries the annotation's ``width`` and
            ``height`` (dataset samples do; inference inputs do not), compare
            them with the decoded image: ``'warn'`` (default) warns naming
            the file and both sizes, with the number of mismatching images
            seen so far by this process (the first 10, then at 100, 1000,
            ...); ``'error'`` raises :class:`ImageSizeError` (or skips the
            sample with ``skip_bad``); ``'off'`` does not compare.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``backend_args``, ...).

    Raises:
        FileNotFoundError: The image does not exist (full path given).
        ImageReadError: The file is empty or cannot be decoded as an image
            (a ``ValueError``), or its size is wrong (``ImageSizeError``,
            with ``size_check='error'``).
    """

    def __init__(self, skip_bad: bool = False, size_check: str = 'warn',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if size_check not in SIZE_CHECKS:
            raise ValueError(f'LoadImageFromFile: size_check must be one '
                             f'of {SIZE_CHECKS}, got {size_check!r}')
        self.skip_bad = skip_bad
        self.size_check = size_check
        self.size_mismatches = 0

    def _read(self, path: str) -> np.ndarray:
        """Read and decode one image, raising with its full path."""
        shown = osp.abspath(path) if '://' not in path else path
        try:
            if self.file_client_args is not None:
                data = fileio.FileClient.infer_client(
                    self.file_client_args, path).get(path)
            else:
                data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f'image file {shown} does not exist.') from exc
        except (IsADirectoryError, PermissionError) as exc:
            raise ImageReadError(f'cannot read image file {shown}: '
                                 f'{exc.strerror or exc}.') from exc
        if not data:
            raise ImageReadError(f'image file {shown} is empty.')
        try:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as exc:  # noqa: BLE001 - decoders raise anything
            raise ImageReadError(f'cannot decode image file {shown} '
                                 f'({type(exc).__name__}: {exc}).') from exc
        if img is None or img.size == 0:
            raise ImageReadError(f'cannot decode image file {shown}: corrupt '
                                 'or not an image.')
        return img

    def _check_size(self, results: dict, img: np.ndarray) -> None:
        """Compare the decoded size with the annotation's width / height."""
        expected = (results.get('height'), results.get('width'))
        if self.size_check == 'off' or None in expected:
            return
        real = img.shape[:2]
        if tuple(real) == tuple(expected):
            return
        path = results['img_path']
        swapped = (' (width and height swapped: an EXIF rotation?)'
                   if tuple(real) == tuple(expected[::-1]) else '')
        what = (f'image {path} is {real[1]}x{real[0]} (width x height) but '
                f'its annotation says {expected[1]}x{expected[0]}{swapped}')
        if self.size_check == 'error':
            raise ImageSizeError(
                f'{what}. Fix the width / height in the annotation file (or '
                "the image), or set LoadImageFromFile(size_check='warn') "
                'to go on with a warning.')
        self.size_mismatches += 1
        count = self.size_mismatches
        if count <= 10 or str(count).strip('0') == '1':  # 1..10, 100, 1000
            message = (f'{what}; its boxes are used as annotated, in the '
                       f'annotation\'s {expected[1]}x{expected[0]} frame. '
                       f'{count} image(s) with a wrong size so far in this '
                       'process (warned for the first 10, then at 100, 1000, '
                       "...); size_check='error' makes this an error.")
            warn_and_log(message, ImageSizeWarning, stacklevel=3)

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']``.

        Args:
            results: The sample dict.

        Returns:
            The sample with the image, or None for a bad image when
            ``skip_bad`` (or mmcv's ``ignore_empty``) is set.
        """
        path = results['img_path']
        try:
            img = self._read(path)
            self._check_size(results, img)
        except (FileNotFoundError, ValueError) as exc:
            if not (self.skip_bad or self.ignore_empty):
                raise
            message = f'skipped a sample: {exc}'
            warn_and_log(message, BadImageWarning)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', skip_bad={self.skip_bad}, '
                f'size_check={self.size_check!r})')
