"The notebook order is the import order: no module of synaug_nb imports (at the top or inside a function) one whose notebook comes later."
import re
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent/'synaug_nb'
# No exceptions: the papers' experiment keys reach specs as a plugin (the `synaug_nb.spec_kinds` entry point in setup.py).
ALLOWED = set()
IMPORT = re.compile(r'^\s*from (?:\.|synaug_nb\.)(\w+) import|^\s*import synaug_nb\.(\w+)')

def notebook_of():
    out = {}
    for p in PKG.glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\S+)\.ipynb', p.read_text())
        if m: out[p.stem] = m.group(1)
    return out

def test_every_module_comes_from_a_notebook():
    nb = notebook_of()
    assert {p.stem for p in PKG.glob('*.py')} - set(nb) == {'__init__', '_modidx'}

def test_no_module_imports_a_later_one():
    nb = notebook_of(); bad = []
    for mod, name in nb.items():
        for i, line in enumerate((PKG/f'{mod}.py').read_text().splitlines(), 1):
            m = IMPORT.match(line)
            dep = m and (m.group(1) or m.group(2))
            if dep in nb and nb[dep] > name and (mod, dep) not in ALLOWED: bad.append(f"{name} ({mod}.py:{i}) imports {nb[dep]} ({dep})")
    assert not bad, 'notebooks importing later ones (reorder or move the code):\n' + '\n'.join(bad)

def test_the_check_sees_an_import():
    "The pattern matches the import forms the package uses (else the test above could pass on nothing)."
    assert IMPORT.match('from .core import DataError').group(1) == 'core'
    assert IMPORT.match('    from synaug_nb.recipes import DemoConfig').group(1) == 'recipes'

def test_experiment_keys_are_spec_kinds_through_the_entry_point():
    "specs names no later module: the experiment keys arrive through the installed package's entry point, in a process that imports only specs."
    import subprocess, sys
    code = ("from importlib.metadata import entry_points; import sys, synaug_nb.specs as s; "
            "eps = [e.value for e in entry_points(group=s.SPEC_KIND_PLUGINS)]; before = 'synaug_nb.experiment_data' in sys.modules; "
            "k = s.spec_kinds(); print(eps, before, 'cifar100_lt' in k, 'nico' in k, s.parse_spec('imagenet_lt:/data').kind)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "['synaug_nb.experiment_data:register_experiment_kinds'] False True True imagenet_lt", out
