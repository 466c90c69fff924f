"The `synaug` command as a user runs it: the README's main job, bad input, and nothing lost."
import json, subprocess
from pathlib import Path
import pytest
from conftest import needs_fmnist

def run(cmd, *args):
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600)

def test_demo_digits_writes_profile(synaug_cmd, tmp_path):
    r = run(synaug_cmd, 'demo', '--dataset', 'digits', '--imbalance-factor', '10', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['dataset'] == 'digits' and res['imbalance_factor'] == 10
    counts = list(res['train']['counts'].values())
    assert counts[0] == 90 and counts[-1] == 9 and counts == sorted(counts, reverse=True)
    assert res['train']['imbalance_factor'] == 10.0
    assert 'imbalance factor 10.0' in r.stdout
    html = (tmp_path/'profile.html').read_text()
    assert 'plotly' in html.lower() and '"type":"bar"' in html.replace(' ', '')

@needs_fmnist
def test_demo_default_is_longtailed_fashion_mnist(synaug_cmd, tmp_path):
    r = run(synaug_cmd, 'demo', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['dataset'] == 'fashion-mnist'
    c = res['train']['counts']
    assert c['T-shirt/top'] == 500 and c['Ankle boot'] == 5 and sum(c.values()) == 1236
    assert res['n_test'] == 10_000 and res['n_holdout'] == 10_000
    assert [len(v) for v in res['train']['splits'].values()] == [4, 3, 3]

@pytest.mark.parametrize('task,key', [('spurious', 'agreement'), ('fairness', 'skew')])
def test_demo_group_tasks(synaug_cmd, tmp_path, task, key):
    r = run(synaug_cmd, 'demo', '--dataset', 'digits', '--task', task, '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['task'] == task and key in res['benchmark'] and 'cells' in res['train']

def test_bad_imbalance_factor_is_named_and_loses_nothing(synaug_cmd, tmp_path):
    assert run(synaug_cmd, 'demo', '--dataset', 'digits', '--imbalance-factor', '10', '--out', str(tmp_path)).returncode == 0
    before = (tmp_path/'profile.json').read_bytes()
    r = run(synaug_cmd, 'demo', '--dataset', 'digits', '--imbalance-factor', '0.5', '--out', str(tmp_path))
    assert r.returncode == 1
    assert 'imbalance_factor must be a number >= 1' in r.stderr and '0.5' in r.stderr
    assert 'Traceback' not in r.stderr
    assert (tmp_path/'profile.json').read_bytes() == before

def test_bad_choice_and_missing_data(synaug_cmd, tmp_path):
    r = run(synaug_cmd, 'demo', '--dataset', 'mnist')
    assert r.returncode == 2 and "invalid choice: 'mnist'" in r.stderr
    r = run(synaug_cmd, 'demo', '--dataset', 'fashion-mnist', '--root', str(tmp_path/'nowhere'), '--out', str(tmp_path/'o'))
    assert r.returncode == 1 and 'nowhere' in r.stderr and 'not found' in r.stderr

def test_version(synaug_cmd):
    import synaug_nb
    r = run(synaug_cmd, '--version')
    assert r.returncode == 0 and synaug_nb.__version__ in r.stdout
