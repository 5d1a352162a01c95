from .hooks import *  # noqa: F401,F403
from .optim_wrappers import GuardedAmpOptimWrapper, GuardedOptimWrapper  # noqa: F401
from .runner import CenterNetRunner  # noqa: F401
