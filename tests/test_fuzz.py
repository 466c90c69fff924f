"""Fuzz: random bytes written into image files, CIFAR batches, synthetic manifests and settings files.
Every read ends in one of two ways: the correct result (what the untouched files give), or a one-line
`DataError` that names the file. Never another exception, a silent wrong label, or a lost image.
Bounded: a fixed seed and a fixed number of cases per target (about 15 s in all on 2 cores)."""
import json
import numpy as np
import pytest
from synaug_nb.core import DataError
from synaug_nb.generators import PixelGenerator
from synaug_nb.loaders import load_image_folder, load_cifar
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.plan import Plan
from synaug_nb.synthesize import synthesize, load_synthetic
from synaug_nb.test_utils import write_image_folder, write_cifar

N_CASES = 25   # per target

def mutate(data:bytes, rng:np.random.Generator) -> bytes:
    "One of four damages: flipped bytes, a cut, inserted bytes, or the whole file replaced by noise of its length."
    b = bytearray(data); kind = rng.integers(4)
    if kind == 0:
        for i in rng.integers(0, len(b), size=int(rng.integers(1, 9))): b[i] = int(rng.integers(256))
    elif kind == 1: b = b[:int(rng.integers(0, len(b)))]
    elif kind == 2:
        i = int(rng.integers(0, len(b) + 1)); b[i:i] = rng.integers(0, 256, size=int(rng.integers(1, 33))).astype(np.uint8).tobytes()
    else: b = bytearray(rng.integers(0, 256, size=len(b)).astype(np.uint8).tobytes())
    return bytes(b)

def one_line_naming(e:Exception, *names:str):
    msg = str(e)
    assert isinstance(e, DataError), f"{type(e).__name__} instead of a DataError: {msg}"
    assert '\n' not in msg.strip(), f"the message takes several lines: {msg!r}"
    assert any(n in msg for n in names), f"the message names none of {names}: {msg!r}"

def fuzz(read, target, good, same, seed:int):
    "Damage `target` N_CASES times (restoring it between cases) and check each `read()`: `same(result, good)` or a one-line DataError naming it (or, for a settings file, its folder)."
    rng, orig, outcomes = np.random.default_rng(seed), target.read_bytes(), {'error': 0, 'same': 0}
    try:
        for _ in range(N_CASES):
            bad = mutate(orig, rng)
            if bad == orig: continue
            target.write_bytes(bad)
            try: r = read()
            except Exception as e: one_line_naming(e, target.name, str(target.parent)); outcomes['error'] += 1
            else:
                assert same(r, good), f"{target.name} damaged, and the read gave another result without a word"
                outcomes['same'] += 1
    finally: target.write_bytes(orig)
    assert outcomes['error'] > 0, outcomes   # the damage was seen at least once: the test exercises the checks
    return outcomes

def same_set(a, b) -> bool:
    return (len(a) == len(b) and list(a.classes) == list(b.classes) and np.array_equal(a.labels, b.labels)
            and all(x[0].shape == y[0].shape for x, y in zip(a, b)))

def test_fuzz_image_files(tmp_path):
    root = write_image_folder(tmp_path/'f', n_per_class=3)
    good = load_image_folder(root)
    for k, target in enumerate(sorted(root.rglob('*.png'))[:3]):
        fuzz(lambda: load_image_folder(root), target, good, same_set, seed=k)

def test_fuzz_cifar_batches(tmp_path):
    root = write_cifar(tmp_path/'c', n_train=20, n_test=10)
    good = load_cifar(root, verify_md5=False)
    batches = sorted(p for p in root.rglob('*') if p.is_file() and p.name in ('data_batch_1', 'batches.meta'))
    assert batches, sorted(root.rglob('*'))
    for k, target in enumerate(batches):
        fuzz(lambda: load_cifar(root, verify_md5=False), target, good, same_set, seed=10 + k)

@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    m = PixelDiffusion.build(['a', 'b', 'c'], size=8, widths=(8, 16), seed=0, prediction_type='v_prediction')
    gen, plan = PixelGenerator(m, device='cpu'), Plan(['a', 'b', 'c'], None, 'class', [4, 2, 1], [4, 4, 4], seed=5)
    out = tmp_path_factory.mktemp('fuzz')/'syn'
    synthesize(plan, gen, out, steps=2, batch_size=8, progress=False)
    return out, gen, plan

def same_synthetic(a, b) -> bool:
    return same_set(a, b) and a.meta['file'].tolist() == b.meta['file'].tolist()

def test_fuzz_manifest(folder):
    out, _, _ = folder
    good = load_synthetic(out)
    fuzz(lambda: load_synthetic(out), next(out.glob('manifest-*.csv')), good, same_synthetic, seed=20)

def test_fuzz_run_json_on_resume(folder):
    "A damaged run.json: resuming makes nothing new under other settings and loses no image."
    out, gen, plan = folder
    images = {p.name: p.read_bytes() for p in out.rglob('*.png')}
    def resume():
        r = synthesize(plan, gen, out, steps=2, batch_size=8, progress=False)
        return r.made
    fuzz(resume, out/'run.json', 0, lambda made, zero: made == zero, seed=30)
    assert {p.name: p.read_bytes() for p in out.rglob('*.png')} == images
    assert json.loads((out/'run.json').read_text())['plan_fingerprint'] == plan.fingerprint()
