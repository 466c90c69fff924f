"""Fail when a notebook code cell mixes imports with other code.

nbdev's docs step executes import cells on their own (to run show_doc), so an import cell must hold
only imports; a mixed cell breaks the docs build. Run: python tools/check_import_cells.py"""
import re, sys
from pathlib import Path
import nbformat

IMPORT = re.compile(r'^(import \S|from \S+ import )')

def offenders(nbs=Path(__file__).resolve().parent.parent/'nbs'):
    for p in sorted(nbs.rglob('*.ipynb')):
        for i, c in enumerate(nbformat.read(p, as_version=4).cells):
            if c.cell_type != 'code': continue
            lines = [l for l in c.source.splitlines() if l.strip() and not l.lstrip().startswith('#')]
            imps = [l for l in lines if IMPORT.match(l)]
            if imps and len(imps) != len(lines): yield p.name, i, lines[0]

if __name__ == '__main__':
    bad = list(offenders())
    for name, i, first in bad: print(f"{name} cell {i}: imports mixed with code (starts {first!r}); move the imports to their own cell", file=sys.stderr)
    sys.exit(1 if bad else 0)
