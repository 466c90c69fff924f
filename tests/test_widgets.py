"Widget logic without a browser: Studio renders (debounce, stale drop), save/send, GapExplorer, TrainingMonitor, bad input."
import json
import numpy as np
import pytest
import torch
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.train import train_judge
from synaug_nb.generators import PixelGenerator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.models import small_cnn
from synaug_nb.plan import uniformize
from synaug_nb.prompts import PromptBook
from synaug_nb.synthesize import load_synthetic
from synaug_nb.test_utils import toy_images, ManualTimers
from synaug_nb.train import Learner
from synaug_nb.widgets import GapExplorer, Studio
from synaug_nb.monitor import TrainingMonitor, launch, launch_fn

CLASSES = ['cat', 'dog', 'fox']

@pytest.fixture(scope='module')
def real():
    y = np.repeat(np.arange(3), [20, 12, 5])
    return ImageSet(toy_images(y, size=8), y, CLASSES, name='toy')

@pytest.fixture(scope='module')
def gen(): return PixelGenerator(PixelDiffusion.build(CLASSES, size=8, widths=(8, 16)), device='cpu')

@pytest.fixture
def studio(gen, real, tmp_path):
    return Studio(gen, judge=train_judge(real, steps=5, width=8), plan=uniformize(real, target=25), out=tmp_path/'syn',
                  book_path=tmp_path/'book.json', n=4, steps=2, chunk=2, auto=False, debounce=0.2)

def test_slider_change_renders_new_images(studio):
    a = studio.render().images.clone()
    studio.auto = True
    studio.w_guidance.value = 6.0          # what moving the slider does
    studio.wait()
    assert studio.renders == 2 and studio.last_settings['guidance_scale'] == 6.0
    assert not torch.equal(a, studio.last_images)
    assert studio.w_count.value == 'renders: 2' and 'data-render="2"' in studio.w_preview.value

def test_debounce_coalesces(studio):
    "Four changes, each restarting the debounce timer, make one render of the last settings; the test fires the timers, no clock."
    studio.auto, studio.timer = True, ManualTimers()
    for s in (1, 2, 3, 4): studio.set(seed=s)
    assert studio.renders == 0 and sum(t.pending for t in studio.timer.made) == 1
    assert studio.timer.fire() == 1
    studio.wait()
    assert studio.requests == 4 and studio.renders == 1 and studio.last_settings['seed'] == 4

def test_stale_render_dropped(studio):
    j1 = studio.render(wait=False); j2 = studio.render(wait=False)
    assert j1.wait() is None and j2.wait() is not None
    assert studio.dropped == 1 and studio.renders == 1

def test_feedback_criterion_values(studio):
    studio.set(criterion='loss', feedback_scale=0.05)
    g = studio.render()
    assert (g.meta.criterion == 'loss').all() and g.meta.criterion_value.notna().all()
    assert 'loss = ' in studio.w_preview.value

def test_save_modifiers_and_send(studio, tmp_path):
    studio.w_class.value = 'fox'; studio.w_modifiers.value = 'a red\na sleepy'   # typing in the box
    p = studio.save_modifiers()
    assert PromptBook.load(p).modifiers['fox'] == ['a red', 'a sleepy']
    r = studio.send(wait=True)
    syn = load_synthetic(tmp_path/'syn')
    assert r.made == studio.plan.total and r.skipped == 0
    assert studio.send(wait=True).made == 0   # a second send resumes: nothing left to make
    assert len(syn) == studio.plan.total == studio.w_synth.value
    fox = set(syn.meta.modifier[syn.labels == 2])
    assert fox & {'a red', 'a sleepy'} and fox <= {'a red', 'a sleepy'} | set(studio.book.modifiers['*'])
    assert (syn.meta.steps == 2).all()

@pytest.mark.parametrize('kw,needle', [(dict(class_name='cow'), "'cow'"), (dict(guidance_scale=-1), '-1'),
                                       (dict(steps=0), 'steps'), (dict(dropout=0.3), 'UnCLIPGenerator'), (dict(colour=1), "'colour'")])
def test_bad_input(studio, kw, needle):
    with pytest.raises(DataError, match=needle.replace('(', r'\(')): studio.set(**kw)

