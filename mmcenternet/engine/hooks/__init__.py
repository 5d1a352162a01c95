from .atomic_checkpoint_hook import AtomicCheckpointHook
from .deterministic_resume_hook import DeterministicResumeHook
from .visualization_hook import CenterNetVisualizationHook

__all__ = ['AtomicCheckpointHook', 'DeterministicResumeHook', 'CenterNetVisualizationHook']
