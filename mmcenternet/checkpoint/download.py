"""Downloads of checkpoints into torch.hub's cache, checked before they are cached.

Files are cached where ``torch.hub`` and mmengine cache theirs,
``<torch.hub.get_dir()>/checkpoints`` (by default ``~/.cache/torch/hub/checkpoints``), so a
file that torchvision or mmengine already downloaded is reused and vice versa. A download is
``torch.hub.download_url_to_file`` (with the SHA-256 check when the file name carries a hash
prefix, ``resnet18-5c106cde.pth``, the convention the official code's ``model_zoo.load_url``
enforced) into a temporary file next to the cache entry, which is loaded before it is renamed
into the cache: a truncated or corrupt transfer (``download_url_to_file`` does not compare
the length with ``Content-Length``) fails to load and is never cached, so the next run
downloads it again.

Why not mmengine's ``http://`` loader (``torch.hub.load_state_dict_from_url``): it caches a
truncated transfer under its final name, passes ``weights_only=False`` to ``torch.load``, and
cannot read the legacy ``.tar`` format of the official ImageNet ResNets weights-only.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import os.path as osp
import re
import socket
import urllib.error
import urllib.parse
from typing import Any, Callable, Optional, Tuple

import torch

from mmcenternet.errors import CheckpointError, CheckpointNotFoundError
from .atomic import temp_path_for

__all__ = ['default_cache_dir', 'is_url', 'hash_prefix_of', 'download_to_cache', 'load_url',
           'find_local']

#: ``name-<hex>.ext``: the SHA-256 prefix in a file name (as ``torch.hub.HASH_REGEX``).
_HASH_IN_NAME = re.compile(r'-([a-f0-9]{8,64})\.')


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


def _fetch(url: str, dst: str, hash_prefix: Optional[str],
           verify: Optional[Callable[[str], Any]]) -> None:
    """Downloads ``url`` to ``dst`` through a temporary file that ``verify`` must accept.

    Raises:
        CheckpointError: Network / HTTP failure, a hash mismatch or a file that ``verify``
            refuses; nothing is left at ``dst`` then.
    """
    tmp = temp_path_for(dst)
    try:
        torch.hub.download_url_to_file(url, tmp, hash_prefix, progress=False)
        if verify is not None:
            try:
                verify(tmp)
            except CheckpointError as exc:
                raise CheckpointError(
                    f'{exc} (a truncated or corrupt transfer: the downloaded file was removed '
                    'from the cache; run again to retry)') from exc
        os.replace(tmp, dst)
    except urllib.error.HTTPError as exc:
        raise CheckpointError(f'{url}: download failed: HTTP {exc.code} {exc.reason}.') from exc
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout,
            ConnectionError) as exc:
        reason = getattr(exc, 'reason', exc)
        raise CheckpointError(
            f'{url}: download failed ({type(exc).__name__}: {reason}). Without network '
            f'access, download the file elsewhere and put it at {dst}.') from exc
    except RuntimeError as exc:  # torch.hub's hash check
        got = re.search(r'got "([0-9a-f]+)"', str(exc))
        if got is None or isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(
            f'{url}: corrupt or wrong download: its SHA-256 {got.group(1)[:16]}... does not '
            f'start with {hash_prefix}, the hash in the file name; nothing was cached '
            '(check_hash=False skips this check).') from exc
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def _local_rank() -> Tuple[int, int]:
    """``(local rank, world size)`` from mmengine (``LOCAL_RANK`` set by torchrun)."""
    from mmengine.dist import get_dist_info
    rank, world_size = get_dist_info()
    return int(os.environ.get('LOCAL_RANK', rank)), world_size


def download_to_cache(url: str, cache_dir: Optional[str] = None, check_hash: bool = True,
                      verify: Optional[Callable[[str], Any]] = None) -> Tuple[str, bool]:
    """The cached copy of ``url``, downloading it first if needed.

    In distributed runs the local rank 0 process downloads while the others wait at a
    barrier (as mmengine's ``load_from_http``); every rank reaches the barrier, cached file
    or not.

    Args:
        url: An http(s) URL whose last path part is the file name.
        cache_dir: The cache folder; :func:`default_cache_dir` when ``None``.
        check_hash: Verify the SHA-256 prefix that the file name carries, if any.
        verify: Called with the downloaded file before it enters the cache; a
            :class:`CheckpointError` from it keeps the file out of the cache.

    Returns:
        ``(path, downloaded)``: the cached file and whether this call downloaded it.
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
    if local_rank == 0 and not osp.isfile(dst):
        from mmengine.logging import print_log
        print_log(f'downloading {url} to {dst}', logger='current')
        try:
            os.makedirs(cache_dir, exist_ok=True)
            _fetch(url, dst, expected, verify)
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
        _fetch(url, dst, expected, verify)
        downloaded = True
    return dst, downloaded


def load_url(url: str, load: Callable[[str], Any], cache_dir: Optional[str] = None,
             check_hash: bool = True) -> Any:
    """``load`` of the cached copy of ``url`` (downloaded and checked first if needed).

    Raises:
        CheckpointError: The download failed, or ``load`` refused the file (a cached file
            that ``load`` refuses is named, with how to download it again).
    """
    loaded = []
    path, downloaded = download_to_cache(url, cache_dir, check_hash,
                                         verify=lambda file: loaded.append(load(file)))
    if loaded:
        return loaded[0]
    try:
        return load(path)
    except CheckpointError as exc:
        raise CheckpointError(f'{exc} (loaded from {path}; delete that file to download it '
                              'again)') from exc


def find_local(checkpoint: str, cache_dir: Optional[str] = None) -> str:
    """A local file for a path, or for a bare file name in the cache folder.

    Raises:
        CheckpointNotFoundError: Neither exists (the message lists where it looked).
    """
    path = osp.expanduser(checkpoint)
    if osp.isfile(path):
        return path
    cached = osp.join(cache_dir or default_cache_dir(), checkpoint)
    bare = osp.dirname(checkpoint) == ''
    if bare and osp.isfile(cached):
        return cached
    where = [osp.abspath(path)] + ([cached] if bare else [])
    raise CheckpointNotFoundError(
        f'{checkpoint}: checkpoint file does not exist (looked at {", ".join(where)}).')
