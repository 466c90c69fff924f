"`synaug synthesize` end to end on the CPU: a full run, a run killed with SIGKILL and resumed, and bad input that writes nothing."
import csv, json, signal, subprocess, sys
import pytest
from conftest import BIN, synaug_in_process as here, synaug_process as proc   # `here(...)`: the same command in this process (no interpreter start)

COMMON = ['--dataset', 'digits', '--imbalance-factor', '10', '--seed', '0', '--quiet', '--cpu']
GATE_OFF = ['--gate', 'off']   # the quality gate has tests of its own (test_gate_cli.py); here it would only add a judge per run

@pytest.fixture(scope='module')
def generator(tmp_path_factory):
    "A small embedded generator trained once on the digits hold-out and saved."
    out = tmp_path_factory.mktemp('gen')/'g'
    r = here('train-generator', *COMMON, '--train-steps', '150', '--train-batch-size', '64', '--out', out)
    assert r.returncode == 0, r.stderr
    assert (out/'unet'/'diffusion_pytorch_model.safetensors').exists()
    return out

def run_args(gen, out, *extra):
    return ['synthesize', *COMMON, *GATE_OFF, '--checkpoint', gen, '--target', '100', '--num-inference-steps', '6', '--batch-size', '8', '--out', out, *extra]

def files(out): return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out/'images').rglob('*.png'))}

def manifest(out):
    rows = []
    for f in sorted(out.glob('manifest-*.csv')): rows += f.read_text().splitlines()[1:]
    return sorted(set(rows))

KILL_ON_CALL = """
import os, signal, sys
from synaug_nb.generators import PixelGenerator
calls, _gen = [0], PixelGenerator.generate
def generate(self, *a, **k):
    "SIGKILL this process on generator call n: calls before it are written, this batch is in flight."
    calls[0] += 1
    out = _gen(self, *a, **k)
    if calls[0] == int(sys.argv[1]): os.kill(os.getpid(), signal.SIGKILL)
    return out
PixelGenerator.generate = generate
from synaug_nb.cli import main
sys.exit(main(sys.argv[2:]))
"""

def test_kill_and_resume_equals_uninterrupted(generator, tmp_path):
    "SIGKILL on the 5th generator call (a hook the test installs), after its images were made but before any was written; the resume equals an uninterrupted run."
    a, b = tmp_path/'a', tmp_path/'b'
    r = proc(*run_args(generator, a)); assert r.returncode == 0, r.stderr
    full = files(a); assert len(full) > 100
    p = proc(*run_args(generator, b), cmd=[sys.executable, '-c', KILL_ON_CALL, '5'])
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert len(files(b)) == 4 * 8 and len(manifest(b)) == 4 * 8                 # four batches of 8 on disk, the fifth lost
    partial = files(b)
    assert 0 < len(partial) < len(full), (len(partial), len(full))

    r = proc(*run_args(generator, b)); assert r.returncode == 0, r.stderr
    assert 'reused' in r.stdout
    assert files(b) == full                      # same files, byte for byte: no gap, no corrupted file
    assert manifest(b) == manifest(a)            # one row per image, no duplicate
    assert not list(b.rglob('*.tmp'))

def test_resume_regenerates_unreadable_files(generator, tmp_path):
    a = tmp_path/'a'
    assert here(*run_args(generator, a)).returncode == 0
    full = files(a); victim = a/sorted(full)[10]
    victim.write_bytes(b'\x89PNG broken')
    r = here(*run_args(generator, a)); assert r.returncode == 0, r.stderr
    assert files(a) == full

def test_other_plan_in_folder_is_refused_and_nothing_written(generator, tmp_path):
    a = tmp_path/'a'
    assert here(*run_args(generator, a)).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in a.rglob('*')}
    r = here('synthesize', *COMMON, *GATE_OFF, '--checkpoint', generator, '--target', '110', '--num-inference-steps', '6', '--out', a)
    assert r.returncode == 1 and "holds another plan's manifest" in r.stderr
    assert {p: p.stat().st_mtime_ns for p in a.rglob('*')} == before

