"""Which classifier-free guidance scale makes the embedded generator's images worth most to the classifier.

Run: python bench/guidance_sweep.py --demo runs/demo [--scales 1 1.5 2 3] [--train-seeds 0 1] [--rows synaug ldm] [--out DIR]

`--demo` is a finished `synaug demo` folder of any task (long tail: Many / Medium / Few / All; spurious and
fairness: worst-group / mean-group / All): its embedded generator is reused (nothing is retrained). For each
scale w, the demo's uniformization plan is synthesized again from the same seeds with guidance w (into
OUT/w<w>/synthetic/plain, kept and reused on a second call), and the rows named by `--rows` are trained on it as
`run_demo` trains them, once per training seed, and evaluated on the demo's test set. A higher w makes each image
more typical of its class; a lower one keeps more of the variety the generator learned (w = 1 is the conditional
model alone; below 1 the conditional prediction is pulled toward the unconditional one). The scale the demo ran at
(in its results.json; `recipes.GUIDANCE` per task) with the demo's seed as training seed reproduces the demo's rows,
except where the demo's defaults have changed since it ran.

Also measured per scale: the `oracle`'s accuracy on the synthetic images (are they recognisably their class?) and
the linear real-vs-synthetic probe on the oracle's features (`gap.domain_probe`; the real training set against the
synthetic set, as the demo measures it).
Prints a table (mean ± sample std over training seeds) and writes OUT/guidance_sweep.json."""
import argparse, json, time
from dataclasses import replace
from pathlib import Path
from _common import fmt_mean_std

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--demo', required=True, help='a finished synaug demo folder of any task (its generator is reused)')
    ap.add_argument('--scales', type=float, nargs='+', default=[1.0, 1.5, 2.0, 3.0])
    ap.add_argument('--train-seeds', type=int, nargs='+', default=[0, 1])
    ap.add_argument('--rows', nargs='+', default=['synaug', 'ldm'], help='methods trained on each scale\'s images')
    ap.add_argument('--out', default=None, help='where the synthetic sets and guidance_sweep.json go (default: DEMO/guidance_sweep)')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import DemoConfig, demo_benchmark, demo_plan, demo_generator, demo_synthetic, method_scores
    from synaug_nb.methods import MethodContext, get_method
    from synaug_nb.metrics import evaluate, predict
    from synaug_nb.gap import domain_probe, extract_features
    from synaug_nb.data import concat_sets
    demo = Path(a.demo); out = Path(a.out or demo/'guidance_sweep'); out.mkdir(parents=True, exist_ok=True)
    cfg = DemoConfig.from_run(demo, methods=None, mixup_partners=DemoConfig.mixup_partners)   # today's Mixup partners, whatever the demo ran with
    for r in a.rows: get_method(r, cfg.task)   # an unknown row fails here, before any synthesis
    bench = demo_benchmark(cfg); plan = demo_plan(bench, cfg); gen = demo_generator(bench, cfg, demo)
    oracle_ctx = MethodContext(bench, cfg); oracle = get_method('oracle', cfg.task).train(oracle_ctx._for('oracle'))
    rows, extra = {}, {}
    cols = ('many', 'medium', 'few', 'all') if cfg.task == 'longtail' else ('worst_group', 'mean_group', 'all')
    for w in a.scales:
        t = time.time(); cw = replace(cfg, guidance_scale=w)
        syn = demo_synthetic(plan, gen, cw, out/f'w{w:g}', like=bench.train)
        feats, labels, dom = extract_features(oracle, concat_sets([bench.train, syn]))   # as the demo's probe: oracle features, real training set vs synthetic
        extra[w] = {'oracle_acc': round(100 * float((predict(oracle, syn) == syn.labels).mean()), 2),
                    'probe': round(domain_probe(feats, dom, labels, seed=cfg.seed).accuracy, 2),
                    'synthesis_s': round(time.time() - t, 1)}
        print(f"w {w:<4g} {len(syn)} images in {extra[w]['synthesis_s']:.0f} s; oracle accuracy on them {extra[w]['oracle_acc']}%, "
              f"domain probe {extra[w]['probe']}%", flush=True)
        for ts in a.train_seeds:
            ctx = MethodContext(bench, replace(cfg, seed=ts), provide=lambda k, syn=syn: syn)
            for m in a.rows:
                t = time.time(); model = get_method(m, cfg.task).train(ctx._for(m))
                sc = method_scores(evaluate(model, bench.test, bench.train.counts(), many_above=bench.many_above, few_below=bench.few_below), cfg.task)
                rows.setdefault(f'{w:g}/{m}', []).append(sc)
                print(f"w {w:<4g} seed {ts}  {m:<8} " + '  '.join(f"{k} {sc[k]}" for k in cols) + f"  ({time.time() - t:.0f} s)", flush=True)
    res = {'demo': str(demo), 'task': cfg.task, 'seed': cfg.seed, 'class_order': cfg.class_order, 'train_seeds': a.train_seeds, 'rows': rows,
           'per_scale': {f'{w:g}': v for w, v in extra.items()}}
    (out/'guidance_sweep.json').write_text(json.dumps(res, indent=1))
    print(f"\n{bench.name}, data seed {cfg.seed}, training seeds {a.train_seeds} (mean ± sample std)")
    print(f"{'w / row':<14}" + ''.join(f"{k:>16}" for k in cols) + f"{'oracle acc':>12}{'probe':>8}")
    for k, rs in rows.items():
        e = extra[float(k.split('/')[0])]
        print(f"{k:<14}" + ''.join(fmt_mean_std([r[q] for r in rs]) for q in cols)
              + f"{e['oracle_acc']:>12}{e['probe']:>8}")

if __name__ == '__main__': main()
