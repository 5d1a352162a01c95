"""Downloading and caching pretrained checkpoints, checked, then loaded weights-only.

Files are cached where ``torch.hub`` and mmengine cache theirs:
``<torch.hub.get_dir()>/checkpoints`` (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), so a file that torchvision or mmengine already downloaded
is reused and vice versa.

Why not mmengine's ``http://`` loader (``torch.hub.load_state_dict_from_url``): it neither
checks the length of the download nor (as mmengine calls it) the SHA-256 prefix in the file
name, so a truncated transfer is cached under the final name and every later run fails on it;
and it calls ``torch.load`` directly, which cannot read the legacy ``.tar`` format of the
official ImageNet ResNets with ``weights_only=True``. (``install_safe_checkpoint_loaders``
replaces mmengine's http(s) scheme with this download too, so ``load_from`` and
``Pretrained`` URLs get the same checks, without the hash check.) Here a download goes to a temporary file,
its length is checked against ``Content-Length`` and its SHA-256 against the hash in the name
(``resnet18-5c106cde.pth``: the first hex digits of the SHA-256, the convention of
``torch.hub`` that the official code's ``model_zoo.load_url`` enforced), and only then is it
renamed into the cache; the cached file is loaded with
:func:`mmcenternet.utils.checkpoint.safe_torch_load`.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import os.path as osp
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional, Tuple

import torch

from .checkpoint import (CheckpointError, CheckpointNotFoundError, safe_torch_load,
                         temp_path_for)

__all__ = ['default_cache_dir', 'is_url', 'hash_prefix_of', 'download_to_cache',
           'resolve_checkpoint', 'load_pretrained_checkpoint']

#: ``name-<hex>.ext``: the SHA-256 prefix in a file name (as ``torch.hub.HASH_REGEX``).
_HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,64})\.')
_CHUNK = 1 << 20


def default_cache_dir() -> str:
    """``<torch hub dir>/checkpoints``, the cache of torch.hub and mmengine."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def is_url(checkpoint: str) -> bool:
    """Whether ``checkpoint`` is an http(s) URL."""
    return checkpoint.startswith(('http://', 'https://'))


def hash_prefix_of(name: str) -> Optional[str]:
    """The SHA-256 prefix a file name carries (``resnet18-5c106cde.pth`` -> ``5c106cde``)."""
    match = _HASH_IN_NAME.search(osp.basename(name))
    return match.group(1) if match else None


