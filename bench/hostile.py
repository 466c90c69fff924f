"""Hostile-input audit (issue 27): bad and crafted inputs run through the `synaug` command as a user (or an
attacker) would, each outcome sorted into one of the issue's categories:

- clear & early: refused with one line that names the value, before any training; or, for a valid but odd
  input (a 16-bit PNG, a path with ':'), the correct result;
- raw: refused early, but the line is a raw exception (the CLI's catch-all "run again with --debug") or
  takes several lines;
- silent: accepted with a wrong result, or a setting ignored without a word;
- late: refused only after a model trained (training progress was printed before the error);
- lost: a file that existed before the command was changed or removed;
- code: a data file ran code (a marker file appeared).

Run: python bench/hostile.py [--out /tmp/hostile] [--only SUBSTRING]
Each case is a separate `python -m synaug_nb.cli` process on small files the script writes (built-in digits,
tiny image folders, CIFAR files in the real format). Prints a markdown table and a count per category, and
writes OUT/hostile.json. Not run in CI (a few minutes); the tests in tests/test_hostile_*.py check each finding."""
import argparse, hashlib, json, os, pickle, re, shutil, subprocess, sys, time
from pathlib import Path
import numpy as np
from PIL import Image

def synaug(*args): return [sys.executable, '-m', 'synaug_nb.cli', *map(str, args)]

def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file() and not p.is_symlink()} if folder.exists() else {}

PROGRESS = re.compile(r'\d+% \(|it/s|s/it')   # a LineProgress line or a tqdm bar: work was under way

class Evil:
    "A pickle that runs a shell command when loaded."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f'touch {self.marker}',))

# --- the files the cases use ---------------------------------------------------------------------------------
def fixtures(base: Path) -> dict:
    from synaug_nb.test_utils import write_image_folder, write_cifar
    f = {}
    f['folder'] = write_image_folder(base/'folder', classes=('cat', 'dog', 'fox'), n_per_class=8, size=16)
    f['cifar'] = write_cifar(base/'cifar', n_train=200, n_test=20)
    evil = base/'cifar_evil'; shutil.copytree(f['cifar'], evil)
    batch = next(p for p in evil.rglob('data_batch_1'))
    batch.write_bytes(pickle.dumps({b'data': Evil(base/'MARKER_cifar'), b'labels': [0]}))
    f['cifar_evil'] = evil
    loop = base/'loop'; shutil.copytree(f['folder'], loop); os.symlink('.', loop/'loop')
    f['loop'] = loop
    alias = base/'alias'; shutil.copytree(f['folder'], alias); os.symlink('cat', alias/'alias')
    f['alias'] = alias
    out_link = base/'escape'; shutil.copytree(f['folder'], out_link); os.symlink(base/'folder'/'dog', out_link/'elsewhere')
    f['escape'] = out_link
    grey16 = base/'grey16'
    for c in ('dark', 'light'):
        (grey16/c).mkdir(parents=True)
        for i in range(6):
            v = (np.full((16, 16), 3000 if c == 'dark' else 60000) + i).astype(np.uint16)
            Image.fromarray(v).save(grey16/c/f'{i}.png')   # uint16: PIL writes a 16-bit greyscale PNG
    f['grey16'] = grey16
    colon = base/'with:colon'; shutil.copytree(f['folder'], colon); f['colon'] = colon
    bomb = base/'bomb'; shutil.copytree(f['folder'], bomb)
    Image.new('1', (12000, 12000)).save(bomb/'cat'/'bomb.png')   # a few KB on disk, 144 M pixels when decoded
    f['bomb'] = bomb
    (base/'a_file').write_text('not a folder'); f['file'] = base/'a_file'
    return f

def check_grey16(out: Path) -> bool:
    "The 16-bit images load as their true grey levels: dark about 3000/65535*255 = 12, light about 233."
    from synaug_nb.loaders import load_image_folder
    ds = load_image_folder(out, mode='L', verify=True)
    means = {ds.classes[int(y)]: float(x.mean()) * 255 for x, y, *_ in ds}
    return abs(means['dark'] - 11.7) < 2 and abs(means['light'] - 233.5) < 2

