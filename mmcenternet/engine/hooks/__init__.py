from .atomic_checkpoint_hook import AtomicCheckpointHook
from .deterministic_resume_hook import DeterministicResumeHook

__all__ = ['AtomicCheckpointHook', 'DeterministicResumeHook']
