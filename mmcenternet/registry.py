"""Registries of mmcenternet, children of MMDetection's.

Every registry below is a child of the mmdet registry of the same name, so
inside the ``mmcenternet`` scope a ``type='X'`` first looks up our own modules
and then falls back to mmdet's (and, through mmdet, to mmengine's). A config
can also name an mmdet part explicitly as ``type='mmdet.X'``.

``locations`` lets the registries import the modules that fill them on the
first lookup, so ``default_scope = 'mmcenternet'`` in a config is enough.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMDET_RUNNERS, locations=['mmcenternet.engine'])
LOOPS = Registry('loop', parent=MMDET_LOOPS, locations=['mmcenternet.engine'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, locations=['mmcenternet.engine'])

DATASETS = Registry('dataset', parent=MMDET_DATASETS, locations=['mmcenternet.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMDET_DATA_SAMPLERS, locations=['mmcenternet.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMDET_TRANSFORMS, locations=['mmcenternet.datasets.transforms'])

MODELS = Registry('model', parent=MMDET_MODELS,
                  locations=['mmcenternet.models', 'mmcenternet.deploy'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMDET_MODEL_WRAPPERS, locations=['mmcenternet.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS, locations=['mmcenternet.models'])
# Target encoders (assigners) and decoders live here, as in mmdet.
TASK_UTILS = Registry('task util', parent=MMDET_TASK_UTILS, locations=['mmcenternet.models'])

OPTIMIZERS = Registry('optimizer', parent=MMDET_OPTIMIZERS, locations=['mmcenternet.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMDET_OPTIM_WRAPPERS, locations=['mmcenternet.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMDET_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmcenternet.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMDET_PARAM_SCHEDULERS, locations=['mmcenternet.engine'])

METRICS = Registry('metric', parent=MMDET_METRICS, locations=['mmcenternet.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMDET_EVALUATOR, locations=['mmcenternet.evaluation'])

VISUALIZERS = Registry(
    'visualizer', parent=MMDET_VISUALIZERS, locations=['mmcenternet.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMDET_VISBACKENDS, locations=['mmcenternet.visualization'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMDET_LOG_PROCESSORS, locations=['mmcenternet.engine'])