@pytest.mark.parametrize('extra,msg', [
    (['--target', '20'], 'target 20 is below'),
    (['--feedback-scale', 'nan', '--criterion', 'entropy'], '--feedback-scale must be a finite number >= 0; got nan'),
    (['--feedback-scale', '-1', '--criterion', 'loss'], '--feedback-scale must be a finite number >= 0; got -1.0'),
    (['--guidance-scale', '-2'], '--guidance-scale must be a finite number >= 0; got -2.0'),
    (['--filter-criterion', 'loss', '--filter-quantile', '1.5', '--judge-steps', '5'], '--filter-quantile must be a number in (0, 1); got 1.5'),
    (['--filter-min-confidence', '0', '--judge-steps', '5'], '--filter-min-confidence must be a number in (0, 1]; got 0.0'),
    (['--filter-agree', '--max-attempts', '0', '--judge-steps', '5'], '--max-attempts must be an integer >= 1; got 0'),
    (['--backend', 'dalle'], "unknown --backend 'dalle'; valid: 'pixel', 'sd', 'unclip'"),
    (['--criterion', 'margin'], "unknown --criterion 'margin'; valid: 'none', 'loss', 'entropy', 'hardness'"),
    (['--filter-criterion', 'margin'], "unknown --filter-criterion 'margin'"),
    (['--strength', '0'], '--strength must be a'),
])
def test_bad_numbers_write_nothing(generator, tmp_path, extra, msg):
    out = tmp_path/'o'
    args = ['synthesize', *COMMON, *GATE_OFF, '--checkpoint', generator, '--num-inference-steps', '4', '--out', out]
    r = here(*args, *extra)
    assert r.returncode == 1 and msg in r.stderr, r.stderr
    assert not out.exists()          # refused before anything was written

def test_unknown_class_in_modifier_file(generator, tmp_path):
    book = tmp_path/'book.json'
    book.write_text(json.dumps({'templates': ['a photo of {modifier} {class}'], 'modifiers': {'eleven': ['big']}}))
    r = here('synthesize', *COMMON, *GATE_OFF, '--checkpoint', generator, '--prompts', book, '--out', tmp_path/'o')
    assert r.returncode == 1 and "'eleven'" in r.stderr
    assert not (tmp_path/'o').exists()

def test_feedback_run_records_criterion(generator, tmp_path):
    out = tmp_path/'fb'
    r = here(*run_args(generator, out), '--criterion', 'entropy', '--feedback-scale', '0.05', '--feedback-every', '2', '--judge-steps', '60')
    assert r.returncode == 0, r.stderr
    import pandas as pd
    m = pd.concat([pd.read_csv(f) for f in out.glob('manifest-*.csv')])
    assert (m.criterion == 'entropy').all() and m.criterion_value.notna().all() and (m.feedback_scale == 0.05).all()
    assert json.loads((out/'run.json').read_text())['feedback_min_alpha_bar'] == 0.001   # it decides which steps are guided

def test_accelerate_launch_shards_without_overlap(generator, tmp_path):
    "Two processes under `accelerate launch` (torchrun on the CPU) split the plan; the merged set is the plan, once."
    out = tmp_path/'acc'
    cmd = [str(BIN/'accelerate'), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
           '--dynamo_backend', 'no', '-m', 'synaug_nb.cli', *map(str, run_args(generator, out))]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in out.glob('manifest-*')) == ['manifest-000-of-002.csv', 'manifest-001-of-002.csv']
    from synaug_nb.synthesize import load_synthetic
    syn = load_synthetic(out)
    assert syn.meta['index'].tolist() == list(range(len(syn))) and syn.meta.seed.is_unique
    a = tmp_path/'single'; assert here(*run_args(generator, a)).returncode == 0
    assert load_synthetic(a).meta.seed.tolist() == syn.meta.seed.tolist()

def test_filtered_run_is_uniform_and_records_what_was_dropped(generator, tmp_path):
    out = tmp_path/'f'
    r = here(*run_args(generator, out), '--filter-criterion', 'loss', '--filter-quantile', '0.5', '--judge-steps', '60')
    assert r.returncode == 0, r.stderr
    from synaug_nb.synthesize import load_synthetic, dropped_set, read_manifest
    syn = load_synthetic(out); plain = tmp_path/'p'
    assert here(*run_args(generator, plain)).returncode == 0
    assert syn.counts().tolist() == load_synthetic(plain).counts().tolist()          # the same plan, met exactly
    dr = dropped_set(out)
    assert len(dr) >= 0.4 * len(syn) and set(dr.meta.verdict) == {'criterion'}      # about half of the first pass, then some replacements
    assert f"the filter dropped and replaced {len(dr)}" in r.stdout
    h = read_manifest(out, history=True)
    assert h.filter_value.notna().sum() == len(syn) + len(dr)                       # every image scored once
    assert json.loads((out/'run.json').read_text())['filter']['criterion'] == 'loss'

