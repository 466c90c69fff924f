"The `synaug` command as a user runs it: the README's main job, bad input, and nothing lost."
import json
import pytest
from conftest import needs_fmnist, synaug_in_process as here, synaug_process as proc   # `here(...)`: the same command in this process; `proc(...)`: the console script

def test_profile_digits(tmp_path):
    r = proc('profile', '--dataset', 'digits', '--imbalance-factor', '10', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['dataset'] == 'digits' and res['imbalance_factor'] == 10
    counts = list(res['train']['counts'].values())
    assert counts[0] == 90 and counts[-1] == 9 and counts == sorted(counts, reverse=True)
    assert res['train']['imbalance_factor'] == 10.0
    assert 'imbalance factor 10.0' in r.stdout
    html = (tmp_path/'profile.html').read_text()
    assert 'plotly' in html.lower() and '"type":"bar"' in html.replace(' ', '')

def test_class_order_reversed_makes_the_last_class_the_head(tmp_path):
    r = here('profile', '--dataset', 'digits', '--imbalance-factor', '10', '--class-order', 'reversed', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    counts = list(json.loads((tmp_path/'profile.json').read_text())['train']['counts'].values())
    assert counts[-1] == 90 and counts[0] == 9 and counts == sorted(counts)
    r = here('profile', '--dataset', 'digits', '--class-order', 'upside-down', '--out', str(tmp_path/'x'))
    assert r.returncode == 1 and "unknown class" in r.stderr and 'upside-down' in r.stderr, r.stderr

@needs_fmnist
def test_profile_default_is_longtailed_fashion_mnist(tmp_path):
    r = here('profile', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['dataset'] == 'fashion-mnist'
    c = res['train']['counts']
    assert c['T-shirt/top'] == 500 and c['Ankle boot'] == 5 and sum(c.values()) == 1236
    assert res['n_test'] == 10_000 and res['n_holdout'] == 10_000
    assert [len(v) for v in res['train']['splits'].values()] == [4, 3, 3]

@pytest.mark.parametrize('task,key', [('spurious', 'agreement'), ('fairness', 'skew')])
def test_profile_group_tasks(tmp_path, task, key):
    r = here('profile', '--dataset', 'digits', '--task', task, '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'profile.json').read_text())
    assert res['task'] == task and key in res['benchmark'] and 'cells' in res['train']

LT_KEYS = {'dataset', 'imbalance_factor', 'seed', 'methods', 'domain_probe_accuracy', 'seconds'}

def test_demo_quick_digits_runs_every_method(tmp_path):
    r = proc('demo', '--quick', '--dataset', 'digits', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'results.json').read_text())
    assert LT_KEYS <= set(res) and res['dataset'] == 'digits' and res['imbalance_factor'] == 10 and res['seed'] == 0
    assert list(res['methods']) == ['ce', 'balanced_softmax', 'ce_finetune', 'synaug_plain', 'synaug_mixup', 'synaug_mixup_retrain', 'synaug',
                                    'ldm', 'fg_entropy', 'oracle']
    for m, row in res['methods'].items():
        assert set(row) == {'many', 'medium', 'few', 'all'}, (m, row)
        assert abs(row['all'] - sum(res['per_class_accuracy'][m]) / len(res['per_class_accuracy'][m])) < 0.01, (m, row)   # balanced test set
        assert row['all'] > 20, (m, row)          # well above chance (10%) even in the smoke run
    assert 60 < res['domain_probe_accuracy'] <= 100 and res['seconds'] > 0   # the smoke run's images are easy to tell from real ones
    for m in res['methods']: assert m in r.stdout        # the table is printed
    assert 'synaug - ce_finetune = ' in r.stdout        # digits at factor 10 has no Few class: no Few-gap lines
    page = (tmp_path/'report.html').read_text()
    assert 'src="http' not in page and page.count('data:image/png;base64,') >= 3 and 'Plotly.newPlot' in page
    # the synthetic images are on disk, one per planned image, with the plan's classes
    assert len(list((tmp_path/'synthetic'/'plain').rglob('*.png'))) == res['n_synthetic']
    assert len(list((tmp_path/'synthetic'/'fg_entropy').rglob('*.png'))) == res['n_synthetic']

@pytest.mark.parametrize('task', ['spurious', 'fairness'])
def test_demo_quick_group_tasks(tmp_path, task):
    r = proc('demo', '--quick', '--dataset', 'digits', '--task', task, '--methods', 'ce', 'group_dro', 'synaug', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'results.json').read_text())
    assert res['task'] == task and list(res['methods']) == ['ce', 'group_dro', 'synaug']
    for row in res['methods'].values():
        assert set(row) == {'worst_group', 'mean_group', 'all', 'dp', 'eo', 'ed'}
        assert row['worst_group'] <= row['mean_group'] and 0 <= row['dp'] <= 1
    assert 'worst group' in r.stdout

def test_bad_demo_input_is_named_and_loses_nothing(tmp_path):
    assert here('demo', '--quick', '--dataset', 'digits', '--methods', 'ce', '--out', str(tmp_path)).returncode == 0
    before = (tmp_path/'results.json').read_bytes()
    r = here('demo', '--dataset', 'digits', '--imbalance-factor', '0.5', '--out', str(tmp_path))
    assert r.returncode == 1
    assert '--imbalance-factor must be a finite number >= 1; got 0.5' in r.stderr
    assert 'Traceback' not in r.stderr
    r = here('demo', '--dataset', 'digits', '--methods', 'ce', 'mixup', '--out', str(tmp_path))
    assert r.returncode == 1 and "'mixup'" in r.stderr and 'synaug_mixup' in r.stderr
    r = here('demo', '--dataset', 'digits', '--task', 'spurious', '--methods', 'balanced_softmax', '--out', str(tmp_path))
    assert r.returncode == 1 and "'balanced_softmax'" in r.stderr and 'group_dro' in r.stderr
    assert (tmp_path/'results.json').read_bytes() == before

def test_bad_choice_and_missing_data(tmp_path):
    r = proc('demo', '--dataset', 'mnist')
    assert r.returncode == 1 and "unknown data spec kind 'mnist'" in r.stderr and 'folder:PATH' in r.stderr and 'Traceback' not in r.stderr
    r = proc('demo', '--dataset', 'fashion-mnist', '--root', str(tmp_path/'nowhere'), '--out', str(tmp_path/'o'))
    assert r.returncode == 1 and 'nowhere' in r.stderr and 'not found' in r.stderr

def test_version():
    import synaug_nb
    r = proc('--version')
    assert r.returncode == 0 and synaug_nb.__version__ in r.stdout

@needs_fmnist
def test_demo_quick_fashion_mnist(tmp_path):
    r = proc('demo', '--quick', '--out', str(tmp_path))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'results.json').read_text())
    assert res['dataset'] == 'fashion-mnist' and res['imbalance_factor'] == 100
    assert res['train_counts'][0] == 100 and res['train_counts'][-1] == 1 and res['n_test'] == 10_000
    assert res['n_synthetic'] == 10 * 100 - res['n_train']
    assert all(row['all'] > 15 for row in res['methods'].values()), res['methods']   # above chance (10%): a smoke run, not a result
    assert 'synaug closes ' in r.stdout and 'ldm closes ' in r.stdout and 'fg_entropy closes ' in r.stdout
