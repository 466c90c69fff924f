#!/usr/bin/env python
"""Build the documentation site as far as a machine without Quarto allows, and check it.

1. nbdev's own pre-Quarto steps, called from nbdev (the steps `nbdev_docs` runs before `quarto render`):
   `refresh_quarto_yml` (nbs/nbdev.yml), the module index, `nbdev_sidebar` (nbs/sidebar.yml) and
   `proc_nbs` (the processed notebooks in _proc/: front matter, show_doc sections, hidden cells gone).
2. Every processed notebook rendered to HTML with nbconvert's HTMLExporter into `_site/` (index.html from
   index.ipynb, the README), with the sidebar's navigation. Quarto-only syntax is translated where the
   pages use it: cell options (`#| echo: false` ...), link attributes (`[source](...){target=...}`),
   `:::` divs. Plotly figures are drawn from their `application/vnd.plotly.v1+json` data with a local
   copy of plotly.js (the notebooks' own HTML loads it from a CDN); ipywidgets outputs become a static
   placeholder (the notebook shows a snapshot next to them).
3. Checks, failing with exit status 1 and a list of problems: every notebook in nbs/ has a page and is
   in the sidebar; module pages have API sections from show_doc; pages with plotly figures draw them
   from the local plotly.js; no page loads anything from the network; every local link resolves.

The real site is built by Quarto (`nbdev_docs`, .github/workflows/deploy.yaml); this is its check.

    python tools/build_docs.py [--out _site] [--force]
"""
from __future__ import annotations
import argparse, gc, html, importlib.util, json, os, re, shutil, sys, time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat, yaml
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html

REPO = Path(__file__).resolve().parent.parent
PLOTLY_MIME, WIDGET_MIME = 'application/vnd.plotly.v1+json', 'application/vnd.jupyter.widget-view+json'

