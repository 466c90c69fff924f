"The benchmark scripts in `bench/`: each answers --help, and the sweeps that start from a finished demo reproduce that demo's rows at its own settings (what their docstrings promise, and what makes their tables comparable with the demo's)."
import contextlib, importlib.util, io, json, math, runpy, sys
from pathlib import Path
import pytest

BENCH = Path(__file__).resolve().parents[1]/'bench'
SCRIPTS = sorted(p for p in BENCH.glob('*.py') if not p.name.startswith('_'))
if str(BENCH) not in sys.path: sys.path.insert(0, str(BENCH))   # as `python bench/x.py` runs a script: `_common` is importable

def script(name):
    "`bench/<name>.py` imported as a module (its `main` not run)."
    spec = importlib.util.spec_from_file_location(f'bench_{name}', BENCH/f'{name}.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_every_script_answers_help():
    assert len(SCRIPTS) >= 10, SCRIPTS
    for p in SCRIPTS:
        out, argv = io.StringIO(), sys.argv
        sys.argv = [str(p), '--help']
        try:
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as e:
                runpy.run_path(str(p), run_name='__main__')
        finally: sys.argv = argv
        assert e.value.code == 0, p.name
        assert out.getvalue().startswith('usage: '), (p.name, out.getvalue()[:200])

def test_mean_std():
    c = script('_common')
    assert c.mean_std([1, 3]) == (2.0, math.sqrt(2))           # the sample std (ddof 1), as every table in the docs states
    assert c.mean_std([None, 5]) == (5.0, 0.0)                 # a split with no class is left out; one value has no spread
    assert all(math.isnan(v) for v in c.mean_std([None]))
    assert c.fmt_mean_std([1, 3]).strip() == '2.0 ± 1.4' and c.fmt_mean_std([]).strip() == '–'

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    "A quick digits demo with the rows the sweeps retrain (Many: over 50 images, Few: under 20, so every split has classes)."
    from synaug_nb.recipes import DemoConfig, run_demo
    out = tmp_path_factory.mktemp('bench')/'demo'
    res = run_demo(DemoConfig.quick(dataset='digits', imbalance_factor=10, many_above=50, few_below=20, methods=('ce', 'synaug', 'ldm')), out, quiet=True)
    return out, res

def test_guidance_sweep_reproduces_the_demo_at_its_own_scale(demo, tmp_path):
    out, res = demo
    w = res['config']['guidance_scale']
    script('guidance_sweep').main(['--demo', str(out), '--scales', f'{w:g}', '--train-seeds', str(res['config']['seed']),
                                   '--rows', 'synaug', 'ldm', '--out', str(tmp_path)])
    rows = json.loads((tmp_path/'guidance_sweep.json').read_text())['rows']
    assert res['methods']['synaug']['few'] is not None
    for m in ('synaug', 'ldm'):
        got = rows[f'{w:g}/{m}'][0]
        assert {k: got[k] for k in ('many', 'medium', 'few', 'all')} == res['methods'][m], (m, got, res['methods'][m])

def test_feedback_sweep_reproduces_the_demo_ldm_row(demo, tmp_path):
    out, res = demo
    script('feedback_sweep').main(['--demo', str(out), '--settings', 'entropy:0.1:2', '--train-seeds', str(res['config']['seed']),
                                   '--out', str(tmp_path)])
    rows = {r['setting']: r for r in json.loads((tmp_path/'sweep.json').read_text()).values()}
    assert set(rows) == {'ldm (unguided)', 'entropy, scale 0.1, every 2'}
    ldm = rows['ldm (unguided)']
    assert (round(ldm['few_mean'], 2), round(ldm['all_mean'], 2)) == (res['methods']['ldm']['few'], res['methods']['ldm']['all']), (ldm, res['methods']['ldm'])
    assert rows['entropy, scale 0.1, every 2']['pixel_change'] > 0     # the guided set differs from the unguided one of the same seeds

def test_photos_report_checks_the_goals():
    "bench/photos.py's goal lines on made-up runs: one that meets every goal, and the same with synaug below balanced softmax."
    p = script('photos')
    row = lambda a: {'many': a, 'medium': a, 'few': a, 'all': a}
    def run(synaug, bs=40.0):
        m = {k: row(30.0) for k in p.METHODS} | {'synaug': row(synaug), 'balanced_softmax': row(bs)}
        return {'methods': m, 'probe': 80.0, 'gate': {'recognised': 45.0, 'real_accuracy': 50.0, 'verdict': 'pass'}, 'seconds': 600.0,
                'old_default_stopped': True, 'old_default_stop_seconds': 60.0, 'rate_noise': 10.0, 'rate_real': 40.0,
                'recognised_noise': 12.0, 'recognised_real': 45.0}
    good = '\n'.join(p.report([run(52.0), run(54.0)]))
    assert '- synaug >= balanced_softmax + 5 on All: +13.0 (met)' in good and '(NOT met)' not in good
    assert '4.00x (met)' in good and '| `synaug` | 53.0 ± 1.4 |' in good
    bad = '\n'.join(p.report([run(38.0), run(40.0)]))
    assert '- synaug >= balanced_softmax + 5 on All: -1.0 (NOT met)' in bad and '- synaug Few >= balanced_softmax Few + 10: -1.0 (NOT met)' in bad

def test_input_pipeline_judges_auto_against_the_best_fixed_choice():
    "bench/input_pipeline.py part 5: the verdict on made-up rounds, the table, and one tiny real comparison."
    p = script('input_pipeline')
    r = p.judge({'auto': [980, 1000], 0: [500, 510], 1: [1000, 1020], 2: [900, 990], 4: [700, 720]})
    assert (r['fixed'], r['ok'], round(r['ratio'], 3), r['tol']) == (1, True, 0.98, 0.05)   # 2% below the best: within 5%
    r = p.judge({'auto': [800, 810], 0: [500, 510], 1: [1000, 1020], 2: [900, 990], 4: [700, 720]})
    assert (r['ok'], round(r['ratio'], 3)) == (False, 0.794)
    r = p.judge({'auto': [600, 810], 0: [500, 510], 1: [1000, 1020], 2: [900, 990], 4: [700, 720]})
    assert (r['ok'], round(r['tol'], 3)) == (True, 0.259)                                    # noisy auto: its own spread is the tolerance
    a = type('A', (), {'batch_size': 8, 'batches': 2, 'warmup': 1, 'auto_repeats': 1})()
    res = {32: {**p.judge({'auto': [980], 0: [500], 1: [1000], 2: [900], 4: [700]}),
                'chosen': [{'num_workers': 1, 'reason': '1 decoding worker: ...', 'setup_s': 0.3}]}}
    lines = p.auto_table(res, a)
    assert lines[2].split() == ['32px', '980', '1', '500', '1000', '900', '700', '1', '0.98x', '5%', 'auto', '>=', 'best', 'fixed']
    assert lines[-1].endswith('yes') and '  32px auto: 1 decoding worker: ... (measured in 0.30 s at most)' in lines

def test_input_pipeline_compares_auto_on_a_tiny_folder(tmp_path):
    import numpy as np
    from PIL import Image
    from synaug_nb.loaders import load_image_folder
    p = script('input_pipeline')
    for c in ('a', 'b'):
        (tmp_path/c).mkdir()
        for i in range(12): Image.fromarray(np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path/c/f'{i}.jpg')
    a = type('A', (), {'batch_size': 8, 'batches': 2, 'warmup': 1, 'auto_repeats': 2})()
    r = p.compare_auto(load_image_folder(tmp_path, mode='RGB', verify=False), a, 'cpu', settings=('auto', 0, 1))
    assert set(r['rounds']) == {'auto', 0, 1} and all(len(v) == 2 and min(v) > 0 for v in r['rounds'].values())
    assert len(r['chosen']) == 2 and all(c['num_workers'] in range(9) and c['reason'] and c['setup_s'] > 0 for c in r['chosen'])
    assert r['fixed'] in (0, 1) and isinstance(r['ok'], bool)
