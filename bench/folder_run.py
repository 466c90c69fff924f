"""`synaug run` on a 20-class image folder from scratch, with the embedded backend: what a user with their own
data waits for, stage by stage.

Run: python bench/folder_run.py [--dir /tmp/synaug_folder_bench] [--quick] | tee /tmp/folder_run.txt

1. Builds once (cached in --dir/data) a long-tailed folder of RGB JPEGs, one sub-folder per class, 20 classes:
   the 10 Fashion-MNIST classes (real training images, 28 px) and the 10 scikit-learn digits (8 px, upscaled
   to 28 px), --n-max images in the largest class down to --n-max / --imbalance-factor in the smallest
   (Cao et al.'s exponential profile over the class order). No train/test split in the folder, so `synaug run`
   holds out a stratified test share and, without other real data, trains the generator on the training set
   (both stated in its notes).
2. Runs `synaug run --data folder:DIR --out OUT` in a fresh process (nothing cached: OUT is emptied first) and
   prints its stage lines, the wall time and `results.json`'s `stage_seconds`.
"""
import argparse, json, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np

def build(root:Path, n_max:int, imbalance_factor:float, seed:int=0) -> list:
    from PIL import Image
    from synaug_nb.loaders import load_fashion_mnist, load_digits
    fm, dg = load_fashion_mnist(split='train'), load_digits()
    sources = [(fm, c, f"fashion_{name.replace('/', '-').replace(' ', '_')}") for c, name in enumerate(fm.classes)] + \
              [(dg, c, f"digit_{name}") for c, name in enumerate(dg.classes)]
    K, rng, counts = len(sources), np.random.default_rng(seed), []
    for k, (ds, c, name) in enumerate(sources):
        n = max(1, int(round(n_max * imbalance_factor ** (-k / (K - 1)))))
        idx = rng.choice(np.flatnonzero(ds.labels == c), n, replace=False)
        d = root/name; d.mkdir(parents=True, exist_ok=True)
        for j, i in enumerate(idx):
            a = np.asarray(ds.images[int(i)]).squeeze()
            if a.dtype != np.uint8: a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
            Image.fromarray(a).convert('RGB').resize((28, 28), Image.BILINEAR).save(d/f'{j:05d}.jpg', quality=92)
        counts.append((name, n))
    return counts

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', default='/tmp/synaug_folder_bench')
    ap.add_argument('--n-max', type=int, default=300)
    ap.add_argument('--imbalance-factor', type=float, default=30)
    ap.add_argument('--quick', action='store_true', help='synaug run --quick (a smoke test of this script)')
    ap.add_argument('--extra', nargs='*', default=[], help='more arguments for synaug run, e.g. --set gen_steps=300')
    a = ap.parse_args(argv)
    root = Path(a.dir); data = root/f'data-{a.n_max}-{a.imbalance_factor:g}'
    if not (data/'.done').is_file():
        shutil.rmtree(data, ignore_errors=True)
        t = time.time(); counts = build(data, a.n_max, a.imbalance_factor); (data/'.done').write_text(json.dumps(counts))
        print(f"built {data}: {sum(n for _, n in counts)} JPEGs in {len(counts)} classes ({counts[0][1]} -> {counts[-1][1]}) in {time.time() - t:.0f} s")
    out = root/'run'; shutil.rmtree(out, ignore_errors=True)
    cmd = [str(Path(sys.executable).with_name('synaug')), 'run', '--data', f'folder:{data}', '--out', str(out), *(['--quick'] if a.quick else []), *a.extra]
    print('$', ' '.join(cmd), flush=True)
    t = time.time(); rc = subprocess.call(cmd); wall = time.time() - t
    res = json.loads((out/'results.json').read_text()) if (out/'results.json').is_file() else {}
    print(f"\nexit {rc}; wall time from a fresh process {wall:.0f} s ({wall / 60:.1f} min); the run's own clock {res.get('seconds')} s")
    print('stage seconds:', json.dumps(res.get('stage_seconds', {})))
    return rc

if __name__ == '__main__': sys.exit(main())
