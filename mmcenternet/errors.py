"""Every error of mmcenternet that a user can cause and fix, on one base.

The tools' handler (:class:`mmcenternet.utils.cli.friendly_errors`) shows any
:class:`MMCenterNetError` as one ``error: ...`` line (exit code 2) instead of a traceback.
A second, builtin base is kept where callers (ours, mmengine's or a user's) catch that
builtin: ``ValueError`` for bad input, ``FileNotFoundError`` for a missing checkpoint (as
mmengine's own loader raises), ``ImportError`` for a broken installation.
"""

__all__ = [
    'MMCenterNetError', 'ConfigError', 'CheckpointError', 'CheckpointNotFoundError',
    'ONNXModelError', 'ConversionError', 'DatasetError', 'ImageReadError', 'ImageSizeError',
    'ExportError', 'NonFiniteLossError', 'WorkDirBusyError', 'EnvironmentError_'
]


class MMCenterNetError(Exception):
    """The base of every error below."""


class ConfigError(MMCenterNetError, ValueError):
    """A config file, a ``--cfg-options`` entry, a tool option or an input file the tool
    was pointed at (a results pickle, a training log, a file to convert) is invalid."""


class CheckpointError(MMCenterNetError, RuntimeError):
    """A checkpoint file is missing, unreadable, unsafe or does not fit the model."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist."""


class ONNXModelError(CheckpointError):
    """An ONNX model file is unreadable or does not fit the config it is run with."""


class ConversionError(MMCenterNetError, ValueError):
    """A foreign state dict (official CenterNet, mmdet, Duan, ImageNet backbone) cannot be
    mapped: unknown architecture or keys without a mapping."""


class DatasetError(MMCenterNetError, ValueError):
    """An annotation / ground-truth file is missing, malformed or leaves no data."""


class ImageReadError(MMCenterNetError, ValueError):
    """An image file cannot be read or decoded."""


class ImageSizeError(ImageReadError):
    """An image's real size differs from its annotation (``size_check='error'``)."""


class ExportError(ConfigError):
    """A config's model cannot be exported to ONNX."""


class NonFiniteLossError(MMCenterNetError, FloatingPointError):
    """A training loss term is NaN or infinite (policy ``'raise'``)."""


class WorkDirBusyError(MMCenterNetError, RuntimeError):
    """Another training holds the work dir."""


class EnvironmentError_(MMCenterNetError, ImportError):
    """The installed OpenMMLab stack cannot run mmcenternet."""