# The page template: JupyterLab's, without anything fetched from a CDN (require.js, MathJax, mermaid, the
# widget manager), plus the site's navigation, its styles.css, and the local plotly.js where a page needs it.
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
{%- if resources.site.plotly %}<script src="{{ resources.site.root }}static/plotly.min.js"></script>{% endif -%}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ resources.site.root }}static/site.css">
{%- if resources.site.styles %}<link rel="stylesheet" href="{{ resources.site.root }}styles.css">{% endif -%}
{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook site-page" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<header class="site-header"><a href="{{ resources.site.root }}index.html">{{ resources.site.site_title }}</a></header>
<nav class="site-sidebar" aria-label="Pages">{{ resources.site.nav }}</nav>
<main class="site-main">
<header class="page-title"><h1 class="title">{{ resources.site.title }}</h1>
{%- if resources.site.description %}<p class="description">{{ resources.site.description }}</p>{% endif %}</header>
{%- endblock body_header -%}
"""

SITE_CSS = """
body.site-page { margin: 0; }
.site-header, .site-sidebar, .page-title { font-family: var(--jp-content-font-family, system-ui, sans-serif); }
.site-header { position: fixed; top: 0; left: 0; right: 0; height: 3rem; line-height: 3rem; padding: 0 1rem;
  background: #2780e3; z-index: 10; }
.site-header a { color: #fff; font-weight: bold; font-size: 1.2rem; text-decoration: none; }
.site-sidebar { position: fixed; top: 3rem; bottom: 0; left: 0; width: 15rem; overflow-y: auto; padding: 1rem;
  border-right: 1px solid #ddd; font-size: 0.9rem; box-sizing: border-box; background: #fafafa; }
.site-sidebar ul { list-style: none; padding-left: 0.8rem; margin: 0.2rem 0; }
.site-sidebar > ul { padding-left: 0; }
.site-sidebar a { text-decoration: none; color: #333; }
.site-sidebar a.active { font-weight: bold; color: #2780e3; }
.site-sidebar .section { font-weight: bold; margin-top: 0.6rem; }
.site-main { margin: 3rem 0 0 15rem; padding: 1rem 2rem; max-width: 60rem; }
.page-title .description { font-size: 1.15rem; color: #555; }
.api-doc { border-top: 1px solid #ddd; margin: 1.5rem 0 0.5rem; }
.api-doc a.source-link { float: right; font-size: smaller; }
  .widget-placeholder .widget-text { margin: 0.4rem 0 0; }
.widget-placeholder { border: 1px dashed #999; border-radius: 4px; padding: 0.6rem 1rem; background: #f6f8fa;
  color: #444; }
.callout { border-left: 4px solid #2780e3; padding: 0.2rem 1rem; margin: 1rem 0; background: #f4f8fd; }
"""

def load_nbdev():
    "nbdev's configuration and functions (imported here so that `--help` works anywhere)."
    os.chdir(REPO)  # nbdev finds settings.ini from the working directory
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    from nbdev.doclinks import nbglob
    import nbdev.doclinks
    return get_config, refresh_quarto_yml, nbdev_sidebar, proc_nbs, nbglob, nbdev.doclinks._build_modidx

def frontmatter(nb):
    "Quarto front matter of a processed notebook (nbdev writes it as the first, raw cell) and the cells after it."
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.lstrip().startswith('---'):
        return (yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}), nb.cells[1:]
    return {}, nb.cells

def cell_options(src):
    "Quarto cell options (`#| key: value` lines at the top) and the source without them."
    opts, lines = {}, src.splitlines()
    while lines and lines[0].startswith('#|'):
        line = lines.pop(0)[2:].strip()
        if ':' in line:
            k, v = line.split(':', 1)
            try: opts[k.strip()] = yaml.safe_load(v.strip())
            except yaml.YAMLError: opts[k.strip()] = v.strip()
        else: opts[line] = True
    return opts, '\n'.join(lines).strip('\n')

_attr_link = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}')
def quarto_md(md):
    "Translate the Quarto-only markdown the pages use: link attributes and `:::` fenced divs."
    md = _attr_link.sub(lambda m: f'<a href="{m[2]}" class="source-link" {m[3]}>{m[1]}</a>'
                        if m[1] == 'source' else f'<a href="{m[2]}" {m[3]}>{m[1]}</a>', md)
    out = []
    for line in md.splitlines():
        m = re.match(r'^\s*:::+\s*(\{([^}]*)\}|\S+)?\s*$', line)
        if m and m[1]:
            cls = ' '.join(c.lstrip('.') for c in (m[2] or m[1]).split() if c.startswith('.') or not m[2])
            out += ['', f'<div class="{html.escape(cls)} {"callout" if "callout" in cls else ""}">', '']
        elif m: out += ['', '</div>', '']
        else: out.append(line)
    return '\n'.join(out)

def pandoc_id(text):
    "The id Quarto (pandoc) gives a heading: lower case, only letters, digits, `_-.`, spaces as hyphens."
    t = re.sub(r'[^\w\s.-]', '', html.unescape(text.replace('-', ' ')).lower())
    return re.sub(r'\s+', '-', re.sub(r'^[^a-z]+', '', t.strip()))

def pandoc_ids(body):
    "Heading ids as on the Quarto site (nbconvert keeps case and punctuation), so that doc links find them."
    body = re.sub(r'(<h[1-6] id=")([^"]+)"', lambda m: f'{m[1]}{pandoc_id(m[2])}"', body)
    return re.sub(r'(class="anchor-link" href="#)([^"]+)"', lambda m: f'{m[1]}{pandoc_id(m[2])}"', body)

def plotly_html(fig):
    "A plotly figure's HTML that draws with the page's (local) plotly.js."
    import plotly.io as pio
    return pio.to_html(fig, include_plotlyjs=False, include_mathjax=False, full_html=False, validate=False)

def widget_html(data):
    "A static stand-in for an ipywidgets view (no widget manager on a static page), with its text form if useful."
    text = data.get('text/plain', '')
    text = ''.join(text) if isinstance(text, list) else str(text)
    shown = '' if not text.strip() or re.match(r'^\s*\w+\((children|value|description)=', text) else \
            f'<pre class="widget-text">{html.escape(text)}</pre>'
    return ('<div class="widget-placeholder"><div class="widget-note">Interactive widget (ipywidgets): it runs in '
            'Jupyter, not on this static page; open the notebook to use it. Where a snapshot image follows, it shows '
            f'what the widget looks like.</div>{shown}</div>')

class Page:
    "One processed notebook and where its page goes."
    def __init__(self, proc_path, cache, nbs_rel):
        self.src, self.rel_nb = proc_path, nbs_rel  # e.g. tutorials/x.ipynb
        self.nb = nbformat.read(proc_path, as_version=4)
        self.fm, self.cells = frontmatter(self.nb)
        out = self.fm.get('output-file') or Path(nbs_rel).with_suffix('.html').name
        self.rel_html = (Path(nbs_rel).parent/out).as_posix()
        self.title = str(self.fm.get('title') or Path(nbs_rel).stem)
        self.description = str(self.fm.get('description') or '')
        self.n_plotly = self.n_api = self.n_widgets = 0

    @property
    def root(self): return '../'*(len(Path(self.rel_html).parts) - 1)

def build_pages(pages, out, site_title, doc_url, nav_items, styles):
    by_nb = {p.rel_nb: p for p in pages}
    exporter = HTMLExporter(template_name='lab', extra_loaders=[DictLoader({'site_page.html.j2': TEMPLATE})],
                            template_file='site_page.html.j2', exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor('nbconvert.preprocessors.TagRemovePreprocessor', enabled=True)
    tr = exporter._preprocessors[-1]
    tr.remove_input_tags, tr.remove_all_outputs_tags, tr.remove_cell_tags = {'site-hide-input'}, {'site-hide-output'}, {'site-drop'}

    def local_href(url, page):
        "Links to the published site or to a notebook, made relative to this page."
        if doc_url and url.startswith(doc_url):
            url = page.root + url[len(doc_url):].lstrip('/')
        parts = urlsplit(url)
        if not parts.scheme and parts.path.endswith('.ipynb'):
            target = (Path(page.rel_nb).parent/unquote(parts.path)).as_posix()
            target = os.path.normpath(target)
            if target in by_nb:
                path = os.path.relpath(by_nb[target].rel_html, Path(page.rel_html).parent.as_posix())
                url = path + (f'#{parts.fragment}' if parts.fragment else '')
        return url

    def fix_links(md, page):
        md = re.sub(r'(\]\()([^)\s]+)', lambda m: m[1] + local_href(m[2], page), md)
        return re.sub(r'((?:href|src)=")([^"]+)', lambda m: m[1] + local_href(m[2], page), md)

    def nav_html(page):
        def item(e):
            if isinstance(e, dict):  # a folder; its index notebook, if any, is the section's `href` (nbdev_sidebar)
                sub = ''.join(item(c) for c in e.get('contents', []))
                name, p = html.escape(str(e.get('section', ''))), by_nb.get(str(e.get('href', '')))
                if p is not None:
                    href = os.path.relpath(p.rel_html, Path(page.rel_html).parent.as_posix())
                    cls = ' class="active"' if p is page else ''
                    name = f'<a href="{href}"{cls}>{name}</a>'
                return f'<li><div class="section">{name}</div><ul>{sub}</ul></li>'
            p = by_nb.get(str(e))
            if p is None: return ''
            href = os.path.relpath(p.rel_html, Path(page.rel_html).parent.as_posix())
            cls = ' class="active"' if p is page else ''
            return f'<li><a href="{href}"{cls}>{html.escape(p.title)}</a></li>'
        return '<ul>' + ''.join(item(e) for e in nav_items) + '</ul>'

    for page in pages:
        cells = []
        for c in page.cells:
            c = nbformat.from_dict(json.loads(json.dumps(c)))
            tags = set(c.metadata.get('tags', []))
            if c.cell_type == 'markdown': c.source = fix_links(quarto_md(c.source), page)
            elif c.cell_type == 'code':
                opts, c.source = cell_options(c.source)
                if opts.get('include') is False: continue
                if opts.get('echo') is False or not c.source.strip(): tags.add('site-hide-input')
                if opts.get('output') is False: tags.add('site-hide-output')
                outs = []
                for o in c.get('outputs', []):
                    d = o.get('data', {})
                    if PLOTLY_MIME in d:
                        page.n_plotly += 1
                        o = nbformat.from_dict({'output_type': 'display_data', 'metadata': {},
                                                'data': {'text/html': plotly_html(d[PLOTLY_MIME])}})
                    elif WIDGET_MIME in d:
                        page.n_widgets += 1
                        o = nbformat.from_dict({'output_type': 'display_data', 'metadata': {}, 'data': {'text/html': widget_html(d)}})
                    elif 'text/html' in d and 'cdn.plot.ly' in d['text/html'] and 'plotly-graph-div' not in d['text/html']:
                        continue  # plotly's "notebook_connected" loader: the page loads plotly.js itself
                    elif 'text/markdown' in d and 'show_doc' in c.source:
                        page.n_api += 1
                        md = fix_links(quarto_md(d['text/markdown']), page)
                        o = nbformat.from_dict({'output_type': 'display_data', 'metadata': {},
                                                'data': {'text/html': f'<div class="api-doc">{markdown2html(md)}</div>'}})
                    elif 'text/markdown' in d:
                        o = nbformat.from_dict({**o, 'data': {**d, 'text/markdown': fix_links(quarto_md(d['text/markdown']), page)}})
                    outs.append(o)
                c.outputs = outs
                if 'site-hide-input' in tags and not outs: continue
            elif c.cell_type == 'raw': continue
            if tags: c.metadata['tags'] = sorted(tags)
            cells.append(c)
        nb = nbformat.from_dict({'nbformat': 4, 'nbformat_minor': 5, 'cells': cells,
                                 'metadata': {k: v for k, v in page.nb.metadata.items() if k != 'widgets'}})
        nb.metadata['title'] = page.title
        site = dict(root=page.root, plotly=page.n_plotly > 0, nav=nav_html(page), title=html.escape(page.title),
                    description=markdown2html(page.description).strip().removeprefix('<p>').removesuffix('</p>')
                                if page.description else '', site_title=html.escape(site_title), styles=styles)
        body, _ = exporter.from_notebook_node(nb, resources={'site': site})
        dst = out/page.rel_html
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(pandoc_ids(body), encoding='utf-8')

# ---- checks ----
_ref = re.compile(r'<(a|link|script|img|iframe|source|video|audio)\b[^>]*?\s(href|src)="([^"]*)"', re.I)
_inline_js = re.compile(r'<script\b[^>]*>(.*?)</script>', re.S | re.I)
def check_site(pages, out, nbs_rel, sidebar_nbs, module_nbs):
    errors, warnings = [], []
    by_nb = {p.rel_nb: p for p in pages}
    for rel in nbs_rel:
        if rel not in by_nb or not (out/by_nb[rel].rel_html).exists(): errors.append(f'nbs/{rel}: no page was built')
        if rel not in sidebar_nbs: errors.append(f'nbs/{rel}: not in the sidebar (nbs/sidebar.yml)')
    if 'index.ipynb' not in by_nb: errors.append('nbs/index.ipynb (the README and home page) is missing')
    ids = {}
    for p in pages:
        f = out/p.rel_html
        if not f.exists(): continue
        text = f.read_text(encoding='utf-8')
        ids[p.rel_html] = set(re.findall(r'\sid="([^"]+)"', text))
        where = f'_site/{p.rel_html} (nbs/{p.rel_nb})'
        n_doc = text.count('class="api-doc"')
        if p.rel_nb in module_nbs and (p.n_api == 0 or n_doc != p.n_api):
            errors.append(f'{where}: a module page without its API sections ({p.n_api} show_doc outputs, {n_doc} on the page)')
        if p.n_plotly:
            drawn = text.count('Plotly.newPlot(')
            if drawn < p.n_plotly or 'static/plotly.min.js' not in text:
                errors.append(f'{where}: {p.n_plotly} plotly figures but {drawn} drawn with the local plotly.js')
        for body in _inline_js.findall(text):  # e.g. a figure saved as plotly's "notebook_connected" HTML (require.js + CDN)
            if re.search(r'cdn\.plot\.ly|unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|require\.config|require\(\[', body):
                errors.append(f'{where}: an inline script loads code from a CDN or with require.js ({body.strip()[:80]!r}...)'); break
        if WIDGET_MIME in text: errors.append(f'{where}: a widget view was left for a widget manager the page does not load')
        for tag, attr, url in _ref.findall(text):
            u = urlsplit(html.unescape(url))
            if u.scheme in ('http', 'https') or url.startswith('//'):
                if tag.lower() != 'a': errors.append(f'{where}: <{tag} {attr}="{url}"> loads from the network')
                continue
            if u.scheme or not (u.path or u.fragment): continue  # data:, mailto:, javascript:
            target = (f.parent/unquote(u.path)).resolve() if u.path else f.resolve()
            if not target.exists(): errors.append(f'{where}: broken local link {url}')
            elif u.fragment and target.suffix == '.html':
                warnings.append((target, u.fragment, where, url))
    missing = []
    for target, frag, where, url in warnings:
        rel = target.relative_to(out.resolve()).as_posix()
        if rel in ids and frag not in ids[rel]: missing.append(f'{where}: #{frag} not found in {rel} ({url})')
    return errors, missing

LOOP_HOOKS = {'before_fit', 'before_batch', 'after_pred', 'after_loss', 'after_backward', 'after_step', 'after_batch', 'after_fit',
              'forward', 'train'}   # callback events and nn.Module overrides: called by the loop or torch, documented with their class

def undocumented(out) -> list:
    "Public symbols of `_modidx.py` (classes' methods and properties included) without an API section on their page."
    spec = importlib.util.spec_from_file_location('_modidx', REPO/'synaug_nb'/'_modidx.py'); m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m); pages, bad = {}, []
    for syms in m.d['syms'].values():
        for name, (url, _) in syms.items():
            parts = name.split('.')[1:]
            if any(x.startswith('_') for x in parts[1:]) or (len(parts) == 3 and parts[-1] in LOOP_HOOKS): continue
            page, _, anchor = url.partition('#')
            if page not in pages: pages[page] = (out/page).read_text(encoding='utf-8') if (out/page).exists() else ''
            t, label = pages[page], '.'.join(parts[1:])
            ok = f'id="{anchor}"' in t or re.search(r'<h[1-6][^>]*>\s*' + re.escape(label) + r'\s*<', t) \
                 or (len(parts) == 3 and f'id="{parts[-1].lower()}"' in t)   # a patched method shown under its own name
            if not ok: bad.append(f'{name}: no API section on {page} (add a show_doc({label}) cell after its definition)')
    return bad

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(REPO/'_site'), help='output folder (default: _site)')
    ap.add_argument('--force', action='store_true', help="ignore nbdev's _proc cache and process every notebook")
    ap.add_argument('--n_workers', type=int, default=0,
                    help='processes for nbdev proc_nbs (default 0: in this process, which imports the library once; '
                         'on 2 cores 15-20 s against 45 s for 2 spawned workers that each import torch)')
    ap.add_argument('--strict_anchors', action='store_true', help='fail on links to anchors that do not exist')
    a = ap.parse_args(argv)
    t0 = time.time()
    out = Path(a.out).resolve()
    get_config, refresh_quarto_yml, nbdev_sidebar, proc_nbs, nbglob, build_modidx = load_nbdev()
    cfg = get_config()
    nbs = Path(cfg.nbs_path)

    # the notebooks as the build starts (one added while it runs is for the next build, not a missing page)
    nbs_rel = sorted(Path(p).relative_to(nbs).as_posix()
                     for p in nbglob(nbs, func=Path, file_re=r'\.ipynb$', skip_folder_re=r'(?:^[_.]|^www\$)'))

    # 1. nbdev: what `nbdev_docs` does before `quarto render` (nbdev.quarto._pre_docs, minus installing Quarto)
    try:
        refresh_quarto_yml()
        build_modidx()
        nbdev_sidebar.__wrapped__(path=nbs)
        cache = Path(proc_nbs(nbs, n_workers=a.n_workers, force=a.force))
    except Exception as e:
        import traceback; traceback.print_exc()
        print(f'build_docs: FAILED in nbdev\'s processing of the notebooks (what nbdev_docs runs before Quarto): '
              f'{type(e).__name__}: {e}', file=sys.stderr)
        return 1
    # Each notebook ran in its own IPython shell, and at exit every shell clears itself with a full gc.collect() over
    # a heap that holds torch, diffusers and the shells (about 0.7 s each, 20 s in all): move what exists now out of
    # the collector's sight so those collections are quick.
    gc.freeze()
    t1 = time.time()
    print(f'build_docs: nbdev processed the notebooks into {cache.relative_to(REPO)}/ ({t1-t0:.1f} s)')

    # 2. HTML pages
    sidebar = yaml.safe_load((nbs/'sidebar.yml').read_text())['website']['sidebar']['contents']
    def flat(items):
        for e in items:
            if isinstance(e, dict):
                if 'href' in e: yield str(e['href'])
                yield from flat(e.get('contents', []))
            else: yield str(e)
    sidebar_nbs = set(flat(sidebar))
    pages = [Page(cache/rel, cache, rel) for rel in nbs_rel if (cache/rel).exists()]
    module_nbs = {rel for rel in nbs_rel if any(c.cell_type == 'code' and re.search(r'^#\|\s*default_exp\s', c.source, re.M)
                                                for c in nbformat.read(nbs/rel, as_version=4).cells)}
    if out.exists(): shutil.rmtree(out)
    (out/'static').mkdir(parents=True)
    import plotly
    shutil.copy2(Path(plotly.__file__).parent/'package_data'/'plotly.min.js', out/'static'/'plotly.min.js')
    (out/'static'/'site.css').write_text(SITE_CSS)
    for f in cache.rglob('*'):  # the other files Quarto would publish (styles.css, images); not configs
        rel = f.relative_to(cache)
        if f.is_file() and f.suffix not in ('.ipynb', '.yml', '.yaml') and not any(x.startswith(('.', '_')) for x in rel.parts):
            (out/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out/rel)
    nbdev_yml = yaml.safe_load((nbs/'nbdev.yml').read_text())['website']
    doc_url = str(nbdev_yml.get('site-url', '')).rstrip('/') + '/'
    build_pages(pages, out, str(nbdev_yml.get('title', cfg.lib_name)), doc_url, sidebar, (out/'styles.css').exists())
    t2 = time.time()

    # 3. checks
    errors, bad_anchors = check_site(pages, out, nbs_rel, sidebar_nbs, module_nbs)
    errors += undocumented(out)
    if a.strict_anchors: errors += bad_anchors
    for w in bad_anchors if not a.strict_anchors else []: print(f'build_docs: warning: {w}')
    n_fig, n_api, n_w = (sum(getattr(p, k) for p in pages) for k in ('n_plotly', 'n_api', 'n_widgets'))
    print(f'build_docs: {len(pages)} pages in {out} ({t2-t1:.1f} s): {n_api} API sections, {n_fig} plotly figures '
          f'(local plotly.js), {n_w} widget placeholders; {len(bad_anchors)} links to missing anchors')
    if errors:
        print(f'build_docs: FAILED, {len(errors)} problems:', file=sys.stderr)
        for e in errors: print(f'  {e}', file=sys.stderr)
        return 1
    print(f'build_docs: all checks passed ({time.time()-t0:.1f} s in all); open {out/"index.html"}')
    return 0

if __name__ == '__main__': sys.exit(main())