def counts_from_profile(out: Path) -> dict:
    return json.loads((out/'profile.json').read_text())['train']['counts']

# --- the cases: (finding, what is tried, setup(base, fx, out) -> argv, expect) ---------------------------------
# expect: 'error' (a one-line refusal), or a function(out, fx) -> bool for inputs that must give the correct result.
def cases(fx: dict, base: Path):
    P = lambda *a: ['profile', *a]
    digits = ['--dataset', 'digits']
    C = []
    add = lambda finding, what, argv, expect='error', pre=None: C.append(dict(finding=finding, what=what, argv=argv, expect=expect, pre=pre))
    # 1 code execution
    add(1, 'crafted CIFAR pickle, --no-verify', lambda o: P('--data', f"cifar10:{fx['cifar_evil']}", '--no-verify', '--out', o))
    add(1, 'crafted CIFAR pickle, verified', lambda o: P('--data', f"cifar10:{fx['cifar_evil']}", '--out', o))
    add(1, 'real-format CIFAR files, --no-verify', lambda o: P('--data', f"cifar10:{fx['cifar']}", '--no-verify', '--imbalance-factor', '2', '--out', o),
        lambda o, fx: sum(counts_from_profile(o).values()) > 0)
    # 3 symlinks
    add(3, 'symlink loop at the top of a folder', lambda o: P('--data', f"folder:{fx['loop']}", '--out', o),
        lambda o, fx: set(counts_from_profile(o)) == {'cat', 'dog', 'fox'})
    add(3, 'symlink alias of a class folder', lambda o: P('--data', f"folder:{fx['alias']}", '--out', o),
        lambda o, fx: set(counts_from_profile(o)) == {'cat', 'dog', 'fox'})
    add(3, 'symlink leaving the tree', lambda o: P('--data', f"folder:{fx['escape']}", '--out', o),
        lambda o, fx: set(counts_from_profile(o)) == {'cat', 'dog', 'fox'})
    # 4 16-bit PNGs (checked through the loader the command uses)
    add(4, '16-bit greyscale PNGs', lambda o: P('--data', f"folder:{fx['grey16']}", '--out', o),
        lambda o, fx: check_grey16(fx['grey16']))
    # 8 a path with ':'
    add(8, "folder path containing ':'", lambda o: P('--data', f"folder:{fx['colon']}", '--out', o),
        lambda o, fx: set(counts_from_profile(o)) == {'cat', 'dog', 'fox'})
    # 9 decompression bomb
    add(9, 'PNG declaring 12000x12000 pixels', lambda o: P('--data', f"folder:{fx['bomb']}", '--out', o))
    # 7 settings ignored
    add(7, '--test-frac 1.5', lambda o: P(*digits, '--test-frac', '1.5', '--out', o))
    add(7, '--test-frac 0.3 on data with its own test split', lambda o: P('--data', f"cifar10:{fx['cifar']}", '--no-verify', '--imbalance-factor', '2', '--test-frac', '0.3', '--out', o))
    add(7, '--n-max 0', lambda o: P(*digits, '--n-max', '0', '--out', o))
    add(7, '--n-max -3', lambda o: P(*digits, '--n-max', '-3', '--out', o))
    # 8 messages
    add(8, '--seed -1', lambda o: P(*digits, '--seed', '-1', '--out', o))
    add(8, '--seed 4294967296', lambda o: P(*digits, '--seed', '4294967296', '--out', o))
    add(8, '--out is a file', lambda o: P(*digits, '--out', fx['file']))
    add(8, '--many-above -5', lambda o: P(*digits, '--many-above', '-5', '--out', o))
    add(8, '--few-below above --many-above', lambda o: P(*digits, '--many-above', '10', '--few-below', '50', '--out', o))
    add(8, '--target 1e12', lambda o: ['synthesize', *digits, '--target', '1000000000000', '--train-steps', '2', '--out', o])
    add(8, '--imbalance-factor nan', lambda o: P(*digits, '--imbalance-factor', 'nan', '--out', o))
    add(8, '--imbalance-factor 0.5', lambda o: P(*digits, '--imbalance-factor', '0.5', '--out', o))
    add(8, 'unknown data kind', lambda o: P('--data', 'nosuch:/x', '--out', o))
    add(8, 'missing folder', lambda o: P('--data', f"folder:{base/'missing'}", '--out', o))
    # 5 late checks
    add(5, 'synthesize, --out a file, no --checkpoint', lambda o: ['synthesize', *digits, '--train-steps', '30', '--out', fx['file']])
    add(5, 'synthesize, --out under a file, no --checkpoint', lambda o: ['synthesize', *digits, '--train-steps', '30', '--out', fx['file']/'sub'])
    add(5, '--filter-quantile 2', lambda o: ['synthesize', *digits, '--train-steps', '30', '--filter-criterion', 'loss', '--filter-quantile', '2', '--out', o])
    add(5, 'train-generator, --out under a file', lambda o: ['train-generator', *digits, '--train-steps', '30', '--out', fx['file']/'gen'])
    add(5, 'train, --out under a file', lambda o: ['train', *digits, '--steps', '30', '--out', fx['file']/'t'])
    add(5, 'train --steps 0', lambda o: ['train', *digits, '--steps', '0', '--out', o])
    add(5, 'train --lr -1', lambda o: ['train', *digits, '--lr', '-1', '--out', o])
    add(5, 'synthesize --num-inference-steps 0', lambda o: ['synthesize', *digits, '--num-inference-steps', '0', '--train-steps', '30', '--out', o])
    add(5, 'synthesize --embed-dropout 1.5', lambda o: ['synthesize', *digits, '--embed-dropout', '1.5', '--train-steps', '30', '--out', o])
    # 2 a finished synthetic folder's manifest edited (pre: make the folder, then edit it)
    syn = ['synthesize', *digits, '--imbalance-factor', '10', '--train-steps', '20', '--num-inference-steps', '2', '--budget', '30', '--gate', 'off', '--quiet']
    def made_then(edit):
        def pre(o, fx):
            subprocess.run(synaug(*syn, '--out', o), check=True, capture_output=True)
            edit(o)
        return pre
    def manifest_edit(fn):
        def edit(o):
            mf = next(Path(o).glob('manifest-*.csv')); lines = mf.read_text().splitlines(keepends=True)
            mf.write_text(fn(lines))
        return edit
    def relabel(lines):
        head = lines[0].rstrip('\n').split(','); row = lines[1].rstrip('\n').split(',')
        i = head.index('cls'); row[i] = str((int(row[i]) + 1) % 10); return ''.join([lines[0], ','.join(row) + '\n', *lines[2:]])
    def file_to(path):
        def fn(lines):
            head = lines[0].rstrip('\n').split(','); row = lines[1].rstrip('\n').split(',')
            row[head.index('file')] = path; return ''.join([lines[0], ','.join(row) + '\n', *lines[2:]])
        return fn
    def swap_header(lines):
        head = lines[0].rstrip('\n').split(','); i, j = head.index('cls'), head.index('group')
        head[i], head[j] = head[j], head[i]; return ''.join([','.join(head) + '\n', *lines[1:]])
    add(2, "manifest 'cls' edited, synthesize resumes", lambda o: [*syn, '--out', o], pre=made_then(manifest_edit(relabel)))
    add(2, "manifest 'cls' edited, train --synthetic", lambda o: ['train', *digits, '--imbalance-factor', '10', '--synthetic', o, '--steps', '5',
        '--finetune-steps', '0', '--out', Path(o).with_name(Path(o).name + '_t')], pre=made_then(manifest_edit(relabel)))
    add(2, "manifest 'file' with ../", lambda o: [*syn, '--out', o], pre=made_then(manifest_edit(file_to('../../folder/cat/cat_0000.png'))))
    add(2, "manifest 'file' absolute", lambda o: [*syn, '--out', o], pre=made_then(manifest_edit(file_to(str(fx['folder']/'cat'/'cat_0000.png')))))
    add(2, 'manifest header names swapped', lambda o: [*syn, '--out', o], pre=made_then(manifest_edit(swap_header)))
    add(8, 'run.json truncated', lambda o: [*syn, '--out', o], pre=made_then(lambda o: (Path(o)/'run.json').write_text((Path(o)/'run.json').read_text()[:50])))
    # 7, 8 a training checkpoint tampered with (pre: train with checkpoints, then change it)
    tr = ['train', *digits, '--imbalance-factor', '10', '--steps', '20', '--save-every', '10', '--finetune-steps', '0', '--quiet']
    def trained_then(edit):
        def pre(o, fx):
            subprocess.run(synaug(*tr, '--out', o), check=True, capture_output=True)
            edit(Path(o))
        return pre
    def pickled_state(o):
        import torch
        st = next(o.rglob('state.pt')); torch.save({'x': Evil(base/'MARKER_state')}, st)
    add(7, 'train_settings.json deleted, --resume --lr 0.5 --seed 7', lambda o: [*tr, '--resume', '--lr', '0.5', '--seed', '7', '--out', o],
        pre=trained_then(lambda o: next(o.rglob('train_settings.json')).unlink()))
    add(8, 'state.pt holding a pickled object', lambda o: [*tr, '--resume', '--out', o], pre=trained_then(pickled_state))
    return C

