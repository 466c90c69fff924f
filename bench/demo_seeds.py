"""The demo's comparison over seeds and class orders: mean ± std per method, and the issue's goals checked.

Run: python bench/demo_seeds.py [--seeds 0 1 2] [--orders default reversed] [--methods ...] [--set KEY=VALUE ...] [--out runs/bench]
Each (seed, order) is one `synaug demo` run (`run_demo`) in OUT/seed<k>-<order>, its report.html kept. 'reversed'
makes the last class the head, so the tail holds other classes. A run that already finished with the same
settings is reused, so the script can be stopped and started again; runs of one seed share their generator
(it trains on the balanced hold-out, which the class order does not touch). Writes OUT/summary.json and prints
a markdown table and the goals (domain probe <= 90%; synaug closes >= 90% of the ce -> oracle Few gap and
>= 70% of the All gap and beats ce_finetune on All by >= 2 points; the best feedback row beats ldm on Few by
one std; fg_rounds beats fg_entropy on Few)."""
import argparse, json, math, shutil
from pathlib import Path
from _common import mean_std

def _same_settings(stored:dict|None, cfg) -> bool:
    "A finished run is reused when its settings equal `cfg`'s; a setting added to DemoConfig after the run was made counts as equal when `cfg` leaves it at its default (the old run could not have used anything else)."
    if stored is None: return False
    from dataclasses import fields
    now, defaults = cfg.to_dict(), {f.name: f.default for f in fields(type(cfg))}
    return all(stored[k] == v if k in stored else v == defaults.get(k, object()) for k, v in now.items()) and set(stored) <= set(now)

def goals(table:dict, runs:list) -> list[tuple[str, bool|None, str]]:
    "(goal, met (None: not measured), the numbers) for the issue's benchmark goals."
    from synaug_nb.report import gap_closed
    m = lambda k, s: table.get(k, {}).get(s, (math.nan,))[0]
    out = []
    probe = mean_std([r['domain_probe_accuracy'] for r in runs])[0]
    out.append(('domain probe <= 90%', probe <= 90 if not math.isnan(probe) else None, f'{probe:.1f}%'))
    means = {k: {s: v[0] for s, v in t.items()} for k, t in table.items()}
    for split, goal in (('few', 0.9), ('all', 0.7)):
        g = gap_closed(means, 'synaug', split)
        out.append((f'synaug closes >= {goal:.0%} of the ce -> oracle {split} gap', None if g is None else g >= goal, '-' if g is None else f'{g:.0%}'))
    d = m('synaug', 'all') - m('ce_finetune', 'all')
    out.append(('synaug - ce_finetune >= 2 points All', None if math.isnan(d) else d >= 2, f'{d:+.1f}'))
    fb = [k for k in ('fg_loss', 'fg_entropy', 'fg_hardness') if k in table]
    if fb and 'ldm' in table:
        best = max(fb, key=lambda k: m(k, 'few')); d = m(best, 'few') - m('ldm', 'few'); sd = table[best]['few'][1]
        out.append((f'best feedback row ({best}) beats ldm on Few by >= 1 std', d >= sd, f'{d:+.1f} (std {sd:.1f})'))
    if 'fg_rounds' in table and 'fg_entropy' in table:
        d = m('fg_rounds', 'few') - m('fg_entropy', 'few')
        out.append(('fg_rounds beats one-shot fg_entropy on Few', d > 0, f'{d:+.1f}'))
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--orders', nargs='+', default=['default', 'reversed'], choices=['default', 'reversed', 'random'])
    ap.add_argument('--dataset', default='fashion-mnist', choices=['fashion-mnist', 'digits'])
    ap.add_argument('--imbalance-factor', type=float, default=None)
    ap.add_argument('--methods', nargs='+', default=None, help='rows to run (default: the demo default)')
    ap.add_argument('--set', nargs='+', default=None, metavar='KEY=VALUE',
                    help="other DemoConfig settings, as `synaug demo --set` reads them (e.g. feedback_scale=0.3); use another --out than runs made without them")
    ap.add_argument('--quick', action='store_true', help='DemoConfig.quick (a smoke test of this script)')
    ap.add_argument('--out', default='runs/bench')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import DemoConfig, run_demo
    from synaug_nb.cli import _settings
    extra = _settings(a.set)                      # checked before any run starts
    runs, keys = [], []
    for s in a.seeds:
        for o in a.orders:
            out = Path(a.out)/f'seed{s}-{o}'
            kw = dict(dataset=a.dataset, imbalance_factor=a.imbalance_factor, seed=s, class_order=None if o == 'default' else o,
                      methods=tuple(a.methods) if a.methods else None, **extra)
            cfg = DemoConfig.quick(**kw) if a.quick else DemoConfig(**kw)
            rj = out/'results.json'
            if rj.is_file() and _same_settings(json.loads(rj.read_text()).get('config'), cfg):
                res = json.loads(rj.read_text()); print(f"seed {s}, {o} order: reused {rj}")
            else:
                first = Path(a.out)/f'seed{s}-{a.orders[0]}'/'generator'
                if o != a.orders[0] and first.is_dir() and not (out/'generator').exists():
                    shutil.copytree(first, out/'generator')           # same seed, same hold-out: the same generator
                print(f"seed {s}, {o} order: running into {out}", flush=True); res = run_demo(cfg, out, quiet=False)
            runs.append(res); keys.append(f'seed{s}-{o}')
    methods = list(runs[0]['methods']); splits = list(runs[0]['methods'][methods[0]])
    table = {m: {k: mean_std([r['methods'][m][k] for r in runs if m in r['methods']]) for k in splits} for m in methods}
    checks = goals(table, runs)
    summary = {'dataset': a.dataset, 'imbalance_factor': runs[0]['imbalance_factor'], 'seeds': a.seeds, 'orders': a.orders, 'runs': keys, 'settings': extra,
               'table': table, 'per_run': {k: r['methods'] for k, r in zip(keys, runs)},
               'goals': [{'goal': g, 'met': ok, 'value': v} for g, ok, v in checks],
               'seconds_per_run': [r['seconds'] for r in runs], 'domain_probe_accuracy': [r['domain_probe_accuracy'] for r in runs]}
    Path(a.out).mkdir(parents=True, exist_ok=True); (Path(a.out)/'summary.json').write_text(json.dumps(summary, indent=1))
    print(f"\n{a.dataset}, imbalance factor {runs[0]['imbalance_factor']:g}, seeds {a.seeds} x orders {a.orders} "
          f"({len(runs)} runs; accuracy %, mean ± std)\n")
    print('| method | ' + ' | '.join(splits) + ' |'); print('|---' * (len(splits) + 1) + '|')
    for m in methods: print(f'| {m} | ' + ' | '.join(f"{table[m][k][0]:.1f} ± {table[m][k][1]:.1f}" for k in splits) + ' |')
    print()
    for g, ok, v in checks: print(f"- {g}: {v} -> {'met' if ok else 'not measured' if ok is None else 'NOT met'}")
    print(f"seconds per run: {summary['seconds_per_run']}; domain probe accuracy: {summary['domain_probe_accuracy']}")
    return summary

if __name__ == '__main__': main()
