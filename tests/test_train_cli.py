"`synaug train` as a process: killed mid-run and resumed, it ends where an uninterrupted run ends; bad inputs are refused."
import json, os, signal, sys
import numpy as np
import pytest, torch
from safetensors.torch import load_file
from conftest import synaug_in_process as here, synaug_process as proc   # `here(...)`: the same command in this process; `proc(...)`: as its own process

ARGS = ['train', '--dataset', 'digits', '--steps', '400', '--save-every', '20', '--quiet', '--cpu']

def _env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}

KILL_AT_STEP = """
import os, signal, sys
from synaug_nb.train import Callback, Learner
class KillAt(Callback):
    "SIGKILL this process right after step n (after the checkpoint callback has run for it)."
    order = 99
    def __init__(self, n): self.n = n
    def after_batch(self):
        if self.learn.step == self.n: os.kill(os.getpid(), signal.SIGKILL)
_fit = Learner.fit
def fit(self, *a, cbs=(), **k): return _fit(self, *a, cbs=[*cbs, KillAt(int(sys.argv[1]))], **k)
Learner.fit = fit
from synaug_nb.cli import main
sys.exit(main(sys.argv[2:]))
"""

def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    "Killed (SIGKILL, at step 130 of 400 through a callback the test installs) and resumed: the weights of an uninterrupted run."
    a, b = tmp_path/'a', tmp_path/'b'
    r = proc(*ARGS, '--out', str(a), env=_env()); assert r.returncode == 0, r.stderr
    r = proc(*ARGS, '--out', str(b), cmd=[sys.executable, '-c', KILL_AT_STEP, '130'], env=_env())
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert not (b/'model.safetensors').exists()                        # it really was cut short
    state = b/'checkpoint'/'state.pt'
    assert int(torch.load(state, weights_only=True)['step']) == 120   # the last checkpoint before the kill (every 20 steps)
    r = proc(*ARGS, '--resume', '--out', str(b), env=_env()); assert r.returncode == 0, r.stderr
    wa, wb = load_file(str(a/'model.safetensors')), load_file(str(b/'model.safetensors'))
    assert wa.keys() == wb.keys()
    for k in wa: torch.testing.assert_close(wa[k].float(), wb[k].float(), rtol=0, atol=1e-5, msg=k)

def test_synthetic_folder_with_other_classes_is_refused(tmp_path):
    from synaug_nb.data import ImageSet
    from synaug_nb.plan import uniformize
    from synaug_nb.generators import PixelGenerator
    from synaug_nb.pixel_diffusion import PixelDiffusion
    from synaug_nb.synthesize import synthesize
    ds = ImageSet(np.zeros((5, 8, 8, 1), np.uint8), [0, 0, 0, 1, 2], ['cat', 'dog', 'emu'], name='animals')
    gen = PixelGenerator(PixelDiffusion.build(ds.classes, size=8, widths=(8, 16)), device='cpu')
    synthesize(uniformize(ds), gen, tmp_path/'syn', steps=2, progress=False)
    r = here('train', '--dataset', 'digits', '--steps', '5', '--synthetic', str(tmp_path/'syn'), '--out', str(tmp_path/'o'), '--quiet')
    assert r.returncode == 1 and "unknown: ['cat', 'dog', 'emu']" in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'o'/'checkpoint').exists()
    r = here('train', '--dataset', 'digits', '--steps', '5', '--synthetic', str(tmp_path/'nowhere'), '--out', str(tmp_path/'o'), '--quiet')
    assert r.returncode == 1 and 'nowhere' in r.stderr

def test_mismatched_groups_are_refused(tmp_path):
    from synaug_nb.core import DataError
    from synaug_nb.methods import check_synthetic
    from synaug_nb.benchmarks import group_benchmark
    b = group_benchmark('fairness', 'digits')
    syn = b.holdout.subset(np.arange(10)); syn.group_names = ['red', 'green']; syn.domain[:] = 1
    with pytest.raises(DataError, match=r"groups \['red', 'green'\], the real set has \['orange', 'blue'\]"): check_synthetic(b.train, syn)

@pytest.mark.parametrize('flag,value,msg', [('--lr', 'nan', '--lr must be a finite number > 0; got nan'),
                                            ('--lr', '-1', '--lr must be a finite number > 0; got -1.0'),
                                            ('--steps', '0', '--steps must be an integer >= 1; got 0'),
                                            ('--finetune-steps', '-2', '--finetune-steps must be an integer >= 0; got -2')])