BLOCK_ON_CALL = """
import sys
from synaug_nb.generators import PixelGenerator
calls, _gen = [0], PixelGenerator.generate
def generate(self, *a, **k):
    "On generator call n, say so on stdout and wait for the test's go-ahead on stdin; the folder's lock is held meanwhile."
    calls[0] += 1
    if calls[0] == int(sys.argv[1]): print('waiting', flush=True); sys.stdin.readline()
    return _gen(self, *a, **k)
PixelGenerator.generate = generate
from synaug_nb.cli import main
sys.exit(main(sys.argv[2:]))
"""

def test_second_writer_is_refused_and_the_folder_stays_whole(generator, tmp_path):
    "Issue 12: two `synaug synthesize` on one folder. The second is refused, naming the first's pid, and writes nothing; the first finishes the set byte for byte."
    a, b = tmp_path/'a', tmp_path/'b'
    assert proc(*run_args(generator, a)).returncode == 0
    p = subprocess.Popen([sys.executable, '-c', BLOCK_ON_CALL, '3', *map(str, run_args(generator, b))],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == 'waiting'          # two batches written, the third in the generator, the lock held
        before = files(b), manifest(b)
        assert len(before[0]) == 2 * 8
        r = here(*run_args(generator, b))
        assert r.returncode == 1 and f"is being written by pid {p.pid} on " in r.stderr, r.stderr
        assert (files(b), manifest(b)) == before                # the refused process wrote nothing
        p.stdin.write('go\n'); p.stdin.flush()
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None: p.kill()
    assert files(b) == files(a) and manifest(b) == manifest(a)

def test_img2img_strength_starts_from_real_images(generator, tmp_path):
    "`--strength`: the same generator and loop, each image started from a real training image of its class (named in the manifest)."
    out = tmp_path/'i2i'
    r = here('synthesize', *COMMON, *GATE_OFF, '--checkpoint', generator, '--num-inference-steps', '4', '--strength', '0.5', '--out', out)
    assert r.returncode == 0, r.stderr
    m = list(csv.DictReader(open(next(out.glob('manifest-*.csv')))))
    assert m and {x['backend'] for x in m} == {'pixel-img2img'} and all(x['condition'] for x in m)
    assert json.loads((out/'run.json').read_text())['generator_settings']['strength'] == 0.5

def test_list_names_every_registry_entry():
    r = here('list')
    assert r.returncode == 0, r.stderr
    for name in ('synaug_img2img', 'fg_rounds', 'oracle', 'hardness', 'unclip'): assert f'  {name} ' in r.stdout, name
    assert here('list', 'planets').returncode == 2     # argparse: invalid choice

def test_sampler_is_recorded_and_a_resume_with_another_is_refused(generator, tmp_path):
    out = tmp_path/'ddim'
    r = here(*run_args(generator, out), '--scheduler', 'ddim')
    assert r.returncode == 0, r.stderr
    rj = json.loads((out/'run.json').read_text())
    assert 'scheduler' not in rj and rj['scheduler_config']['timestep_spacing'] == 'trailing' and rj['scheduler_config']['clip_sample'] is False
    before = files(out)
    r = here(*run_args(generator, out))                      # the default sampler, DPM-Solver++, on DDIM's images
    assert r.returncode == 1 and "differs in ['scheduler', 'scheduler_config']" in r.stderr and '--scheduler' in r.stderr, r.stderr
    assert files(out) == before
    r = here(*run_args(generator, out), '--scheduler', 'ddim')  # the same scheduler: the finished folder resumes, nothing to make
    assert r.returncode == 0, r.stderr
    assert files(out) == before
    dpm = tmp_path/'dpm'
    assert here(*run_args(generator, dpm)).returncode == 0
    assert json.loads((dpm/'run.json').read_text())['scheduler'] == 'DPMSolverMultistepScheduler'
    assert files(dpm).keys() == before.keys() and files(dpm) != before   # same plan and seeds, another sampler's images
