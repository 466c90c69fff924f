"""Write README.md from nbs/index.ipynb without Quarto (which nbdev_readme needs).

Markdown cells are copied; code cells that are not hidden become ```python blocks followed by
their text output. `--check` exits 1 when README.md is not what index.ipynb produces."""
import sys, re
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent
HIDE = re.compile(r'^#\|\s*(hide|export|exporti|default_exp|eval:\s*false)\b', re.M)
DIRECTIVE = re.compile(r'^#\|.*\n?', re.M)

def _output_text(out):
    if out.output_type == 'stream': return out.text
    data = out.get('data', {})
    if 'text/markdown' in data: return None
    return data.get('text/plain')

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    nb = nbformat.read(nb_path, as_version=4); parts = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == 'markdown':
            src = re.sub(r'^> (.*)$', r'> \1', src, count=1, flags=re.M)
            parts.append(src.strip())
        elif cell.cell_type == 'code' and not HIDE.search(src):
            code = DIRECTIVE.sub('', src).strip()
            if code: parts.append(f"```python\n{code}\n```")
            texts = [t for t in (_output_text(o) for o in cell.get('outputs', [])) if t]
            md = [o['data']['text/markdown'] for o in cell.get('outputs', []) if o.get('data', {}).get('text/markdown')]
            if texts: parts.append("```\n" + ''.join(texts).rstrip() + "\n```")
            parts += [m.strip() for m in md]
    return "<!-- This file is generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook. -->\n\n" + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            print("README.md is out of date with nbs/index.ipynb: run python tools/make_readme.py", file=sys.stderr); sys.exit(1)
        print("README.md is current"); sys.exit(0)
    readme.write_text(text); print(f"wrote {readme}")
