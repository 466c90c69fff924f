"`synaug train` as a process: killed mid-run and resumed, it ends where an uninterrupted run ends; bad inputs are refused."
import os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest, torch
from safetensors.torch import load_file

ARGS = ['train', '--dataset', 'digits', '--steps', '400', '--save-every', '20', '--quiet', '--cpu']

def _env():
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}

def run(cmd, *args, timeout=600):
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout, env=_env())

def test_sigkill_then_resume_matches_uninterrupted(synaug_cmd, tmp_path):
    a, b = tmp_path/'a', tmp_path/'b'
    r = run(synaug_cmd, *ARGS, '--out', str(a)); assert r.returncode == 0, r.stderr
    p = subprocess.Popen(synaug_cmd + ARGS + ['--out', str(b)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
    state = b/'checkpoint'/'state.pt'
    t0 = time.time()
    while not state.exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.02)
    time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL, "the run ended before it could be killed; make it longer"
    assert not (b/'model.safetensors').exists()                        # it really was cut short
    step = int(torch.load(state, weights_only=True)['step']); assert 0 < step < 400
    r = run(synaug_cmd, *ARGS, '--resume', '--out', str(b)); assert r.returncode == 0, r.stderr
    wa, wb = load_file(str(a/'model.safetensors')), load_file(str(b/'model.safetensors'))
    assert wa.keys() == wb.keys()
    for k in wa: torch.testing.assert_close(wa[k].float(), wb[k].float(), rtol=0, atol=1e-5, msg=k)

def test_synthetic_folder_with_other_classes_is_refused(synaug_cmd, tmp_path):
    from synaug_nb.data import ImageSet
    from synaug_nb.plan import uniformize
    from synaug_nb.generators import PixelDiffusion, PixelGenerator
    from synaug_nb.synthesize import synthesize
    ds = ImageSet(np.zeros((5, 8, 8, 1), np.uint8), [0, 0, 0, 1, 2], ['cat', 'dog', 'emu'], name='animals')
    gen = PixelGenerator(PixelDiffusion.build(ds.classes, size=8, widths=(8, 16)), device='cpu')
    synthesize(uniformize(ds), gen, tmp_path/'syn', steps=2, progress=False)
    r = run(synaug_cmd, 'train', '--dataset', 'digits', '--steps', '5', '--synthetic', str(tmp_path/'syn'), '--out', str(tmp_path/'o'), '--quiet')
    assert r.returncode == 1 and "unknown: ['cat', 'dog', 'emu']" in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'o'/'checkpoint').exists()
    r = run(synaug_cmd, 'train', '--dataset', 'digits', '--steps', '5', '--synthetic', str(tmp_path/'nowhere'), '--out', str(tmp_path/'o'), '--quiet')
    assert r.returncode == 1 and 'nowhere' in r.stderr

def test_mismatched_groups_are_refused(tmp_path):
    from synaug_nb.core import DataError
    from synaug_nb.recipes import check_synthetic
    from synaug_nb.benchmarks import group_benchmark
    b = group_benchmark('fairness', 'digits')
    syn = b.holdout.subset(np.arange(10)); syn.group_names = ['red', 'green']; syn.domain[:] = 1
    with pytest.raises(DataError, match=r"groups \['red', 'green'\], the real set has \['orange', 'blue'\]"): check_synthetic(b.train, syn)
