"""Frames in, frames out: the video and webcam demos' reading, writing and frame-rate text."""
import os
import os.path as osp
import time
from collections import deque
from typing import Iterator, Optional, Tuple, Union

import cv2
import numpy as np

from mmcenternet.errors import ConfigError

#: Container extension -> FourCC of the codec written (all in OpenCV's own FFmpeg/MJPEG).
FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG', '.mkv': 'MJPG', '.mov': 'mp4v'}


def open_capture(source: Union[int, str]) -> cv2.VideoCapture:
    """Opens a ``cv2.VideoCapture``: a camera index, a file, a stream URL, a GStreamer
    pipeline.

    Raises:
        FileNotFoundError: A source that names a missing local file.
        ConfigError: OpenCV cannot open the source.
    """
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if isinstance(source, str) and '://' not in source and not osp.exists(source) \
            and '!' not in source:
        raise FileNotFoundError(f'no video file at {source}')
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        what = f'camera {source}' if isinstance(source, int) else source
        raise ConfigError(f'OpenCV cannot open {what} (a camera index, a video file or a stream '
                      'URL that cv2.VideoCapture reads)')
    return capture


def frames_of(capture: cv2.VideoCapture, max_frames: Optional[int] = None
              ) -> Iterator[np.ndarray]:
    """BGR frames until the source ends (or ``max_frames``)."""
    count = 0
    while max_frames is None or count < max_frames:
        ok, frame = capture.read()
        if not ok:
            return
        count += 1
        yield frame


def video_info(capture: cv2.VideoCapture) -> Tuple[float, int, Tuple[int, int]]:
    """``(fps, frame count, (width, height))``; fps 25 and count 0 when unknown."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return fps, max(count, 0), size


def open_writer(path: str, fps: float, size: Tuple[int, int]) -> cv2.VideoWriter:
    """A ``cv2.VideoWriter`` for ``path`` (codec by extension, see :data:`FOURCC`).

    Raises:
        ConfigError: An extension without a known codec, or a file OpenCV cannot write.
    """
    ext = osp.splitext(path)[1].lower()
    if ext not in FOURCC:
        raise ConfigError(f'--out {path}: the video extension must be one of '
                         f'{", ".join(sorted(FOURCC))}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*FOURCC[ext]), fps, size)
    if not writer.isOpened():
        raise ConfigError(f'OpenCV cannot write {path} with codec {FOURCC[ext]}')
    return writer


class FrameRate:
    """Frames per second over the last ``window`` frames."""

    def __init__(self, window: int = 30) -> None:
        self.times: deque = deque(maxlen=window + 1)

    def tick(self) -> float:
        """Records a frame; returns the current rate (0 before the second frame)."""
        self.times.append(time.perf_counter())
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) / max(self.times[-1] - self.times[0], 1e-9)


def draw_frame_rate(image: np.ndarray, fps: float) -> np.ndarray:
    """Writes ``"NN.N fps"`` in the top-left corner (white on a black box), in place."""
    text = f'{fps:.1f} fps'
    scale = max(image.shape[0] / 480, 0.4)
    thickness = max(int(round(scale * 2)), 1)
    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    cv2.rectangle(image, (0, 0), (width + 8, height + base + 8), (0, 0, 0), -1)
    cv2.putText(image, text, (4, height + 4), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)
    return image
