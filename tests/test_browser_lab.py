"""Real browser: JupyterLab + headless Chromium run a notebook with a Studio and a GapExplorer; moving the guidance slider re-renders
the sample grid with new images, and the gap explorer's plotly scatter is drawn. The server and browser are stopped by PID."""
import os, re, shutil, signal, socket, subprocess, sys, tempfile, threading
from pathlib import Path
import nbformat
import pytest

CHROMIUM = '/usr/bin/chromium'
pytest.importorskip('playwright.sync_api', reason="python package playwright is not installed (pip install playwright)")
if not Path(CHROMIUM).exists(): pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
from playwright.sync_api import sync_playwright

CELLS = ["""\
import numpy as np
from synaug_nb.data import ImageSet
from synaug_nb.generators import PixelGenerator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.models import small_cnn
from synaug_nb.test_utils import toy_images
from synaug_nb.widgets import Studio
from synaug_nb.explorer import GapExplorer
from synaug_nb.plan import uniformize""",
"""\
classes = ['cat', 'dog', 'fox']
gen = PixelGenerator(PixelDiffusion.build(classes, size=8, widths=(8, 16)), device='cpu')
y = np.repeat(np.arange(3), 12)
real = ImageSet(toy_images(y, size=8, seed=0), y, classes, name='real')
studio = Studio(gen, judge=small_cnn(3, 1, width=8), heldout=real, plan=uniformize(real, target=20), n=4, steps=2, debounce=0.2)
studio""",
"""\
syn = ImageSet(255 - toy_images(y, size=8, seed=1), y, classes, domain='synthetic', name='synthetic')
gx = GapExplorer(real, syn, {'cnn': small_cnn(3, 1, width=8)})
gx"""]

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

PUMPS = []   # the threads copying the processes' output to their logs, joined before the logs close

def _await_line(proc, stream, pattern:str, log, timeout:float):
    "Copy `stream`'s lines to `log` on a thread for the process's whole life, and block until a line matches `pattern` (its match)."
    found, box = threading.Event(), {}
    def pump():
        for raw in stream:
            line = raw.decode(errors='replace'); log.write(line); log.flush()
            if 'm' not in box and (m := re.search(pattern, line)): box['m'] = m; found.set()
        found.set()   # the stream closed: the process ended
    t = threading.Thread(target=pump, daemon=True); t.start(); PUMPS.append(t)
    if not found.wait(timeout): raise TimeoutError(f"no line matching {pattern!r} in {timeout} s (see {log.name})")
    if 'm' not in box: raise RuntimeError(f"the process exited ({proc.poll()}) before printing {pattern!r} (see {log.name})")
    return box['m']

def _stop(proc):
    "Stop a process we started (and its session) by PID: SIGTERM, then SIGKILL."
    if proc.poll() is not None: return
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: return
    try: proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)

