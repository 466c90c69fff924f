"Plugins through entry points: the example package in tests/plugin_example (installed by .ci/run) reaches the `synaug` command, the demo and the experiment runner; a broken plugin is one warning."
import json, os, subprocess, sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
import torch
from conftest import synaug_in_process as here, synaug_process as proc

PLUGIN = 'synaug-plugin-example'
INSTALL = 'pip install -e tests/plugin_example'

def test_the_example_plugin_is_installed():
    "Fails (never skips) when the example package is missing: the tests below would prove nothing."
    try: dist = distribution(PLUGIN)
    except PackageNotFoundError: raise AssertionError(f"the example plugin {PLUGIN} is not installed; run `{INSTALL}` (.ci/run does)") from None
    eps = {(ep.group, ep.name) for ep in dist.entry_points}
    assert {('synaug_nb.methods', 'ce_labelsmooth'), ('synaug_nb.criteria', 'energy')} <= eps, eps

def test_synaug_list_shows_the_plugin():
    r = proc('list', 'methods')
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    assert 'ce_labelsmooth' in rows and 'when named' in rows['ce_labelsmooth'] and f'[plugin: {PLUGIN}]' in rows['ce_labelsmooth']
    assert f'[plugin: {PLUGIN}]' in rows['fg_energy']                     # the plugin's criterion gives its feedback row
    assert list(rows)[:2] == ['ce', 'balanced_softmax'] and 'oracle' in rows and 'warning' not in r.stderr
    r = proc('list', 'criteria')
    assert r.returncode == 0 and any(l.split()[0] == 'energy' for l in r.stdout.splitlines()[1:]), r.stdout

def test_plugin_method_runs_from_the_command(tmp_path):
    out = tmp_path/'run'
    r = proc('run', '--data', 'digits', '--quick', '--methods', 'ce', 'ce_labelsmooth', '--set', 'train_steps=4', 'batch_size=32', 'embed=pca',
             '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    assert list(res['methods']) == ['ce', 'ce_labelsmooth'] and res['method_plugins'] == {'ce_labelsmooth': PLUGIN}   # which package it came from
    assert all(0 <= v <= 100 for v in res['methods']['ce_labelsmooth'].values() if v is not None)

def test_plugin_method_in_an_experiment(tmp_path):
    "`synaug run --experiment KEY --methods` takes registered methods, the plugin's included, with the experiment's settings."
    out = tmp_path/'exp'
    r = here('run', '--experiment', 'cifar100_lt', '--dry-run', '--device', 'cpu', '--methods', 'ce', 'ce_labelsmooth', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    assert list(res['methods']) == ['ce', 'ce_labelsmooth'] and PLUGIN in res['method_notes']['ce_labelsmooth']
    assert (out/'models'/'ce_labelsmooth.safetensors').is_file() and not (out/'synthetic').exists()   # needs no synthetic set: none made

def test_plugin_criterion_is_a_criterion():
    from synaug_nb.feedback import CRITERIA, make_criterion
    from synaug_nb.experiments import experiment
    logits = torch.tensor([[2., 0., -1.], [0., 0., 0.]])
    torch.testing.assert_close(make_criterion('energy')(logits, torch.tensor([0, 1])), -torch.logsumexp(logits, -1))
    assert CRITERIA.added['energy'] == PLUGIN and experiment('imagenet_lt', criterion='energy').criterion == 'energy'

def fake_package(site:Path, name:str, entry_points:str):
    "A distribution's metadata as an install leaves it on `sys.path`: `name-0.1.dist-info` with METADATA and entry_points.txt."
    info = site/f'{name}-0.1.dist-info'; info.mkdir(parents=True)
    (info/'METADATA').write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 0.1\n")
    (info/'entry_points.txt').write_text(entry_points)

def test_a_broken_plugin_warns_and_hides_nothing(tmp_path):
    "A plugin whose module is missing, and one whose registering function raises: one warning line each, naming the package; every other method stays."
    (tmp_path/'raising_plugin.py').write_text("def register(): raise RuntimeError('this plugin is broken\\non two lines')\n")
    fake_package(tmp_path, 'broken_plugin', "[synaug_nb.methods]\nmissing = no_such_module:register\n[synaug_nb.criteria]\nraising = raising_plugin:register\n")
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    r = proc('list', env=env)
    assert r.returncode == 0, r.stderr
    warns = [l for l in r.stderr.splitlines() if 'warning' in l]
    assert len(warns) == 2, r.stderr
    assert any("the method plugin 'missing' of the package broken-plugin" in l and "ModuleNotFoundError: No module named 'no_such_module'" in l for l in warns), warns
    assert any("the criterion plugin 'raising' of the package broken-plugin" in l and 'RuntimeError: this plugin is broken on two lines' in l for l in warns), warns
    names = [l.split()[0] for l in r.stdout.splitlines() if l.startswith('  ')]
    assert {'ce', 'synaug', 'oracle', 'ce_labelsmooth', 'loss', 'entropy', 'hardness', 'energy'} <= set(names), names
    code = ("import warnings; warnings.simplefilter('always')\nwith warnings.catch_warnings(record=True) as w:\n"
            "    from synaug_nb.methods import get_method; from synaug_nb.feedback import make_criterion; m = get_method('synaug'); make_criterion('loss')\n"
            "print(m.name, len(w))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    assert r.stdout.split() == ['synaug', '2'], r.stdout + r.stderr

def test_plugin_backend_listed_and_used_by_synthesize(tmp_path):
    "The plugin's backend `pixel_unipc` is marked in `synaug list backends`, samples a synthesis with its own scheduler, and the folder resumes under its name."
    r = proc('list', 'backends')
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    assert f'[plugin: {PLUGIN}]' in rows['pixel_unipc'] and '[plugin' not in rows['pixel'], r.stdout
    data = ['--data', 'digits', '--imbalance-factor', '10', '--seed', '0', '--quiet', '--cpu']
    gen = tmp_path/'gen'
    assert here('train-generator', *data, '--train-steps', '5', '--train-batch-size', '32', '--out', gen).returncode == 0
    out, args = tmp_path/'syn', ['synthesize', *data, '--backend', 'pixel_unipc', '--checkpoint', gen, '--budget', '12', '--num-inference-steps', '2',
                                 '--gate', 'off', '--out', tmp_path/'syn']
    r = here(*args)
    assert r.returncode == 0, r.stderr[-3000:]
    run = json.loads((out/'run.json').read_text())
    assert (run['backend'], run['scheduler'], run['model_id']) == ('pixel_unipc', 'UniPCMultistepScheduler', str(gen))
    assert len(list((out/'images').rglob('*.png'))) == 12
    r = here(*args)                                     # finished: the same command resumes it, nothing left to make
    assert r.returncode == 0 and 'made 0, reused 12 of 12 images' in r.stdout, r.stdout + r.stderr[-3000:]