def classify(case, r, t, out: Path, before: dict, base: Path, fx) -> tuple[str, str]:
    err = [l for l in r.stderr.strip().splitlines() if l.strip() and not l.startswith('warning:')]
    if any(base.glob('MARKER_*')): return 'code', 'a marker file appeared'
    if case['expect'] == 'error' and r.returncode == 0: return 'silent', 'accepted: ' + (r.stdout.strip().splitlines() or [''])[-1][:90]
    if before and snapshot(out) != before and r.returncode != 0: return 'lost', 'refused, but a file written before changed'
    if case['expect'] == 'error':
        if any(PROGRESS.search(l) for l in err[:-1] + r.stdout.splitlines()): return 'late', err[-1][:140]
        if len(err) != 1 or 'run again with --debug' in err[0] or 'Traceback' in r.stderr: return 'raw', ' | '.join(err)[-160:]
        if re.search(r'\d\.\d{9,}', err[0]): return 'raw', 'an unrounded number: ' + err[0][:140]
        return 'clear & early', err[0][:160]
    if r.returncode != 0: return 'silent', 'refused a valid input: ' + (err[-1][:140] if err else '')
    try: ok = case['expect'](out, fx)
    except Exception as e: ok = False; why = f"{type(e).__name__}: {e}"
    else: why = 'correct result'
    return ('clear & early', why) if ok else ('silent', why if why != 'correct result' else 'wrong result without a word')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='/tmp/hostile'); ap.add_argument('--only', default='')
    a = ap.parse_args(argv)
    base = Path(a.out); shutil.rmtree(base, ignore_errors=True); base.mkdir(parents=True)
    fx = fixtures(base); rows = []
    for k, case in enumerate(cases(fx, base)):
        if a.only and a.only not in case['what']: continue
        for m in base.glob('MARKER_*'): m.unlink()
        out = base/'runs'/f'{k:02d}'
        if case['pre']: case['pre'](out, fx)
        for m in base.glob('MARKER_*'): m.unlink()
        argv_ = [str(x) for x in case['argv'](out)]
        before = snapshot(out)
        t0 = time.time(); r = subprocess.run(synaug(*argv_), capture_output=True, text=True, timeout=900); t = time.time() - t0
        cat, why = classify(case, r, t, out, before, base, fx)
        rows.append(dict(finding=case['finding'], what=case['what'], category=cat, seconds=round(t, 1), says=why, argv=argv_))
        print(f"[{cat:>13}] #{case['finding']} {case['what']} ({t:.0f} s): {why}", flush=True)
    from collections import Counter
    n = Counter(r['category'] for r in rows)
    print('\n| finding | input | outcome | s | what it says |\n|---|---|---|---|---|')
    for r in rows: print(f"| {r['finding']} | {r['what']} | {r['category']} | {r['seconds']:.0f} | {r['says'].replace('|', '/')} |")
    print('\n' + ', '.join(f"{k}: {v}" for k, v in sorted(n.items())) + f" (of {len(rows)})")
    (base/'hostile.json').write_text(json.dumps(dict(rows=rows, counts=dict(n)), indent=1))

if __name__ == '__main__': main()
