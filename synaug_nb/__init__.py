"""synaug_nb: fix imbalanced training data with synthetic data from diffusion models.

`from synaug_nb import ImageSet, load_data, uniformize, Learner, evaluate, ...` gives the names a user needs first. They load
lazily (PEP 562: module `__getattr__` and `__dir__`), so `import synaug_nb` imports neither torch nor diffusers.
Written by hand, not exported from a notebook: `nbdev_export` only rewrites the `__version__` line below."""

__version__ = "0.1.0"

_LAZY = {   # name -> the module that defines it, in the order of the flow: data, plan, synthesis, training, evaluation, the gap, the studio, whole runs
    'ImageSet': 'data', 'load_data': 'specs', 'from_dataset': 'specs',
    'Plan': 'plan', 'uniformize': 'plan',
    'load_generator': 'generators', 'load_synthetic': 'synthesize',
    'build_model': 'models', 'load_model': 'models', 'Learner': 'train',
    'evaluate': 'metrics', 'domain_probe': 'gap', 'Studio': 'widgets',
    'DemoConfig': 'recipes', 'run_demo': 'recipes', 'run_experiment': 'experiment_runs',
}
__all__ = list(_LAZY)   # `synthesize` and `profile` are left out: submodules of those names would shadow them (`synaug_nb.synthesize.synthesize`)

def __getattr__(name:str):
    "Import the module that defines `name` on first use, and keep the name here."
    if name not in _LAZY: raise AttributeError(f"module 'synaug_nb' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f'.{_LAZY[name]}', __name__), name)
    globals()[name] = value
    return value

def __dir__() -> list: return sorted({*globals(), *_LAZY})
