"""Training curves and times from mmengine's ``vis_data/scalars.json``.

mmengine writes one JSON object per line to ``<work_dir>/<timestamp>/vis_data/scalars.json``:
training lines carry ``epoch`` (epoch-based loops), ``iter`` (the global iteration),
``step``, ``lr``, ``time``, ``data_time``, ``loss`` and each loss term (``loss_heatmap``,
``loss_wh``, ...); validation lines carry the metrics (``coco/bbox_mAP``, ...) and ``step``
(the epoch for epoch-based loops, the iteration otherwise). mmdet's own
``analyze_logs.py`` (in its repository, not in the pip package) reads the older ``.log.json``
layout; this module reads ``scalars.json`` and is what ``tools/analysis_tools/analyze_logs.py``
runs.

A run resumed into the same work dir writes a new ``<timestamp>`` folder: a work dir is read
as all of its runs in time order, a later run's lines replacing an earlier run's at the same
step (the steps it re-ran).
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmcenternet.errors import ConfigError

SCALARS = osp.join('vis_data', 'scalars.json')


@dataclass
class TrainingLog:
    """The lines of one run (or of a work dir's runs), split into training and validation.

    Attributes:
        name: What the run is called in legends (its work dir or file).
        train: Training lines, by increasing ``iter``.
        val: Validation lines, by increasing ``step``.
        sources: The ``scalars.json`` files read.
    """

    name: str
    train: List[dict] = field(default_factory=list)
    val: List[dict] = field(default_factory=list)
    sources: List[str] = field(default_factory=list)

    @property
    def by_epoch(self) -> bool:
        return bool(self.train) and all('epoch' in row for row in self.train)

    def keys(self) -> Tuple[List[str], List[str]]:
        """``(training keys, validation keys)`` that hold numbers."""
        def numeric(rows):
            names = []
            for row in rows:
                names += [k for k, v in row.items() if k not in names and
                          isinstance(v, (int, float)) and k not in ('epoch', 'iter', 'step')]
            return names
        return numeric(self.train), numeric(self.val)


def scalars_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a path: the file itself, a ``<timestamp>`` folder, or
    a work dir (all its runs, oldest first).

    Raises:
        ConfigError: When there is none.
    """
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise ConfigError(f'no log at {path} (give a scalars.json file, a run folder or a '
                       'work dir)')
    own = osp.join(path, SCALARS)
    if osp.isfile(own):
        return [own]
    runs = sorted(glob.glob(osp.join(path, '*', SCALARS)))
    if not runs:
        raise ConfigError(f'{path} holds no {SCALARS} (nor */{SCALARS}): was it written by '
                       'an mmengine Runner with the LocalVisBackend?')
    return runs


def read_scalars(path: str) -> List[dict]:
    """The JSON objects of one ``scalars.json``, one per line.

    Raises:
        ConfigError: A line that is not a JSON object (file and line number named).
    """
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f'{path}, line {number}: not JSON ({err.msg})') from err
            if not isinstance(row, dict) or 'step' not in row:
                raise ConfigError(f'{path}, line {number}: not an mmengine scalars line (an '
                               'object with a "step")')
            rows.append(row)
    return rows


def load_log(path: str, name: Optional[str] = None) -> TrainingLog:
    """Reads a ``scalars.json``, a run folder or a work dir (see :func:`scalars_files`)."""
    log = TrainingLog(name or osp.basename(osp.normpath(path)))
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for source in scalars_files(path):
        log.sources.append(source)
        for row in read_scalars(source):
            if 'iter' in row:  # training lines carry the global iteration
                train[row['iter']] = row
            else:
                val[row['step']] = row
    log.train = [train[k] for k in sorted(train)]
    log.val = [val[k] for k in sorted(val)]
    return log


def epoch_positions(train: Sequence[dict]) -> np.ndarray:
    """Each training line's position in epochs (``2.5``: half-way through epoch 3).

    An epoch spans from the last iteration logged in the previous epoch to its own last
    logged iteration (mmengine always logs an epoch's last iteration); the first epoch of
    a log starts at iteration 0, or one epoch length before its end when the log starts
    later (a resumed run).
    """
    ends: Dict[int, int] = {}
    for row in train:
        ends[row['epoch']] = max(ends.get(row['epoch'], 0), row['iter'])
    epochs = sorted(ends)
    lengths = [ends[b] - ends[a] for a, b in zip(epochs, epochs[1:]) if b == a + 1]
    length = float(np.median(lengths)) if lengths else float(ends[epochs[0]])
    xs = []
    for row in train:
        epoch = row['epoch']
        end = ends[epoch]
        start = ends.get(epoch - 1, end - length if epoch > 1 else 0)
        xs.append(epoch - 1 + (row['iter'] - start) / max(end - start, 1e-9))
    return np.asarray(xs, dtype=np.float64)


