"Every experiment of the registry dry-run end to end through its command line: toy files in the real format, a random-weight checkpoint of its backend, the same code as a GPU run."
import json, math
import pandas as pd
import pytest
from synaug_nb.experiments import EXPERIMENTS, experiment
from synaug_nb.experiment_runs import experiment_methods, toy_scale
from synaug_nb.plan import Plan

from conftest import synaug_in_process

def run_cmd(key, *args):
    "`synaug run --experiment KEY ...` as a user types it, run by the command's `main` in this process (`test_cli` runs the console script itself)."
    return synaug_in_process('run', '--experiment', key, *args)

def is_num(v): return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 100

@pytest.mark.parametrize('key', list(EXPERIMENTS))
def test_dry_run(key, tmp_path):
    out, exp = tmp_path/'run', toy_scale(experiment(key))
    r = run_cmd(key, '--dry-run', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    assert (res['experiment'], res['dry_run'], res['config']['resolution']) == (key, True, 32)
    # rows: the ERM baseline and the experiment's method, every accuracy a number
    rows = experiment_methods(exp)
    assert list(res['methods']) == list(rows) and rows[0] == 'ce' and len(rows) >= 2
    main = 'all' if exp.task == 'longtail' else 'worst_group'
    for m, sc in res['methods'].items():
        assert is_num(sc['all']) and is_num(sc[main]), (m, sc)
        assert all(v is None or is_num(v) for k, v in sc.items() if k not in ('dp', 'eo', 'ed')), (m, sc)
    assert res['methods']['ce'].keys() == res['methods'][rows[-1]].keys()
    # the synthetic folder holds exactly the plan's images, made by the experiment's backend (and feedback)
    plan = Plan.load(out/'plan.json')
    syn = out/'synthetic'
    pngs = sorted((syn/'images').rglob('*.png'))
    assert plan.total > 0 and len(pngs) == plan.total == res['n_synthetic'] == res['synthetic']['images']
    run = json.loads((syn/'run.json').read_text())
    assert (run['backend'], run['plan_fingerprint'], run['steps']) == (exp.backend, plan.fingerprint(), exp.ddim_steps)
    assert run['criterion'] == exp.criterion
    man = pd.concat(pd.read_csv(f, keep_default_na=False) for f in syn.glob('manifest-*.csv'))
    assert len(man) == plan.total and set(man.backend) == {exp.backend}
    assert sorted(man.file) == sorted(p.relative_to(syn).as_posix() for p in pngs)
    if exp.criterion: assert set(man.criterion) == {exp.criterion}
    assert man.groupby('cls').size().reindex(range(len(plan.classes)), fill_value=0).tolist() == (plan.need if plan.by == 'class' else plan.need.sum(1)).tolist()
    # the toy data is in the experiment's real format, the report is written, every row's network saved
    assert (out/'dry-run-data').is_dir() and (out/'dry-run-model'/'model_index.json').is_file()
    html = (out/'report.html').read_text()
    assert html.startswith('<!DOCTYPE html>') and all(m in html for m in rows)
    assert all((out/'models'/f'{m}.safetensors').is_file() for m in rows)

def test_bad_calls_write_nothing(tmp_path, capsys):
    "Refused before anything is written (in-process: the `synaug` command's `main`)."
    from synaug_nb.cli import main as synaug
    assert synaug(['run', '--experiment', 'cifar10_lt', '--dry-run', '--out', str(tmp_path/'a')]) == 1
    assert 'cifar100_lt' in capsys.readouterr().err and not (tmp_path/'a').exists()
    assert synaug(['run', '--experiment', 'cifar100_lt', '--out', str(tmp_path/'b')]) == 1   # a real run needs the data and a checkpoint
    assert '--data-root' in capsys.readouterr().err and not (tmp_path/'b').exists()
    assert synaug(['run', '--experiment', 'nico', '--dry-run', '--methods', 'ce', 'synaug', '--out', str(tmp_path/'c')]) == 1
    assert 'ldm_fg_entropy' in capsys.readouterr().err and not (tmp_path/'c').exists()
    assert synaug(['run', '--experiment', 'nico', '--dry-run', '--data', 'digits', '--out', str(tmp_path/'d')]) == 1
    assert 'drop --data' in capsys.readouterr().err and not (tmp_path/'d').exists()
