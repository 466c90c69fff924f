"""Why the photo benchmark's accuracy goals are not met (issue 26): what SYNAuG's recipe gains on `cifar10-lt-dev` with
a *perfect* generator, against what it gains with the embedded one, and how the embedded one's recognition and gain
move with its training budget.

Run: python bench/photos_ceiling.py [--data ../shared/data/cifar10-lt-dev] [--seed 0] [--out /tmp/photos_ceiling]
       [--gen-steps 500 2000] [--cap 500] | tee /tmp/photos_ceiling.txt

1. Perfect generator: the fill of every class is made of *real* photos of the class from `holdout/` (which the
   embedded generator is trained on), at most `--cap` per class (the hold-out has 500 per class), marked synthetic, so
   the recipe (Mixup across domains, the last layer fine-tuned on a uniform real subset) is exactly `synaug`'s.
2. The embedded generator at each `--gen-steps` (from real photos at the default start strength, as `synaug run`
   does), with the same per-class counts as the perfect fill: the gate's recognition, the domain probe of the fill,
   and the rows.
3. How good a generator must be (`--holdout-strengths`): the 500-step generator's SDEdit of the *hold-out* photos
   (the generator's own training images, 500 distinct photos per class, where the default starts from the training
   set's few) at each strength, from 0 (the perfect fill) towards 1 (sampling from noise): recognition against gain.
   This is a measuring stick, not a method: at low strength these images are the hold-out photos with grain.
Rows: balanced_softmax, ce_finetune, synaug_plain, synaug (`synaug run`'s settings otherwise). Prints a markdown table
and writes OUT/ceiling.json. Not a timed test: every number is an accuracy, seeded.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np

DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'cifar10-lt-dev'
ROWS = ('balanced_softmax', 'ce_finetune', 'synaug_plain', 'synaug')

def _cfg(data, seed, **kw):
    from synaug_nb.recipes import DemoConfig
    return DemoConfig(dataset=f'folder:{data}', generator_data=f'folder:{data}/holdout', seed=seed, methods=ROWS, **kw)

def perfect_fill(bench, plan, seed:int):
    "Real hold-out photos in the plan's per-class counts (each class's first n in a seeded order), marked synthetic."
    from synaug_nb.data import ImageSet
    h, rng, idx = bench.holdout, np.random.default_rng(seed), []
    for c, n in enumerate(plan.need.tolist()):
        have = np.flatnonzero(h.labels == c)
        if n > len(have): raise SystemExit(f"class {h.classes[c]!r} needs {n} fill images, the hold-out has {len(have)}: lower --cap")
        idx += list(rng.permutation(have)[:n])
    s = h.subset(np.array(idx, np.int64))
    return ImageSet(s.images, s.labels, s.classes, domain='synthetic', name='holdout-as-synthetic')

def rows(bench, cfg, fill, shared:dict) -> dict:
    "The rows trained on the real set plus `fill` (`shared`: networks that do not depend on the fill, kept across calls)."
    from synaug_nb.methods import train_method
    from synaug_nb.metrics import evaluate
    from synaug_nb.recipes import method_scores
    cache, out = {k: v for k, v in shared.items()}, {}
    for m in ROWS:
        t = time.time()
        model = train_method(m, bench, cfg, {'plain': fill}, cache)
        r = evaluate(model, bench.test, bench.train.counts(), many_above=bench.many_above, few_below=bench.few_below)
        out[m] = method_scores(r) | {'seconds': round(time.time() - t, 1)}
        print(f"  {m:18s} {out[m]}", flush=True)
    if 'method:ce' in cache: shared.setdefault('method:ce', cache['method:ce'])
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=str(DATA))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default='/tmp/photos_ceiling')
    ap.add_argument('--gen-steps', type=int, nargs='*', default=[500, 2000], help="the embedded generator's training steps to compare")
    ap.add_argument('--holdout-strengths', type=float, nargs='*', default=[], help='SDEdit strengths from the hold-out photos (part 3)')
    ap.add_argument('--skip-perfect', action='store_true', help='leave out part 1 (when it is already in OUT/ceiling.json)')
    ap.add_argument('--cap', type=int, default=500, help='fill each class up to this many images (the hold-out has 500 per class)')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import demo_benchmark, demo_plan, demo_generator
    from synaug_nb.generators import Img2ImgGenerator
    from synaug_nb.gate import gate_data, fit_judge, run_gate
    from synaug_nb.synthesize import synthesize, load_synthetic
    from synaug_nb.gap import domain_probe, extract_features
    from synaug_nb.data import concat_sets
    data, out = Path(a.data), Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cfg = _cfg(data, a.seed, fill_cap=a.cap)
    bench = demo_benchmark(cfg); plan = demo_plan(bench, cfg)
    print(f"seed {a.seed}: {len(bench.train)} real training images, fill {plan.total} ({dict(zip(plan.classes, plan.need.tolist()))})", flush=True)
    on, held, _ = gate_data(bench, a.seed)
    judge = fit_judge(on, cfg.train_steps, cfg.model, cfg.batch_size, cfg.lr, a.seed)
    prev = json.loads((out/'ceiling.json').read_text()) if (out/'ceiling.json').is_file() else {}
    shared, res = {}, {'seed': a.seed, 'cap': a.cap, 'fill': int(plan.total), 'variants': prev.get('variants', {})}
    if not a.skip_perfect:
        fill = perfect_fill(bench, plan, a.seed)
        print("perfect generator (real hold-out photos as the fill):", flush=True)
        res['variants']['perfect'] = {'rows': rows(bench, cfg, fill, shared), 'probe': None}
        (out/'ceiling.json').write_text(json.dumps(res, indent=1))
    def measure(name, g_, folder, extra):
        g = run_gate(g_, plan, bench.train, judge, held, 50, cfg.ddim_steps, cfg.guidance_scale, cfg.synth_batch_size, seed=a.seed)
        t = time.time(); synthesize(plan, g_, folder/'synthetic', steps=cfg.ddim_steps, guidance_scale=cfg.guidance_scale, batch_size=cfg.synth_batch_size)
        syn_s = time.time() - t; fill = load_synthetic(folder/'synthetic')
        r = rows(bench, cfg, fill, shared)
        feats, labels, dom = extract_features(shared['method:ce'], concat_sets([bench.train, fill]))
        probe = domain_probe(feats, dom, labels, seed=a.seed, classes=bench.train.classes)
        print(f"{name}: recognised {g.recognised:.1f}% (real held-out {g.real_accuracy:.1f}%), probe {probe.accuracy:.1f}%, synthesis {syn_s:.0f} s", flush=True)
        res['variants'][name] = {'rows': r, 'recognised': g.recognised, 'real_accuracy': g.real_accuracy, 'probe': probe.accuracy,
                                 'synthesis_seconds': round(syn_s), **extra}
        (out/'ceiling.json').write_text(json.dumps(res, indent=1))   # kept as it goes
    for st in a.holdout_strengths:
        c = _cfg(data, a.seed, fill_cap=a.cap); gen = demo_generator(bench, c, out/'gen500')
        measure(f'holdout-sdedit{st:g}', Img2ImgGenerator(gen, bench.holdout, st), out/f'holdout{st:g}', {'strength': st})
    for steps in a.gen_steps:
        c = _cfg(data, a.seed, fill_cap=a.cap, gen_steps=steps); folder = out/f'gen{steps}'
        t = time.time(); gen = demo_generator(bench, c, folder, progress=False); gen_s = time.time() - t
        measure(f'gen{steps}', Img2ImgGenerator(gen, bench.train, c.start_strength), folder, {'generator_seconds': round(gen_s), 'strength': c.start_strength})
    lines = ['| fill | ' + ' | '.join(f'`{m}` All' for m in ROWS) + ' | synaug Few | recognised | probe |', '|---' * (len(ROWS) + 4) + '|']
    for k, v in res['variants'].items():
        r = v['rows']; rec = '' if 'recognised' not in v else f"{v['recognised']:.1f}%"
        lines.append(f"| {k} | " + ' | '.join(f"{r[m]['all']:.1f}" for m in ROWS) + f" | {r['synaug']['few']:.1f} | {rec} | {'' if v['probe'] is None else format(v['probe'], '.1f') + '%'} |")
    print('\n'.join(lines)); res['table'] = lines
    (out/'ceiling.json').write_text(json.dumps(res, indent=1))

if __name__ == '__main__': main()