def curve(log: TrainingLog, key: str, axis: str) -> Tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one key: a training key against ``iter`` / epochs, a validation key
    against its epoch / the iteration it was run after.

    Raises:
        ConfigError: A key the log does not have, or an epoch axis for an iteration-based run.
    """
    train_keys, val_keys = log.keys()
    if axis not in ('iter', 'epoch'):
        raise ConfigError(f'--x-axis must be iter or epoch, got {axis}')
    if axis == 'epoch' and not log.by_epoch:
        raise ConfigError(f'{log.name}: the training loop is iteration-based; use --x-axis iter')
    if key in train_keys:
        has = np.array([key in r for r in log.train])
        y = np.array([r[key] for r in log.train if key in r], dtype=np.float64)
        x = (np.array([r['iter'] for r in log.train], dtype=np.float64) if axis == 'iter'
             else epoch_positions(log.train))
        return x[has], y
    if key in val_keys:
        rows = [r for r in log.val if key in r]
        y = np.array([r[key] for r in rows], dtype=np.float64)
        steps = np.array([r['step'] for r in rows], dtype=np.float64)
        if axis == 'iter' and log.by_epoch:
            last_iter = {}
            for r in log.train:
                last_iter[r['epoch']] = max(last_iter.get(r['epoch'], 0), r['iter'])
            steps = np.array([last_iter.get(int(s), np.nan) for s in steps])
        return steps, y
    raise ConfigError(f'{log.name} has no key {key!r}; training keys: {", ".join(train_keys)}; '
                   f'validation keys: {", ".join(val_keys) or "none"}')


def default_keys(log: TrainingLog) -> List[str]:
    """Every loss term, or the first validation metric when there is no loss."""
    train_keys, val_keys = log.keys()
    losses = [k for k in train_keys if k.startswith('loss')]
    return losses or val_keys[:1]


def plot_curves(logs: Sequence[TrainingLog], keys: Optional[Sequence[str]] = None,
                out: Optional[str] = None, axis: Optional[str] = None,
                title: Optional[str] = None, legend: Optional[Sequence[str]] = None,
                style: str = '-'):
    """Plots ``keys`` of every log on one figure (one line per log and key).

    Args:
        logs: The runs.
        keys: Scalars to plot (default: every loss term of the first run).
        out: A PNG / PDF / SVG file to write (any format matplotlib saves).
        axis: ``iter`` or ``epoch`` (default: epochs when the runs are epoch-based and
            only validation metrics are plotted, else iterations).
        title: Figure title.
        legend: One label per line (default ``<run>: <key>``, or ``<key>`` for one run).
        style: Matplotlib line style of training keys (validation keys get markers).

    Returns:
        The matplotlib ``Figure``; each line's label, x and y are on its axes.
    """
    import matplotlib
    if out is not None:
        matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    keys = list(keys or default_keys(logs[0]))
    if axis is None:
        only_val = all(k in log.keys()[1] and k not in log.keys()[0]
                       for log in logs for k in keys)
        axis = 'epoch' if only_val and all(log.by_epoch for log in logs) else 'iter'
    labels = list(legend or [])
    expected = len(logs) * len(keys)
    if labels and len(labels) != expected:
        raise ConfigError(f'--legend needs {expected} labels (runs x keys), got {len(labels)}')
    fig, ax = plt.subplots(figsize=(8, 5))
    index = 0
    for log in logs:
        for key in keys:
            x, y = curve(log, key, axis)
            label = labels[index] if labels else (
                key if len(logs) == 1 else f'{log.name}: {key}')
            is_val = key not in log.keys()[0]
            ax.plot(x, y, 'o-' if is_val else style, label=label, markersize=4)
            index += 1
    ax.set_xlabel('epoch' if axis == 'epoch' else 'iteration')
    ax.set_ylabel(keys[0] if len(keys) == 1 else 'value')
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if out is not None:
        folder = osp.dirname(osp.abspath(out))
        if not osp.isdir(folder):
            raise ConfigError(f'--out {out}: folder {folder} does not exist')
        fig.savefig(out, dpi=120)
    return fig


@dataclass
class TrainTime:
    """Per-epoch mean iteration time of a run (the logged ``time``: seconds per iteration,
    averaged over the logger's window).

    Attributes:
        epoch_times: ``{epoch: mean seconds per iteration}``.
        slowest, fastest: Epochs with the largest / smallest mean.
        std: Standard deviation of the per-epoch means.
        mean: Mean over every logged line.
    """

    epoch_times: Dict[int, float]
    slowest: int
    fastest: int
    std: float
    mean: float


def train_time(log: TrainingLog) -> TrainTime:
    """Iteration times per epoch (iteration-based runs: per 1000 iterations)."""
    rows = [r for r in log.train if 'time' in r]
    if not rows:
        raise ConfigError(f'{log.name}: no training line has a "time"')
    groups: Dict[int, List[float]] = {}
    for row in rows:
        group = row['epoch'] if log.by_epoch else 1 + (row['iter'] - 1) // 1000
        groups.setdefault(group, []).append(row['time'])
    means = {g: float(np.mean(v)) for g, v in sorted(groups.items())}
    values = np.array(list(means.values()))
    return TrainTime(means, max(means, key=means.get), min(means, key=means.get),
                     float(values.std()), float(np.mean([r['time'] for r in rows])))
