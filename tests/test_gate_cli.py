"The quality gate, budgets and progress from the command line: a generator that draws noise is stopped before its synthesis, one started from real images passes, `--gate warn` goes on and says so, a wrong budget is refused before any work, and a log gets a progress line every tenth."
import json
import pytest
from conftest import synaug_in_process as here, synaug_process as proc

COMMON = ['--dataset', 'digits', '--imbalance-factor', '10', '--seed', '0', '--cpu']

@pytest.fixture(scope='module')
def noise_gen(tmp_path_factory):
    "An embedded generator trained for one step: what it draws is noise."
    out = tmp_path_factory.mktemp('gen')/'g'
    r = here('train-generator', *COMMON, '--quiet', '--train-steps', '1', '--train-batch-size', '16', '--out', out)
    assert r.returncode == 0, r.stderr
    return out

def synth(gen, out, *extra): return ['synthesize', *COMMON, '--checkpoint', gen, '--cap', '60', '--num-inference-steps', '4', '--batch-size', '32',
                                     '--judge-steps', '150', '--out', out, *extra]

def test_noise_generator_is_stopped_before_its_synthesis(noise_gen, tmp_path):
    out = tmp_path/'o'
    r = here(*synth(noise_gen, out))
    assert r.returncode == 1, r.stderr
    assert 'quality gate: These images are not of their classes' in r.stderr and 'Options: start from real images of each class (--strength 0.15)' in r.stderr
    g = json.loads((out/'gate.json').read_text())
    assert g['verdict'] == 'fail' and g['score'] < 0.5 and g['real_accuracy'] - g['chance'] > 30   # the judge reads real digits; the images are not digits
    assert not (out/'images').exists() and not list(out.glob('manifest-*.csv'))                    # nothing of the plan was made

def test_started_from_real_images_the_gate_passes_and_is_recorded(noise_gen, tmp_path):
    out = tmp_path/'o'
    r = here(*synth(noise_gen, out, '--strength', '0.2'))
    assert r.returncode == 0, r.stderr
    assert 'quality gate: The synthetic images are of their classes' in r.stdout
    assert 'synthetic images, about' in r.stdout and 'images/s the gate' in r.stdout        # the plan's cost before the synthesis
    rj = json.loads((out/'run.json').read_text())
    assert rj['gate']['verdict'] == 'pass' and rj['gate']['mode'] == 'stop'

def test_gate_warn_goes_on_and_records_the_choice(noise_gen, tmp_path):
    out = tmp_path/'o'
    r = here(*synth(noise_gen, out, '--gate', 'warn', '--quiet'))
    assert r.returncode == 0, r.stderr
    rj = json.loads((out/'run.json').read_text())
    assert rj['gate']['verdict'] == 'fail' and rj['gate']['mode'] == 'warn' and 'went on past the failed gate' in rj['gate']['going_on']
    assert len(list((out/'images').rglob('*.png'))) == 275                     # the whole plan: cap 60 over the digits long tail

@pytest.mark.parametrize('extra,msg', [
    (['--budget', '100000'], 'budget 100,000 is more than this plan needs: 275 synthetic images fill every class to its target; pass at most 275'),
    (['--budget', '-1'], '--budget must be an integer >= 0; got -1'),
    (['--cap', '0'], '--cap must be an integer >= 1; got 0'),
    (['--cap', '60.5'], "argument --cap: invalid int value: '60.5'"),
    (['--budget', '10', '--budget-share', 'fair'], "invalid choice: 'fair'"),
])
def test_bad_budget_is_refused_before_any_work(noise_gen, tmp_path, extra, msg):
    out = tmp_path/'o'
    r = here(*synth(noise_gen, out, *extra))
    assert r.returncode in (1, 2) and msg in r.stderr, r.stderr
    assert not out.exists()

def test_budget_weakest_first_on_the_command_line(noise_gen, tmp_path):
    out = tmp_path/'o'
    r = here(*synth(noise_gen, out, '--budget', '40', '--budget-share', 'weakest', '--gate', 'off', '--quiet'))
    assert r.returncode == 0, r.stderr
    plan = json.loads((out/'run.json').read_text())['plan']
    need = [t - n for t, n in zip(plan['target'], plan['real'])]
    assert sum(need) == 40 and need[-1] >= need[4] and need[:3] == [0, 0, 0]   # the smallest classes first; the head classes get none

def test_run_refuses_a_budget_above_the_plan_before_training(tmp_path):
    out = tmp_path/'run'
    r = here('run', '--data', 'digits', '--budget', '5000', '--quiet', '--out', out)
    assert r.returncode == 1 and 'budget 5,000 is more than this plan needs: 536 synthetic images' in r.stderr, r.stderr
    assert not (out/'generator').exists()

def test_a_log_gets_a_progress_line_every_tenth(noise_gen, tmp_path):
    "stderr is a pipe here, as in a log file: one line per tenth of the synthesis, with the time left, instead of a redrawn bar."
    r = proc(*synth(noise_gen, tmp_path/'o', '--gate', 'off'))
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith('synthesize: ')]
    pct = [int(ln.split(': ')[1].split('%')[0]) for ln in lines]
    assert 8 <= len(lines) <= 10 and pct == sorted(set(pct)) and all(b - a >= 10 for a, b in zip(pct, pct[1:-1])), r.stderr   # a tenth apart (a batch may cross two marks; the last line is 100%)
    assert lines[-1].startswith('synthesize: 100% (275/275 img)') and 'left' in lines[0]
    assert '\r' not in r.stderr
