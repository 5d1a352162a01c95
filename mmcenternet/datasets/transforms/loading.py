"""Image loading that names the bad file, or skips it.

mmcv's ``LoadImageFromFile`` reports a missing file as a bare ``[Errno 2]``
from deep inside the file backend and a corrupt one as ``AssertionError:
failed to load image`` (or not at all: ``cv2.imdecode`` returns None).
"""
from __future__ import annotations

import logging
import os.path as osp
import warnings
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from mmcenternet.registry import TRANSFORMS

__all__ = ['LoadImageFromFileSafe', 'BadImageWarning']


class BadImageWarning(UserWarning):
    """An image could not be read and its sample was skipped."""


@TRANSFORMS.register_module()
class LoadImageFromFileSafe(LoadImageFromFile):
    """``LoadImageFromFile`` with clear errors for missing / corrupt images.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.

    Args:
        skip_bad: Instead of raising, warn with the path and return None;
            mmengine's ``BaseDataset`` then draws another sample (training
            only: in test mode a None sample is an error).
        **kwargs: Arguments of mmcv's ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``backend_args``, ...).

    Raises:
        FileNotFoundError: The image does not exist (full path given).
        ValueError: The file is empty or cannot be decoded as an image.
    """

    def __init__(self, skip_bad: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.skip_bad = skip_bad

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
            raise ValueError(f'cannot read image file {shown}: '
                             f'{exc.strerror or exc}.') from exc
        if not data:
            raise ValueError(f'image file {shown} is empty.')
        try:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as exc:  # noqa: BLE001 - decoders raise anything
            raise ValueError(f'cannot decode image file {shown} '
                             f'({type(exc).__name__}: {exc}).') from exc
        if img is None or img.size == 0:
            raise ValueError(f'cannot decode image file {shown}: corrupt or '
                             'not an image.')
        return img

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
        except (FileNotFoundError, ValueError) as exc:
            if not (self.skip_bad or self.ignore_empty):
                raise
            message = f'skipped a sample: {exc}'
            warnings.warn(message, BadImageWarning, stacklevel=2)
            print_log(message, logger='current', level=logging.WARNING)
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', skip_bad={self.skip_bad})'