@pytest.fixture
def lab():
    root = Path(tempfile.mkdtemp(prefix='synaug-lab-'))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
                                  metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}})
    nbformat.write(nb, root/'studio.ipynb')
    notif = root/'.settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    notif.parent.mkdir(parents=True); notif.write_text('{"fetchNews": "false", "checkForUpdates": false}')   # no news toast over the widgets
    port = _free_port()
    env = {**os.environ, 'JUPYTER_RUNTIME_DIR': str(root/'.runtime'), 'JUPYTER_CONFIG_DIR': str(root/'.config'), 'JUPYTERLAB_SETTINGS_DIR': str(root/'.settings'),
           'JUPYTERLAB_WORKSPACES_DIR': str(root/'.ws')}
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}',
           '--IdentityProvider.token=', '--ServerApp.password=', f'--ServerApp.root_dir={root}', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    log, blog = open(root/'lab.log', 'w'), open(root/'chromium.log', 'w')
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    browser = subprocess.Popen([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                                f'--user-data-dir={root/".chromium"}', '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1',
                                'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        # each process says when it listens: the server prints its URL, Chromium its DevTools endpoint (port 0: it picks one)
        _await_line(server, server.stdout, rf'http://127\.0\.0\.1:{port}/lab', log, 120)
        cdp = _await_line(browser, browser.stderr, r'DevTools listening on ws://127\.0\.0\.1:(\d+)/', blog, 60).group(1)
        yield dict(url=f'http://127.0.0.1:{port}/lab/tree/studio.ipynb', cdp=f'http://127.0.0.1:{cdp}', root=root, server=server, browser=browser)
    finally:
        _stop(browser); _stop(server)
        for t in PUMPS: t.join(30)   # the streams close when the processes end
        PUMPS.clear(); log.close(); blog.close()
        assert server.poll() is not None and browser.poll() is not None
        shutil.rmtree(root, ignore_errors=True)

STARTED = r"(i) => /\[(\d+|\*)\]/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-InputPrompt').textContent)"
RAN = r"(i) => /\[\d+\]/.test(document.querySelectorAll('.jp-Notebook .jp-Cell')[i].querySelector('.jp-InputPrompt').textContent)"

def _run_cell(page, i:int):
    "Run cell `i` with Shift+Enter (again if a keypress was lost while Lab was still loading) and wait for its execution count."
    cell = page.locator('.jp-Notebook .jp-Cell').nth(i)
    for attempt in range(3):
        cell.locator('.jp-InputArea-editor').click(); page.keyboard.press('Shift+Enter')
        try: page.wait_for_function(STARTED, arg=i, timeout=10_000); break
        except Exception:
            if attempt == 2: raise
    page.wait_for_function(RAN, arg=i)

def _srcs(page): return page.eval_on_selector_all('.synaug-grid img', 'els => els.map(e => e.src)')

def test_studio_and_gap_in_jupyterlab(lab):
    with sync_playwright() as p:
        br = p.chromium.connect_over_cdp(lab['cdp'])
        page = (br.contexts[0] if br.contexts else br.new_context()).new_page()
        page.set_viewport_size({'width': 1500, 'height': 1000})
        page.set_default_timeout(60_000)
        try: _drive(page, lab)
        except Exception:
            os.makedirs('/tmp/synaug_browser', exist_ok=True); page.screenshot(path='/tmp/synaug_browser/fail.png')
            shutil.copy(lab['root']/'lab.log', '/tmp/synaug_browser/lab.log'); raise
        br.close()

def _drive(page, lab):
    "Open the notebook, run its cells, move the slider, check the grid and the scatter."
    page.goto(lab['url'])
    page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell')
    page.wait_for_selector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelStatus, .jp-Notebook-ExecutionIndicator', state='attached')
    page.wait_for_function("() => !!document.querySelector('.jp-Notebook') && document.querySelectorAll('.jp-Notebook .jp-Cell').length >= 3")
    page.click('.jp-Notebook .jp-Cell .jp-InputArea-editor')
    page.evaluate("() => window.dispatchEvent(new Event('resize'))")
    page.wait_for_selector('.jp-StatusBar-TextItem:has-text("Idle")')   # the kernel is up
    for i in range(len(CELLS)): _run_cell(page, i)
    # the first render shows 4 images and 'renders: 1'
    page.wait_for_selector('.synaug-render-count:has-text("renders: 1")')
    page.wait_for_function("() => document.querySelectorAll('.synaug-grid img').length == 4")
    before = _srcs(page)
    assert all(s.startswith('data:image/png;base64,') for s in before)
    cut = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea .widget-label, .jp-OutputArea .widget-label-basic, .jp-OutputArea button')]
        .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())""")
    assert cut == [], f"labels or buttons cut off: {cut}"    # as users saw 'send to synthe…' and 'image-emb dr…'
    assert page.locator('.jp-OutputArea button', has_text='send to synthesize').count() == 1
    page.wait_for_selector('.synaug-recognition:has-text("the judge labels")')          # the recognised share under the grid
    assert page.locator('.jp-OutputArea label', has_text='image-emb dropout').count() == 0   # the embedded generator has no image embedding
    # move the guidance slider: drag its handle to the right
    slider = page.locator('.widget-hslider', has=page.locator('label', has_text='guidance scale'))
    handle = slider.locator('.noUi-handle')
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box(); x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
    page.mouse.move(x, y); page.mouse.down(); page.mouse.move(x + 40, y, steps=5); page.mouse.up()   # drag the handle right
    page.wait_for_selector('.synaug-render-count:has-text("renders: 2")')
    after = _srcs(page)
    assert len(after) == 4 and after != before, "the grid did not re-render with new images"
    readout = slider.locator('.widget-readout').inner_text()
    assert float(readout) > 2.0, readout
    # the gap explorer's plotly scatter: one trace per class and domain
    page.wait_for_selector('.js-plotly-plot .scatterlayer .trace')
    n_traces = page.eval_on_selector_all('.js-plotly-plot .scatterlayer .trace', 'els => els.length')
    legend = page.eval_on_selector_all('.js-plotly-plot .legendtext', 'els => els.map(e => e.textContent)')
    assert n_traces == 6 and any('real' in t for t in legend) and any('synthetic' in t for t in legend), (n_traces, legend)
    assert page.locator('.synaug-probe table').count() == 1
    page.screenshot(path=str(lab['root']/'lab.png'))
    os.makedirs('/tmp/synaug_browser', exist_ok=True); shutil.copy(lab['root']/'lab.png', '/tmp/synaug_browser/lab.png')
