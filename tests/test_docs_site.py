"""The documentation site in a real browser: tools/build_docs.py builds it, `python -m http.server` serves it on
127.0.0.1, and Debian's Chromium (driven by playwright) opens the pages with no network: no console errors, no
failed or outside requests, plotly figures drawn from the local plotly.js, images and navigation present."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
# index (the README), three module pages with plotly figures, a module page with images, a tutorial
PAGES = ['index.html', 'profile.html', 'metrics.html', 'gap.html', 'data.html', 'tutorials/embedded_walkthrough.html']

sync_api = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (pip install playwright)')
if not Path(CHROMIUM).exists():
    pytest.skip(f'no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)', allow_module_level=True)

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site, built by tools/build_docs.py (which also runs its own checks) into a fresh folder."
    out = tmp_path_factory.mktemp('site')/'_site'
    r = subprocess.run([sys.executable, 'tools/build_docs.py', '--out', str(out)], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def server(site):
    "`python -m http.server` on 127.0.0.1 serving the site; stopped by PID at teardown."
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'http.server', str(port), '--bind', '127.0.0.1', '--directory', str(site)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f'http://127.0.0.1:{port}/'
    try:
        for _ in range(100):
            try: urllib.request.urlopen(base + 'index.html', timeout=1).close(); break
            except OSError: time.sleep(0.1)
        else: pytest.fail('http.server did not answer in 10 s')
        yield base
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired: os.kill(proc.pid, signal.SIGKILL); proc.wait()

@pytest.fixture(scope='module')
def browser_page(server):
    "A Chromium page with a fresh profile, recording console errors, page errors and bad or outside requests."
    profile = tempfile.mkdtemp(prefix='chromium-profile-')
    pw = sync_api.sync_playwright().start()
    ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        page = ctx.new_page()
        page.problems = []
        page.on('console', lambda m: page.problems.append(f'console.{m.type}: {m.text}') if m.type == 'error' else None)
        page.on('pageerror', lambda e: page.problems.append(f'page error: {e}'))
        page.on('requestfailed', lambda r: page.problems.append(f'request failed: {r.url} ({r.failure})'))
        page.on('response', lambda r: page.problems.append(f'HTTP {r.status}: {r.url}') if r.status >= 400 else None)
        page.on('request', lambda r: None if r.url.startswith((server, 'data:')) else page.problems.append(f'outside request: {r.url}'))
        yield page
    finally:
        ctx.close(); pw.stop(); shutil.rmtree(profile, ignore_errors=True)

def open_page(page, url):
    page.problems.clear()
    page.goto(url)
    page.wait_for_load_state('networkidle')

FIGURES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => ({
    svgs: g.querySelectorAll('.main-svg').length,
    marks: g.querySelectorAll('.scatterlayer .point, .barlayer .point, .scatterlayer .js-line, .heatmaplayer image').length,
    traces: (g.data || []).length, width: g.getBoundingClientRect().width}))"""

IMAGES_JS = """() => Array.from(document.querySelectorAll('main img')).map(i => ({
    src: i.src.slice(0, 60), complete: i.complete, natural: i.naturalWidth, shown: i.getBoundingClientRect().width}))"""

@pytest.mark.parametrize('name', PAGES)
def test_page_loads_clean_with_figures_and_images(browser_page, server, site, name):
    page = browser_page
    open_page(page, server + name)
    n_figs = (site/name).read_text().count('Plotly.newPlot(')
    if n_figs: page.wait_for_selector('.js-plotly-plot .main-svg', timeout=20_000)
    assert page.problems == [], f'{name}: {page.problems}'
    assert page.locator('main h1.title').inner_text().strip()
    figs = page.evaluate(FIGURES_JS)
    assert len(figs) == n_figs, f'{name}: {n_figs} figures in the page, {len(figs)} drawn: {figs}'
    for f in figs:
        assert f['svgs'] >= 1 and f['traces'] >= 1 and f['marks'] >= 1 and f['width'] > 100, f'{name}: empty figure {f}'
    imgs = page.evaluate(IMAGES_JS)
    for im in imgs: assert im['complete'] and im['natural'] > 0 and im['shown'] > 0, f'{name}: image not shown {im}'
    if name == 'data.html': assert imgs, 'the Data page shows sample images'
    # navigation: the sidebar lists every page and marks this one
    assert page.locator('nav.site-sidebar a').count() >= 20
    assert page.locator('nav.site-sidebar a.active').count() == 1

def test_every_page_loads_clean(browser_page, server, site):
    "Every page of the site (all notebooks, tutorials included): no console errors, no failed or outside requests, all its figures drawn."
    page, bad = browser_page, []
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html'))
    assert len(names) >= 20 and 'index.html' in names
    for name in names:
        open_page(page, server + name)
        n_figs = (site/name).read_text().count('Plotly.newPlot(')
        if n_figs: page.wait_for_selector('.js-plotly-plot .main-svg', timeout=20_000)
        drawn = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.querySelector('.main-svg')).length")
        if page.problems or drawn != n_figs: bad.append(f'{name}: {n_figs} figures, {drawn} drawn; {page.problems}')
    assert not bad, bad

@pytest.mark.parametrize('name, n_min', [('profile.html', 2), ('metrics.html', 2), ('gap.html', 3)])
def test_plotly_pages_have_their_figures(browser_page, server, name, n_min):
    "The pages with plotly outputs in the notebooks show at least that many figures (none lost on the way)."
    open_page(browser_page, server + name)
    browser_page.wait_for_selector('.js-plotly-plot .main-svg', timeout=20_000)
    assert browser_page.locator('.js-plotly-plot').count() >= n_min

def test_module_page_has_api_reference(browser_page, server):
    open_page(browser_page, server + 'metrics.html')
    docs = browser_page.locator('.api-doc')
    assert docs.count() >= 5
    assert browser_page.locator('.api-doc h3#group_accuracy').count() == 1
    assert browser_page.locator('.api-doc a.source-link').first.get_attribute('href').startswith('https://github.com/')

def test_navigation_and_doc_links_work(browser_page, server):
    "Clicking the sidebar and an in-text API link leads to existing pages, offline."
    page = browser_page
    open_page(page, server + 'index.html')
    page.locator('nav.site-sidebar a', has_text='Metrics').first.click()
    page.wait_for_load_state('networkidle')
    assert page.url.endswith('/metrics.html') and page.locator('main h1.title').inner_text() == 'Metrics'
    link = page.locator('main a[href*="data.html#"]').first
    href = link.get_attribute('href')
    assert not href.startswith('http'), href  # links to the published site point into this one
    link.click(); page.wait_for_load_state('networkidle')
    assert re.search(r'/data\.html#', page.url), page.url
    assert page.problems == [], page.problems

def test_widget_outputs_are_static_placeholders(browser_page, server, site):
    "ipywidgets outputs (studio widgets, tqdm bars) show a visible static stand-in, with no widget manager fetched."
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html') if 'class="widget-placeholder"' in p.read_text())
    if not pages: pytest.skip('no page has an ipywidgets output')
    for name in pages[:3]:
        open_page(browser_page, server + name)
        ph = browser_page.locator('.widget-placeholder').first
        assert ph.is_visible() and 'ipywidgets' in ph.inner_text(), name
        assert browser_page.problems == [], f'{name}: {browser_page.problems}'
