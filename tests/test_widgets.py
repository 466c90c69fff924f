"Widget logic without a browser: Studio renders (debounce, stale drop), the judge's recognised share, the controls each backend shows, cap and budget, save/send, GapExplorer, TrainingMonitor, bad input."
import html, json, re
import ipywidgets as W
import numpy as np
import pandas as pd
import pytest
import torch
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.train import train_judge
from synaug_nb.generators import Generated, PixelGenerator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.models import small_cnn
from synaug_nb.plan import uniformize
from synaug_nb.prompts import PromptBook
from synaug_nb.synthesize import load_synthetic
from synaug_nb.test_utils import toy_images, ManualTimers
from synaug_nb.train import Learner
from synaug_nb.widgets import Studio
from synaug_nb.explorer import GapExplorer
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
    studio.set_modifiers('fox', ['a red', 'a sleepy'])   # the pixel backend shows no prompt boxes; the book still goes to synthesize, which records it
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
    assert sd.w_dropout.disabled and 'image-emb dropout' not in sd.shown()
    g = sd.render()
    assert g.images.shape == (2, 3, 32, 32) and list(g.meta.prompt.str.endswith('cat')) == [True, True]
    assert all(html.escape(p) in sd.w_preview.value for p in g.meta.prompt)        # captioned with the prompts it was conditioned on
    y = np.repeat(np.arange(2), 3)
    un = Studio(UnCLIPGenerator(tiny_unclip_pipeline(), real=ImageSet(toy_images(y, size=16, channels=3), y, ['cat', 'dog']), device='cpu'),
                n=2, steps=2, auto=False)
    assert not un.w_dropout.disabled and un.classes == ['cat', 'dog'] and 'image-emb dropout' in un.shown()
    un.set(dropout=0.25)
    assert un.render().meta.embed_dropout.tolist() == [0.25, 0.25]
    with pytest.raises(DataError, match='0.99'): un.set(dropout=0.99)


# --- the judge's recognised share under the grid: stand-in generators and a judge that reads the class off a grey level ---

class GreyJudge(torch.nn.Module):
    "Reads the class off the top-left pixel: class k for a grey level in [k/C, (k+1)/C)."
    def forward(self, x):
        k = (x[:, 0, 0, 0] * len(CLASSES)).floor().long().clamp(0, len(CLASSES) - 1)
        return torch.nn.functional.one_hot(k, len(CLASSES)).float()

class ClassGen:
    "An image of the asked class: every pixel at the class's grey level, (k + 0.5) / C."
    def generate(self, labels, seeds, **kw):
        v = (torch.as_tensor(np.asarray(labels), dtype=torch.float32) + 0.5) / len(CLASSES)
        return Generated(v.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).clone(), pd.DataFrame(index=range(len(labels))))

class NoiseGen:
    "Uniform noise, whatever the class."
    def generate(self, labels, seeds, **kw):
        g = torch.Generator().manual_seed(int(seeds[0]) % 2**31)
        return Generated(torch.rand(len(labels), 1, 8, 8, generator=g), pd.DataFrame(index=range(len(labels))))

@pytest.fixture(scope='module')
def grey_heldout():
    "5 real images per class at its grey level, the first of each at the next class's: the judge gets 80% of each class."
    y = np.repeat(np.arange(3), 5); k = y.copy(); k[::5] = (y[::5] + 1) % 3
    lv = np.round((k + 0.5) / 3 * 255).astype(np.uint8)
    return ImageSet(np.ascontiguousarray(np.broadcast_to(lv[:, None, None], (15, 8, 8))), y, CLASSES, name='grey held-out')

def test_recognised_share_class_images(grey_heldout):
    st = Studio(ClassGen(), classes=CLASSES, judge=GreyJudge(), heldout=grey_heldout, n=8, auto=False)
    st.set(class_name='dog'); st.render()
    r = st.last_recognition
    assert (r['class'], r['n'], r['hits'], r['recognised'], r['real'], r['chance'], r['verdict']) == ('dog', 8, 8, 100.0, 80.0, 33.3, 'pass')
    assert st.real_accuracy() == {'cat': 80.0, 'dog': 80.0, 'fox': 80.0}
    assert html.unescape(st.w_recognition.value).count("the judge labels 8 of 8 (100%) as 'dog' · on held-out real images of 'dog' it gets 80% · chance 33%<") == 1

def test_recognised_share_noise_near_chance(grey_heldout):
    st = Studio(NoiseGen(), classes=CLASSES, judge=GreyJudge(), heldout=grey_heldout, n=60, chunk=60, auto=False)
    st.set(class_name='fox'); st.render()
    r = st.last_recognition
    assert r['n'] == 60 and abs(r['recognised'] - r['chance']) < 12 and r['recognised'] == round(100 * r['hits'] / 60, 1)
    assert r['verdict'] == 'fail' and r['score'] < 0.25
    assert 'too close to chance: these are not recognisably' in html.unescape(st.w_recognition.value)

def test_recognised_share_without_heldout_or_judge(gen):
    st = Studio(ClassGen(), classes=CLASSES, judge=GreyJudge(), n=4, auto=False); st.render()
    assert st.last_recognition['real'] is None and st.last_recognition['verdict'] is None and st.last_recognition['recognised'] == 100.0
    assert html.unescape(st.w_recognition.value).count("as 'cat' · chance 33%<") == 1 and 'held-out' not in st.w_recognition.value
    none = Studio(gen, n=2, steps=2, auto=False); none.render()
    assert none.last_recognition is None and none.w_recognition.value == ''
    with pytest.raises(DataError, match='pass judge= too'): Studio(gen, heldout=ImageSet(toy_images([0], size=8), [0], CLASSES))
    with pytest.raises(DataError, match='heldout classes'): Studio(gen, judge=GreyJudge(), heldout=ImageSet(toy_images([0], size=8), [0], ['a', 'b']))