def _fetch(url: str, dst: str, expected_sha256: Optional[str], timeout: float) -> None:
    """Downloads ``url`` to ``dst`` through a temporary file in the same folder.

    Raises:
        CheckpointError: Network / HTTP failure, a short transfer or a hash mismatch;
            nothing is left at ``dst`` then.
    """
    tmp = temp_path_for(dst)
    request = urllib.request.Request(url, headers={'User-Agent': 'mmcenternet'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, \
                open(tmp, 'wb') as out:
            length = response.headers.get('Content-Length')
            expected_size = int(length) if length and length.isdigit() else None
            digest = hashlib.sha256()
            size = 0
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if expected_size is not None and size != expected_size:
            raise CheckpointError(
                f'{url}: download truncated: received {size} of {expected_size} bytes; '
                'nothing was cached, run again to retry.')
        if expected_sha256 and not digest.hexdigest().startswith(expected_sha256):
            raise CheckpointError(
                f'{url}: corrupt or wrong download: its SHA-256 {digest.hexdigest()[:16]}... '
                f'does not start with {expected_sha256}, the hash in the file name; nothing '
                'was cached (check_hash=False skips this check).')
        os.replace(tmp, dst)
    except urllib.error.HTTPError as exc:
        raise CheckpointError(
            f'{url}: download failed: HTTP {exc.code} {exc.reason}.') from exc
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout,
            ConnectionError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise CheckpointError(
            f'{url}: download failed ({type(exc).__name__}: {reason}). Without network '
            f'access, download the file elsewhere and put it at {dst}.') from exc
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def _local_rank() -> Tuple[int, int]:
    """``(local rank, world size)`` from mmengine (``LOCAL_RANK`` set by torchrun)."""
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    return int(os.environ.get('LOCAL_RANK', rank)), world_size


def download_to_cache(url: str, cache_dir: Optional[str] = None, check_hash: bool = True,
                      timeout: float = 60.0) -> Tuple[str, bool]:
    """The cached copy of ``url``, downloading it first if needed.

    In distributed runs the local rank 0 process downloads while the others wait at a
    barrier (as mmengine's ``load_from_http``).

    Args:
        url: An http(s) URL whose last path part is the file name.
        cache_dir: The cache folder; :func:`default_cache_dir` when ``None``.
        check_hash: Verify the SHA-256 prefix that the file name carries, if any.
        timeout: Seconds to wait for the server (per blocking operation).

    Returns:
        ``(path, downloaded)``: the cached file and whether this call downloaded it.

    Raises:
        CheckpointError: The download failed or was truncated or corrupt.
    """
    name = osp.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise CheckpointError(f'{url}: the URL names no file.')
    cache_dir = cache_dir or default_cache_dir()
    dst = osp.join(cache_dir, name)
    expected = hash_prefix_of(name) if check_hash else None
    local_rank, world_size = _local_rank()
    error: Optional[CheckpointError] = None
    downloaded = False
    # Every rank reaches the barrier, whether or not the file was already cached.
    if local_rank == 0 and not osp.isfile(dst):
        from mmengine.logging import print_log
        print_log(f'downloading {url} to {dst}', logger='current')
        try:
            os.makedirs(cache_dir, exist_ok=True)
            _fetch(url, dst, expected, timeout)
            downloaded = True
        except (CheckpointError, OSError) as exc:
            error = exc if isinstance(exc, CheckpointError) else CheckpointError(
                f'{url}: cannot write the cache folder {cache_dir}: {exc}')
    if world_size > 1:
        from mmengine.dist import barrier
        barrier()
    if error is not None:
        raise error
    if not osp.isfile(dst):  # a local rank > 0 on a node whose rank 0 failed
        os.makedirs(cache_dir, exist_ok=True)
        _fetch(url, dst, expected, timeout)
        downloaded = True
    return dst, downloaded


def resolve_checkpoint(checkpoint: str, cache_dir: Optional[str] = None,
                       check_hash: bool = True) -> Tuple[str, bool]:
    """A local file for ``checkpoint``: a URL (downloaded and cached), a path, or a bare
    file name looked up in the cache folder.

    Returns:
        ``(path, downloaded)``.

    Raises:
        CheckpointNotFoundError: A path / name that exists neither as given nor in the cache.
        CheckpointError: A failed download.
    """
    if is_url(checkpoint):
        return download_to_cache(checkpoint, cache_dir, check_hash)
    path = osp.expanduser(checkpoint)
    if osp.isfile(path):
        return path, False
    cache_dir = cache_dir or default_cache_dir()
    cached = osp.join(cache_dir, checkpoint)
    if osp.dirname(checkpoint) == '' and osp.isfile(cached):
        return cached, False
    where = [osp.abspath(path)] + ([cached] if osp.dirname(checkpoint) == '' else [])
    raise CheckpointNotFoundError(
        f'{checkpoint}: checkpoint file does not exist (looked at {", ".join(where)}).')


def load_pretrained_checkpoint(checkpoint: str, cache_dir: Optional[str] = None,
                               check_hash: bool = True, map_location: Any = 'cpu') -> Any:
    """Resolves ``checkpoint`` (see :func:`resolve_checkpoint`) and loads it weights-only.

    A freshly downloaded file that cannot be loaded is removed from the cache, so that the
    next run downloads it again; a file already in the cache is left alone and named in the
    error.

    Raises:
        CheckpointError: Resolution, download or loading failed (unsafe, truncated or not a
            checkpoint).
    """
    path, downloaded = resolve_checkpoint(checkpoint, cache_dir, check_hash)
    try:
        return safe_torch_load(path, map_location=map_location, name=checkpoint)
    except CheckpointError as exc:
        if downloaded:
            with contextlib.suppress(OSError):
                os.remove(path)
            note = 'the downloaded file was removed from the cache'
        else:
            note = f'loaded from {path}; delete that file to download it again' \
                if is_url(checkpoint) else f'loaded from {path}'
        raise CheckpointError(f'{exc} ({note})') from exc
