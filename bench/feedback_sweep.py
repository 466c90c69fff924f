"""Where feedback guidance starts to help, if anywhere: the feedback paper's recipe over guidance scale, criterion and every-k.

Run: python bench/feedback_sweep.py --demo runs/demo [--settings entropy:0.3:2 loss:1:2 ...] [--train-seeds 0 1] [--out runs/fsweep]

`--demo` is a finished `synaug demo` folder (default settings, or the ones `--set` gives): its embedded generator and its
plain (unguided) synthetic set are reused, so the sweep makes only the guided sets. Each setting CRITERION:SCALE:EVERY
guides the demo's plan (same seeds as the plain set) with the `ce` model as the judge, as the `fg_<criterion>` rows do,
into OUT/<setting>/synthetic/fg_<criterion>. Every set, the unguided `ldm` one included, then trains the feedback paper's
recipe (50/50 real/synthetic batches, balanced softmax; `methods` 'ldm') once per training seed, and is evaluated on the
balanced test set. Also measured per set, to show whether the guidance changed the images at all: the judge's mean
entropy, loss and accuracy on them and the mean absolute pixel change from the unguided image of the same seed.
Writes OUT/sweep.json and prints a table (mean ± sample std over training seeds)."""
import argparse, json, shutil, time
from dataclasses import replace
from pathlib import Path
import numpy as np, torch
import torch.nn.functional as F
from _common import mean_std

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--demo', required=True, help='a finished synaug demo folder (its generator and synthetic/plain are reused)')
    ap.add_argument('--settings', nargs='+', default=['entropy:0.05:2', 'entropy:0.1:2', 'entropy:0.2:2', 'entropy:0.5:2', 'entropy:0.1:1', 'loss:0.2:2', 'hardness:0.2:2'],
                    help='CRITERION:SCALE:EVERY (the demo default is entropy:0.1:2; above 0.2 Feedback warns that samples turn into textures)')
    ap.add_argument('--train-seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help='DemoConfig settings that differ from the demo run\'s results.json config')
    ap.add_argument('--out', default='runs/fsweep')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import DemoConfig, demo_benchmark, demo_plan, demo_generator, demo_synthetic
    from synaug_nb.methods import MethodContext, train_method
    from synaug_nb.metrics import evaluate
    from synaug_nb.synthesize import load_synthetic, read_manifest
    from synaug_nb.data import concat_sets
    demo, out = Path(a.demo), Path(a.out); out.mkdir(parents=True, exist_ok=True)
    from synaug_nb.cli import _settings
    cfg = DemoConfig.from_run(demo, methods=None, **_settings(a.set))
    bench = demo_benchmark(cfg); tr = bench.train; plan = demo_plan(bench, cfg)
    gen = demo_generator(bench, cfg, demo)
    cache = {}; t0 = time.time(); judge = train_method('ce', bench, cfg, cache=cache)
    print(f"ce judge trained in {time.time() - t0:.0f} s", flush=True)
    sets = {'ldm (unguided)': (load_synthetic(demo/'synthetic'/'plain'), read_manifest(demo/'synthetic'/'plain'), None)}
    for s in a.settings:
        crit, scale, every = s.split(':'); scale, every = float(scale), int(every)
        c2 = replace(cfg, feedback_scale=scale, feedback_every=every)
        folder, mine = out/s.replace(':', '-')/'synthetic'/f'fg_{crit}', demo/'synthetic'/f'fg_{crit}'
        if not folder.exists() and (mine/'run.json').is_file():   # the demo's own guided set, when it was made with these settings
            rj = json.loads((mine/'run.json').read_text())
            if (rj.get('feedback_scale'), rj.get('feedback_every')) == (scale, every): shutil.copytree(mine, folder)
        t = time.time(); syn = demo_synthetic(plan, gen, c2, out/s.replace(':', '-'), judge=judge, like=tr, criterion=crit)
        sets[f'{crit}, scale {scale:g}, every {every}'] = (syn, read_manifest(folder), round(time.time() - t, 1))
        print(f"{s}: {len(syn)} guided images in {time.time() - t:.0f} s", flush=True)
    plain = sets['ldm (unguided)'][0]; plain_x = plain.images.tensor().numpy(); plain_seed = sets['ldm (unguided)'][1].seed.to_numpy()
    res_file = out/'sweep.json'; done = json.loads(res_file.read_text()) if res_file.is_file() else {}
    rows = []
    for name, (syn, man, synth_s) in sets.items():
        key = f"{name}|{a.train_seeds}"
        if key in done: rows.append(done[key]); print('reused', name); continue
        scores = []
        for sd in a.train_seeds:
            ctx = MethodContext(bench, replace(cfg, seed=sd))
            m = ctx.fit(concat_sets([tr, syn]), 'balanced_softmax', 'half_real')
            r = evaluate(m, bench.test, tr.counts(), many_above=bench.many_above, few_below=bench.few_below)
            scores.append((float(r.split['few']), float(r.split['all'])))
        sc = np.array(scores)
        assert (man.seed.to_numpy() == plain_seed).all(), 'the guided set must follow the plain set\'s seeds'
        x = syn.images.tensor()
        change = float(np.abs(x.numpy() - plain_x).mean())
        with torch.no_grad(): logits = judge.eval()(x)
        p = logits.softmax(1); y = torch.from_numpy(syn.labels)
        judged = {'judge_entropy': float(-(p * p.clamp_min(1e-12).log()).sum(1).mean()), 'judge_loss': float(F.cross_entropy(logits, y)),
                  'judge_acc': float(100 * (logits.argmax(1) == y).float().mean())}
        (few_mean, few_std), (all_mean, all_std) = mean_std(sc[:, 0]), mean_std(sc[:, 1])
        row = {'setting': name, 'few': sc[:, 0].tolist(), 'all': sc[:, 1].tolist(), 'few_mean': few_mean, 'few_std': few_std, 'all_mean': all_mean, 'all_std': all_std,
               **judged, 'pixel_change': round(change, 4), 'synthesis_s': synth_s}
        rows.append(row); done[key] = row; res_file.write_text(json.dumps(done, indent=1))
        print(json.dumps(row), flush=True)
    base = rows[0]
    print(f"\n{cfg.dataset}, seed {cfg.seed}, {len(plain)} synthetic images per set, training seeds {a.train_seeds} (accuracy %, mean ± sample std)\n")
    print('| synthetic set | Few | All | Few − ldm | judge: entropy | loss | accuracy % | mean pixel change vs unguided |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['setting']} | {r['few_mean']:.1f} ± {r['few_std']:.1f} | {r['all_mean']:.1f} ± {r['all_std']:.1f} | "
              f"{r['few_mean'] - base['few_mean']:+.1f} | {r['judge_entropy']:.3f} | {r['judge_loss']:.3f} | {r['judge_acc']:.1f} | {r['pixel_change']:.3f} |")

if __name__ == '__main__': main()
