"""Execute notebooks in place to refresh their outputs, skipping the cells nbdev_test skips
(`#| eval: false` and the flags in settings.ini's tst_flags, e.g. `#| slow`, `#| cuda`), unless
`--flags` lists them. Run: python tools/run_nb.py nbs/06_synthesize.ipynb [--flags "slow"]"""
import argparse, configparser, re, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

def skip_flags(run_flags=()):
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    return [f for f in cfg['DEFAULT'].get('tst_flags', '').split() if f not in run_flags]

def skipped(src, flags):
    for line in src.splitlines():
        m = re.match(r'^#\|\s*(.*)$', line.strip())
        if not m: continue
        d = m.group(1).strip()
        if re.match(r'eval:\s*false', d) or d.split()[0:1] and d.split()[0] in flags: return True
    return False

def run(path, run_flags=(), timeout=1200):
    nb = nbformat.read(path, as_version=4); flags = skip_flags(run_flags); kept = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and skipped(c.source, flags): kept[i] = c.source; c.source = ''
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(Path(path).parent)}}).execute()
    for i, src in kept.items(): nb.cells[i].source = src; nb.cells[i].outputs = []; nb.cells[i].execution_count = None
    nbformat.write(nb, path)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__); ap.add_argument('paths', nargs='+'); ap.add_argument('--flags', default='')
    a = ap.parse_args()
    for p in a.paths: run(p, a.flags.split()); print(f"executed {p}")