def test_bad_template_keeps_book(studio):
    old = studio.book
    with pytest.raises(DataError, match='colour'): studio.set_templates(['a {colour} {class}'])
    assert studio.book is old

def test_gap_explorer(real, gen, tmp_path):
    st = Studio(gen, plan=uniformize(real, target=25), out=tmp_path/'s', n=2, steps=2, auto=False)
    st.send(wait=True); syn = load_synthetic(tmp_path/'s')
    gx = GapExplorer(real, syn, {'cnn': small_cnn(3, 1, width=8)})
    acc = gx.probe.per_class.accuracy.dropna()
    assert len(acc) and ((acc >= 0) & (acc <= 100)).all()
    kinds = {t.name.split()[-1] for t in gx.fig.data}
    assert kinds == {'real', 'synthetic'}
    gx.w_classes.value = ('cat', 'dog')
    assert gx.updates == 2 and set(gx.probe.per_class['class']) == {'cat', 'dog'}
    assert gx.sample_pairs(['dog']).count('<img') == 2
    with pytest.raises(DataError, match="'bear'"): gx.features('bear')
    with pytest.raises(DataError, match="'cow'"): GapExplorer(real, syn, {'cnn': small_cnn(3)}, classes=['cow'], auto=False)

def test_training_monitor(real):
    learner = Learner(small_cnn(3, 1, width=8), real, batch_size=16, device='cpu')
    mon = TrainingMonitor(learner, test=real, redraw_every=5)
    mon.fit(20, wait=True)
    assert len(mon.history()) == 20 and mon.w_progress.value == 20
    assert mon.redraws == 4 and mon.polls == 0          # steps 5, 10, 15 and the end; the loop drives it, nothing polls
    assert mon.w_status.value.startswith('step 20: loss')
    assert set(mon.report.split) >= {'many', 'medium', 'few', 'all'}
    assert 'Many' in mon.report._repr_markdown_()

def test_launch_fn_writes_history(real, tmp_path):
    fn = launch_fn(lambda: Learner(small_cnn(3, 1, width=8), real, batch_size=16, device='cpu'), 8, tmp_path/'h.json', every=3)
    fn()
    h = json.loads((tmp_path/'h.json').read_text())
    assert [r['step'] for r in h] == list(range(1, 9))
    assert len(TrainingMonitor(tmp_path/'h.json').poll()) == 8
    with pytest.raises(DataError, match='steps'): launch_fn(lambda: None, 0, tmp_path/'x.json')
    with pytest.raises(DataError, match='every'): launch_fn(lambda: None, 5, tmp_path/'x.json', every=0.5)

def test_launch_through_notebook_launcher(real, tmp_path):
    "accelerate's notebook_launcher with one process runs on a CPU: the monitor watches the history file to the last step."
    fn = launch_fn(lambda: Learner(small_cnn(3, 1, width=8), real, batch_size=16, device='cpu'), 10, tmp_path/'h.json', every=2)
    job = launch(fn, num_processes=1)
    mon = TrainingMonitor(tmp_path/'h.json', every=0.02)
    mon.watch(10, done=lambda: job.done, wait=True); job.wait()
    assert [r['step'] for r in mon.history()] == list(range(1, 11)) and mon.w_progress.value == 10

def test_backends_sd_and_unclip():
    from synaug_nb.diffusers_backends import SDGenerator, UnCLIPGenerator
    from synaug_nb.tiny import tiny_sd_pipeline, tiny_unclip_pipeline
    sd = Studio(SDGenerator(tiny_sd_pipeline(), device='cpu'), classes=CLASSES, n=2, steps=2, auto=False)
    assert sd.w_dropout.disabled
    g = sd.render()
    assert g.images.shape == (2, 3, 32, 32) and list(g.meta.prompt.str.endswith('cat')) == [True, True]
    y = np.repeat(np.arange(2), 3)
    un = Studio(UnCLIPGenerator(tiny_unclip_pipeline(), real=ImageSet(toy_images(y, size=16, channels=3), y, ['cat', 'dog']), device='cpu'),
                n=2, steps=2, auto=False)
    assert not un.w_dropout.disabled and un.classes == ['cat', 'dog']
    un.set(dropout=0.25)
    assert un.render().meta.embed_dropout.tolist() == [0.25, 0.25]
    with pytest.raises(DataError, match='0.99'): un.set(dropout=0.99)