def test_bad_numbers_fail_in_one_line_before_any_work(tmp_path, flag, value, msg):
    "Issue 12: `--lr nan` used to train to NaN weights and exit 0, `--lr -1` printed a torch traceback; now one line, exit 1, nothing written."
    out = tmp_path/'run'
    r = here('train', '--dataset', 'digits', flag, value, '--out', str(out), '--quiet', '--cpu')
    assert r.returncode == 1 and r.stderr == f"synaug train: error: {msg}\n", r.stderr
    assert not out.exists()

def test_folder_planned_for_other_counts_is_refused(tmp_path):
    "Issue 12: a synthetic folder planned for imbalance factor 10 joined to real data cut at factor 3 used to train on a non-uniform union, exit 0."
    from synaug_nb.benchmarks import longtail_benchmark
    from synaug_nb.plan import uniformize
    from synaug_nb.generators import PixelGenerator
    from synaug_nb.pixel_diffusion import PixelDiffusion
    from synaug_nb.synthesize import synthesize
    tr = longtail_benchmark('digits', imbalance_factor=10, seed=0).train
    gen = PixelGenerator(PixelDiffusion.build(tr.classes, size=8, widths=(8, 16)), device='cpu')   # untrained: only the counts matter here
    synthesize(uniformize(tr), gen, tmp_path/'syn', steps=1, batch_size=256, progress=False)
    base = ['train', '--dataset', 'digits', '--steps', '3', '--synthetic', str(tmp_path/'syn'), '--quiet', '--cpu']
    r = here(*base, '--imbalance-factor', '3', '--out', str(tmp_path/'o3'))
    assert r.returncode == 1 and 'planned for other real counts than the training set' in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert not (tmp_path/'o3').exists()
    r = here(*base, '--imbalance-factor', '10', '--out', str(tmp_path/'o10'))   # the set it was planned for
    assert r.returncode == 0, r.stderr
    r = here(*base, '--imbalance-factor', '3', '--allow-mismatch', '--out', str(tmp_path/'o3'))
    assert r.returncode == 0, r.stderr

def test_incomplete_folder_names_the_flag_that_accepts_it(tmp_path):
    "Issue 12: the error for an unfinished synthetic folder advised `check_complete=False`, which the CLI cannot pass; it names --allow-incomplete now, and that flag trains on what is there."
    from synaug_nb.benchmarks import longtail_benchmark
    from synaug_nb.plan import uniformize
    from synaug_nb.generators import PixelGenerator
    from synaug_nb.pixel_diffusion import PixelDiffusion
    from synaug_nb.synthesize import synthesize, load_synthetic
    tr = longtail_benchmark('digits', imbalance_factor=10, seed=0).train
    gen = PixelGenerator(PixelDiffusion.build(tr.classes, size=8, widths=(8, 16)), device='cpu')
    plan = uniformize(tr)
    synthesize(plan, gen, tmp_path/'syn', steps=1, batch_size=256, progress=False, rank=0, world_size=2)   # one shard of two: half the plan
    base = ['train', '--dataset', 'digits', '--imbalance-factor', '10', '--steps', '3', '--synthetic', str(tmp_path/'syn'), '--quiet', '--cpu']
    r = here(*base, '--out', str(tmp_path/'o'))
    assert r.returncode == 1 and '--allow-incomplete' in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert not (tmp_path/'o').exists()
    r = here(*base, '--allow-incomplete', '--out', str(tmp_path/'o'))
    assert r.returncode == 0, r.stderr
    assert 0 < len(load_synthetic(tmp_path/'syn', check_complete=False)) < plan.total

def test_resume_with_other_settings_is_refused_and_nothing_changes(tmp_path):
    "A `--resume` used to continue a checkpoint under whatever flags it was given (another --lr, --mix, ...); now the flags that shape the run are compared with the checkpoint's, before any data is read."
    out = tmp_path/'run'; base = ['train', '--dataset', 'digits', '--steps', '20', '--save-every', '10', '--quiet', '--cpu', '--out', out]
    assert here(*base).returncode == 0
    assert json.loads((out/'train_settings.json').read_text())['lr'] == 0.05
    before = {p.name: p.read_bytes() for p in out.rglob('*') if p.is_file()}
    r = here(*base, '--resume', '--lr', '0.1', '--mix', 'mixup')
    assert r.returncode == 1 and "lr 0.05 (now 0.1)" in r.stderr and "mix 'none' (now 'mixup')" in r.stderr and r.stderr.count('\n') == 1, r.stderr
    assert 'batch_size' not in r.stderr                                     # only what differs is named
    assert {p.name: p.read_bytes() for p in out.rglob('*') if p.is_file()} == before
    r = here(*['--data' if x == '--dataset' else x for x in base], '--resume')   # the same flags resume it (--data names the same data)
    assert r.returncode == 0, r.stderr
