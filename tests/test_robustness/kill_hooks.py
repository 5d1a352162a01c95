"""Test-only hooks for tools/train.py runs, loaded by a config's ``custom_imports``
(``test_robustness.kill_hooks``, with ``tests/`` on ``PYTHONPATH``).

They are registered in mmengine's root ``HOOKS`` registry, which mmcenternet's falls back
to, so that they never count as mmcenternet modules (tests/test_registry.py).
"""
from mmengine.registry import HOOKS

from .tiny_runner import KillInValidationHook

HOOKS.register_module(name='TestKillInValidationHook', module=KillInValidationHook,
                      force=True)