# --- the controls each backend uses, shown in full ---

def test_prompt_controls_follow_the_backend(gen):
    from synaug_nb.diffusers_backends import SDGenerator
    from synaug_nb.tiny import tiny_sd_pipeline
    prompt_boxes = {'templates', 'modifiers', 'book file', 'save modifiers'}
    pix = Studio(gen, n=2, steps=2, auto=False)
    assert not (prompt_boxes | {'image-emb dropout', 'group'}) & set(pix.shown())
    assert {'class', 'guidance scale', 'feedback', 'steps', 'seed', 'send to synthesize'} <= set(pix.shown())
    g = pix.render()
    assert (g.meta.prompt == '').all() and 'templates' not in pix.settings()
    assert 'photo' not in pix.w_preview.value and '(no prompt)' not in pix.w_preview.value and pix.w_preview.value.count('no feedback') == 2
    sd = Studio(SDGenerator(tiny_sd_pipeline(), device='cpu'), classes=CLASSES, auto=False)
    assert prompt_boxes <= set(sd.shown()) and 'image-emb dropout' not in sd.shown() and 'templates' in sd.settings()
    sd.w_class.value = 'fox'; sd.w_modifiers.value = 'a red\na sleepy'          # typing in the box
    assert sd.book.modifiers['fox'] == ['a red', 'a sleepy']

def test_descriptions_and_buttons_not_cut(studio):
    ws = [w for k, w in vars(studio).items() if k.startswith('w_') and getattr(w, 'description', '')]
    assert {'image-emb dropout', 'send to synthesize', 'budget (synthetic images)'} <= {w.description for w in ws}
    for w in ws:
        if isinstance(w, W.Button): assert w.layout.width == 'auto', w.description
        else: assert w.style.description_width == 'initial', w.description

# --- cap and budget of the plan to send ---

def test_budget_widgets_replan(studio, tmp_path):
    assert studio.send_plan() == studio.plan and studio.plan.total == 38        # need 5, 13, 20
    studio.w_cap.value = '20'                                                   # typing in the box
    assert studio.send_plan().need.tolist() == [0, 8, 15] and 'sends 23 synthetic images to 2 of 3 classes' in studio.w_plan.value
    studio.set(budget=10)
    assert studio.send_plan().need.tolist() == [0, 3, 7] and studio.w_budget.value == '10'    # deficit: in proportion to 8 and 15
    studio.set(share='weakest')
    assert studio.send_plan().need.tolist() == [0, 2, 8] and studio.send_plan() == studio.plan.capped(20).with_budget(10, 'weakest')
    studio.render_rate, studio.png_bytes = 5.0, 2**20 / 10                      # as if the last render made 5 images/s of 0.1 MB
    assert studio.plan_line() == ("sends 10 synthetic images to 2 of 3 classes (the plan alone: 38) · about 2 s at the 5.0 images/s "
                                  "of the last render · about 1.0 MB as PNG")
    r = studio.send(wait=True)
    assert r.made == 10 and studio.sent_plan.total == 10 and len(load_synthetic(tmp_path/'syn')) == 10 and studio.w_synth.value == 10
    studio.set(cap=None, budget=None)
    assert studio.send_plan().total == 38 and studio.w_cap.value == ''

@pytest.mark.parametrize('box,value,needle', [
    ('budget', '100', 'budget 100 is more than this plan needs: 38 synthetic images fill every class to its target'),
    ('budget', '-1', 'budget (synthetic images in all) must be an integer >= 0; got -1'),
    ('cap', '-5', 'cap (images per class after filling) must be an integer >= 1; got -5'),
    ('cap', 'lots', "cap must be a whole number, or empty for none; got 'lots'")])
def test_bad_budget_shows_error_and_sends_nothing(studio, tmp_path, box, value, needle):
    getattr(studio, f'w_{box}').value = value                                   # typed in the box
    assert needle in html.unescape(studio.w_status.value) and studio.w_plan.value == ''
    studio.w_status.value = ''
    studio.w_send.click()                                                       # the button: the error again, and nothing sent
    assert needle in html.unescape(studio.w_status.value)
    with pytest.raises(DataError, match=re.escape(needle)): studio.send(wait=True)
    assert studio.sent_plan is None and studio.synth_result is None and not (tmp_path/'syn').exists()
    getattr(studio, f'w_{box}').value = ''                                      # cleared: the error goes, the whole plan is back
    assert studio.w_status.value == '' and 'sends 38 synthetic images' in studio.w_plan.value

def test_set_budget_checks_first(studio, gen):
    with pytest.raises(DataError, match=re.escape('budget 39 is more than this plan needs: 38')): studio.set(budget=39)
    with pytest.raises(DataError, match="unknown budget share 'most'"): studio.set(share='most')
    assert studio.w_budget.value == '' and studio.w_share.value == 'deficit'   # nothing moved
    with pytest.raises(DataError, match='send needs a plan'): Studio(gen, auto=False).set(cap=3)
    with pytest.raises(DataError, match='budget 50 is more'): Studio(gen, plan=studio.plan, budget=50, auto=False)
