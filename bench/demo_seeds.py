"""The demo's comparison over several seeds: mean ± std per method, and the share of the ce -> oracle
gap in Few accuracy that `synaug`, `ldm` and the `fg_*` rows close (goal: at least half).

Run: python bench/demo_seeds.py [--seeds 0 1 2] [--dataset fashion-mnist] [--imbalance-factor 100] [--out runs/bench]
Each seed is one `synaug demo` run (`run_demo` with the default DemoConfig) in OUT/seed<k>; a run that
already finished is reused, so the script can be stopped and started again. Writes OUT/summary.json
and prints a markdown table."""
import argparse, json, math, sys
from pathlib import Path
import numpy as np

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--dataset', default='fashion-mnist', choices=['fashion-mnist', 'digits'])
    ap.add_argument('--imbalance-factor', type=float, default=None)
    ap.add_argument('--quick', action='store_true', help='DemoConfig.quick (a smoke test of this script)')
    ap.add_argument('--out', default='runs/bench')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import DemoConfig, run_demo, gap_closed
    runs = []
    for s in a.seeds:
        out = Path(a.out)/f'seed{s}'; kw = dict(dataset=a.dataset, imbalance_factor=a.imbalance_factor, seed=s)
        cfg = DemoConfig.quick(**kw) if a.quick else DemoConfig(**kw)
        rj = out/'results.json'
        if rj.is_file() and json.loads(rj.read_text()).get('config') == cfg.to_dict(): res = json.loads(rj.read_text()); print(f"seed {s}: reused {rj}")
        else: print(f"seed {s}: running into {out}", flush=True); res = run_demo(cfg, out, quiet=False)
        runs.append(res)
    methods = list(runs[0]['methods']); splits = list(runs[0]['methods'][methods[0]])
    def ms(vals):
        v = [x for x in vals if x is not None]
        return (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) if v else (math.nan, math.nan)
    table = {m: {k: ms([r['methods'][m][k] for r in runs]) for k in splits} for m in methods}
    closed = {m: [gap_closed(r['methods'], m) for r in runs] for m in ('synaug', 'ldm', 'fg_loss', 'fg_entropy', 'fg_hardness', 'ce_finetune', 'balanced_softmax') if m in methods}
    # the share of the mean gap: (mean(m) - mean(ce)) / (mean(oracle) - mean(ce))
    mean_closed = {m: gap_closed({k: {'few': table[k]['few'][0]} for k in table}, m) for m in closed}
    summary = {'dataset': a.dataset, 'imbalance_factor': runs[0]['imbalance_factor'], 'seeds': a.seeds, 'table': table,
               'few_gap_closed_per_seed': closed, 'few_gap_closed_of_means': mean_closed,
               'seconds_per_run': [r['seconds'] for r in runs], 'domain_probe_accuracy': [r['domain_probe_accuracy'] for r in runs]}
    Path(a.out).mkdir(parents=True, exist_ok=True); (Path(a.out)/'summary.json').write_text(json.dumps(summary, indent=1))
    print(f"\n{a.dataset}, imbalance factor {runs[0]['imbalance_factor']:g}, seeds {a.seeds} (accuracy %, mean ± std)\n")
    print('| method | ' + ' | '.join(splits) + ' |'); print('|---' * (len(splits) + 1) + '|')
    for m in methods: print(f'| {m} | ' + ' | '.join(f"{table[m][k][0]:.1f} ± {table[m][k][1]:.1f}" for k in splits) + ' |')
    print()
    for m, v in closed.items():
        per = ', '.join('-' if x is None else f'{100 * x:.0f}%' for x in v)
        print(f"{m}: share of the ce -> oracle Few gap closed: {100 * mean_closed[m]:.0f}% of the mean gap (per seed: {per})"
              + ('' if m in ('balanced_softmax', 'ce_finetune') else f" -> goal (>= 50%) {'met' if mean_closed[m] >= 0.5 else 'NOT met'}"))
    print(f"seconds per run: {summary['seconds_per_run']}; domain probe accuracy: {summary['domain_probe_accuracy']}")
    return summary

if __name__ == '__main__': main()
