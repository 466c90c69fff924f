"diffusers habits (issue 28): a pipeline object or a folder, `dtype` (alias `torch_dtype`), `keep_scheduler` and a scheduler object through `load_generator`; the user's pipeline never changed; every generation setting recorded; backends from installed packages; `num_inference_steps`."
import json, os, sys, warnings
import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler
from conftest import synaug_in_process as here, synaug_process as proc
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.diffusers_backends import SDGenerator, UnCLIPGenerator
from synaug_nb.generators import BACKENDS, Backend, PixelGenerator, discover_backends, load_generator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.plan import Plan, uniformize
from synaug_nb.prompts import default_book
from synaug_nb.synthesize import attempt_seed, read_manifest, synthesize
from synaug_nb.test_utils import toy_images
from synaug_nb.tiny import save_tiny_checkpoint, tiny_sd_components, tiny_sd_pipeline, tiny_unclip_pipeline

LABELS = np.repeat([0, 1], [4, 2])
PROMPTS = ['a photo of a cat', 'a photo of a dog']

@pytest.fixture(scope='module')
def real(): return ImageSet(toy_images(LABELS, 32, 3), LABELS, ['cat', 'dog'], name='real')

@pytest.fixture(scope='module')
def ckpt(tmp_path_factory): return save_tiny_checkpoint(tiny_sd_pipeline(seed=0), tmp_path_factory.mktemp('ck')/'sd')

@pytest.fixture(scope='module')
def euler_ckpt(tmp_path_factory):
    "A checkpoint saved with an Euler scheduler, as many community checkpoints are."
    pipe = tiny_sd_pipeline(seed=0); pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    return save_tiny_checkpoint(pipe, tmp_path_factory.mktemp('ck')/'sd-euler')

def euler_pipe():
    "A user's own pipeline, built from components, with an Euler scheduler (no progress-bar setting of its own)."
    from diffusers import StableDiffusionPipeline
    parts = tiny_sd_components(0); parts['scheduler'] = EulerDiscreteScheduler.from_config(parts['scheduler'].config)
    return StableDiffusionPipeline(**parts, requires_safety_checker=False)

def images(g, **kw): return g.generate([0, 1], seeds=[0, 1], prompts=PROMPTS, num_inference_steps=2, guidance_scale=3.0, **kw).images

# --- a pipeline object or a folder ---

def test_load_generator_takes_a_pipeline_object():
    pipe = tiny_sd_pipeline(seed=0)
    g = load_generator('sd', pipe)                                          # was: OSError: File name too long
    assert type(g) is SDGenerator and g.pipe is pipe and g.device.type == 'cpu'
    assert torch.allclose(images(g), images(SDGenerator(tiny_sd_pipeline(seed=0), device='cpu')), atol=1e-5)

def test_load_generator_takes_an_unclip_pipeline_object(real):
    pipe = tiny_unclip_pipeline(seed=0)
    g = load_generator('unclip', pipe, real=real, dropout=0.25, resolution=32)
    assert type(g) is UnCLIPGenerator and g.pipe is pipe and g.dropout == 0.25 and g.settings()['embed_dropout'] == 0.25

def test_a_model_that_is_no_pipeline_is_refused():
    with pytest.raises(DataError, match="backend 'sd' takes a checkpoint folder, a hub id or a diffusers pipeline object; got a int"): load_generator('sd', 42)

def test_a_pipeline_without_the_backends_parts_is_refused(real):
    with pytest.raises(DataError, match=r"the StableDiffusionPipeline has no \['image_encoder', 'feature_extractor'"):
        load_generator('unclip', tiny_sd_pipeline(seed=0), real=real)

# --- dtype, its deprecated alias torch_dtype ---

def test_dtype_loads_the_weights_in_it(ckpt):
    assert load_generator('sd', ckpt, device='cpu', dtype=torch.bfloat16).pipe.unet.dtype == torch.bfloat16
    assert load_generator('sd', ckpt, device='cpu', dtype='float32').pipe.unet.dtype == torch.float32
    assert SDGenerator.from_pretrained(ckpt, device='cpu', dtype=torch.bfloat16).dtype == torch.bfloat16

def test_torch_dtype_still_works_and_warns_naming_dtype(ckpt):
    with pytest.warns(FutureWarning, match=r"torch_dtype= is deprecated .* pass dtype="):
        g = load_generator('sd', ckpt, device='cpu', torch_dtype=torch.bfloat16)   # was: TypeError
    assert g.pipe.unet.dtype == torch.bfloat16
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); SDGenerator.from_pretrained(ckpt, device='cpu')
    assert not [x for x in w if 'torch_dtype' in str(x.message)]          # diffusers is given its own name, dtype=

def test_dtype_and_torch_dtype_together_is_an_error(ckpt):
    with pytest.raises(DataError, match=r"pass dtype= only; torch_dtype= is its deprecated alias"):
        load_generator('sd', ckpt, dtype=torch.float16, torch_dtype=torch.float16)
    with pytest.raises(DataError, match=r"pass dtype= only"): SDGenerator.from_pretrained(ckpt, dtype=torch.float16, torch_dtype=torch.float16)

@pytest.mark.parametrize('kw,msg', [(dict(dtype='float8'), "dtype must be one of torch.float32, torch.float16, torch.bfloat16 .or its name.; got 'float8'"),
                                    (dict(dtype=torch.float16), r"the pipeline's weights are torch.float32, not torch.float16; convert it yourself \(pipe.to\(dtype=torch.float16\)\)"),
                                    (dict(device='meta'), r"the pipeline is on cpu, not meta; move it yourself \(pipe.to\('meta'\)\)")])
def test_a_pipeline_object_is_never_converted_nor_moved(kw, msg):
    pipe = tiny_sd_pipeline(seed=0)
    with pytest.raises(DataError, match=msg): load_generator('sd', pipe, **kw)
    assert pipe.device.type == 'cpu' and pipe.unet.dtype == torch.float32

def test_pixel_backend_takes_no_dtype(tmp_path):
    PixelDiffusion.build(['a', 'b'], size=8, widths=(8, 16), seed=0).save_pretrained(tmp_path/'g')
    with pytest.raises(DataError, match=r"backend 'pixel' takes no dtype=; it reads keep_scheduler, scheduler"):
        load_generator('pixel', tmp_path/'g', dtype=torch.float16)

# --- keep_scheduler, a scheduler object or name ---

def test_keep_scheduler_through_load_generator(euler_ckpt):
    kept = load_generator('sd', euler_ckpt, device='cpu', keep_scheduler=True)   # was: TypeError
    assert (type(kept.scheduler).__name__, kept.scheduler_swap) == ('EulerDiscreteScheduler', '')
    with pytest.warns(UserWarning, match='keep_scheduler=True'): swapped = load_generator('sd', euler_ckpt, device='cpu')
    assert (type(swapped.scheduler).__name__, swapped.scheduler_swap) == ('DDIMScheduler', 'EulerDiscreteScheduler -> DDIMScheduler')

def test_a_scheduler_object_through_load_generator(euler_ckpt):
    theirs = DPMSolverMultistepScheduler.from_config(EulerDiscreteScheduler().config, timestep_spacing='trailing')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); g = load_generator('sd', euler_ckpt, device='cpu', scheduler=theirs)
    assert not [x for x in w if 'keep_scheduler' in str(x.message)]         # no DDIM swap to warn about
    assert type(g.scheduler) is DPMSolverMultistepScheduler and g.scheduler is not theirs and g.scheduler_swap == ''
    assert g.scheduler.config.timestep_spacing == 'trailing'
    images(g)
    assert theirs.num_inference_steps is None                               # a copy sampled
    assert load_generator('sd', euler_ckpt, device='cpu', scheduler='unipc').sampler == 'unipc'
    with pytest.raises(DataError, match='pass one of them'): load_generator('sd', euler_ckpt, keep_scheduler=True, scheduler=theirs)
    with pytest.raises(DataError, match="scheduler must be a diffusers scheduler"): load_generator('sd', euler_ckpt, scheduler=object())

# --- the user's pipeline object is never changed ---

@pytest.mark.parametrize('kw', [dict(), dict(keep_scheduler=True), dict(scheduler='dpm'),
                                dict(scheduler=DDIMScheduler(beta_schedule='scaled_linear', beta_start=0.00085, beta_end=0.012))])
def test_the_users_pipeline_is_not_mutated(kw):
    pipe = euler_pipe(); theirs = pipe.scheduler; cfg = dict(theirs.config)
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); g = SDGenerator(pipe, device='cpu', **kw)
    assert pipe.scheduler is theirs                                          # was: replaced by a DDIMScheduler on the user's object
    images(g); images(Img2Img(g))
    assert pipe.scheduler is theirs and g.scheduler is not theirs
    assert theirs.num_inference_steps is None and dict(theirs.config) == cfg     # with keep_scheduler, was: stepped by the loop
    assert '_progress_bar_config' not in vars(pipe)                          # was: progress bar switched off on it

def Img2Img(g):
    from synaug_nb.generators import Img2ImgGenerator
    return Img2ImgGenerator(g, ImageSet(toy_images([0, 1], 32, 3), [0, 1], ['cat', 'dog']), strength=0.5)

# --- every generation setting recorded ---

def test_sd_run_records_every_setting(tmp_path, real):
    pipe = euler_pipe(); out = tmp_path/'sd'; plan = uniformize(real)
    g = SDGenerator(pipe, device='cpu', height=40, width=48, negative_prompt='blurry', scheduler=DPMSolverMultistepScheduler.from_config(pipe.scheduler.config))
    synthesize(plan, g, out, prompts=default_book(), num_inference_steps=2, guidance_scale=3.5, batch_size=1, progress=False)
    rj = json.loads((out/'run.json').read_text())
    assert rj['generator_settings'] == {'height': 40, 'width': 48, 'negative_prompt': 'blurry'}
    assert (rj['steps'], rj['guidance_scale'], rj['scheduler'], rj['plan']['seed']) == (2, 3.5, 'DPMSolverMultistepScheduler', plan.seed)
    sc = rj['scheduler_config']
    assert sc['_class_name'] == 'DPMSolverMultistepScheduler' and sc['beta_schedule'] == 'scaled_linear'   # was: no class for the config
    rebuilt = DPMSolverMultistepScheduler.from_config(sc)
    assert {k: v for k, v in rebuilt.config.items() if not k.startswith('_')} == {k: v for k, v in g.scheduler.config.items() if not k.startswith('_')}
    man = read_manifest(out)
    assert man.seed.tolist() == [attempt_seed(plan.seed, i, a) for i, a in zip(man['index'], man['attempt'])]   # each image's seed
    assert (man.steps.tolist(), man.guidance_scale.tolist()) == ([2] * len(man), [3.5] * len(man))

def test_load_generator_takes_size_and_negative_prompt(real):
    "diffusers' pipelines take height=, width= and negative_prompt=: so does load_generator for sd and unclip; the embedded backend refuses them by name."
    g = load_generator('sd', euler_pipe(), device='cpu', height=40, width=48, negative_prompt='blurry')
    assert g.settings() == {'height': 40, 'width': 48, 'negative_prompt': 'blurry'}
    assert load_generator('sd', euler_pipe(), device='cpu', resolution=40).settings()['width'] == 40          # resolution: square
    u = load_generator('unclip', tiny_unclip_pipeline(seed=0), device='cpu', real=real, negative_prompt='text', height=32, width=32)
    assert (u.settings()['negative_prompt'], u.settings()['height']) == ('text', 32)
    with pytest.raises(DataError, match='height=40 and resolution=32 disagree: pass one of them'):
        load_generator('sd', euler_pipe(), device='cpu', resolution=32, height=40)
    with pytest.raises(DataError, match="backend 'pixel' takes no negative_prompt=; it reads keep_scheduler, scheduler"):
        load_generator('pixel', 'some/folder', negative_prompt='blurry')

def test_a_ddim_run_records_its_scheduler_class(tmp_path, real):
    out = tmp_path/'sd'
    synthesize(uniformize(real), SDGenerator(tiny_sd_pipeline(seed=0), device='cpu'), out, prompts=default_book(), num_inference_steps=2, batch_size=2, progress=False)
    rj = json.loads((out/'run.json').read_text())
    assert 'scheduler' not in rj and rj['scheduler_config']['_class_name'] == 'DDIMScheduler'   # `scheduler` stays for other classes only: older folders resume

def test_unclip_run_records_embed_dropout(tmp_path, real):
    out = tmp_path/'u'
    synthesize(uniformize(real), UnCLIPGenerator(tiny_unclip_pipeline(seed=0), real, dropout=0.3, device='cpu'), out, prompts=default_book(),
               num_inference_steps=2, batch_size=2, progress=False)
    gs = json.loads((out/'run.json').read_text())['generator_settings']
    assert (gs['embed_dropout'], gs['height'], gs['width'], gs['negative_prompt']) == (0.3, 32, 32, '')

@pytest.fixture(scope='module')
def pix():
    return PixelGenerator(PixelDiffusion.build(['a', 'b', 'c'], size=8, widths=(8, 16), seed=0, prediction_type='v_prediction'), device='cpu')

PLAN = Plan(['a', 'b', 'c'], None, 'class', [5, 2, 0], [5, 5, 5], seed=3)

def test_a_folder_without_the_scheduler_class_resumes_and_gains_it(tmp_path, pix):
    out = tmp_path/'p'
    synthesize(PLAN, pix, out, num_inference_steps=2, batch_size=4, progress=False, max_batches=1)
    rj = out/'run.json'; run = json.loads(rj.read_text())
    rj.write_text(json.dumps({**run, 'scheduler_config': {k: v for k, v in run['scheduler_config'].items() if k != '_class_name'}}))   # as before
    assert synthesize(PLAN, pix, out, num_inference_steps=2, batch_size=4, progress=False).made == PLAN.total - 4
    assert json.loads(rj.read_text()) == run
    other = PixelGenerator(pix.model, device='cpu', scheduler='unipc')
    with pytest.raises(DataError, match=r"differs in \['scheduler', 'scheduler_config'\]"):
        synthesize(PLAN, other, out, num_inference_steps=2, batch_size=4, progress=False)

# --- num_inference_steps, steps its deprecated alias ---

def test_generate_takes_num_inference_steps_and_steps_warns(pix):
    a = pix.generate([0, 1], seeds=[0, 1], num_inference_steps=3)
    with pytest.warns(FutureWarning, match=r"steps= is deprecated .* pass num_inference_steps="):
        b = pix.generate([0, 1], seeds=[0, 1], steps=3)
    assert torch.equal(a.images, b.images) and b.meta.steps.tolist() == [3, 3]
    with pytest.raises(DataError, match='pass num_inference_steps= only'): pix.generate([0], seeds=[0], steps=3, num_inference_steps=3)
    with pytest.raises(DataError, match='num_inference_steps must be an integer >= 1; got 0'): pix.generate([0], seeds=[0], num_inference_steps=0)

def test_synthesize_takes_num_inference_steps_and_steps_warns(tmp_path, pix):
    synthesize(PLAN, pix, tmp_path/'a', num_inference_steps=2, batch_size=4, progress=False)
    with pytest.warns(FutureWarning, match='pass num_inference_steps='):
        synthesize(PLAN, pix, tmp_path/'b', steps=2, batch_size=4, progress=False)
    assert json.loads((tmp_path/'a'/'run.json').read_text()) == json.loads((tmp_path/'b'/'run.json').read_text())
    assert [p.read_bytes() for p in sorted((tmp_path/'a').rglob('*.png'))] == [p.read_bytes() for p in sorted((tmp_path/'b').rglob('*.png'))]

def test_our_own_callers_are_not_warned(pix):
    "A module of synaug_nb still passing steps= is ours to move over, not the user's to act on: no warning."
    code = compile("def call(g): return g.generate([0], seeds=[0], steps=2)", '<synaug_nb.fake>', 'exec')
    ns = {'__name__': 'synaug_nb.fake'}; exec(code, ns)
    with warnings.catch_warnings(): warnings.simplefilter('error', FutureWarning); ns['call'](pix)

def test_a_generator_written_before_the_rename_still_synthesizes(tmp_path, pix):
    class Old(PixelGenerator):
        def generate(self, labels, seeds, groups=None, prompts=None, steps=25, guidance_scale=2.0, feedback=None):   # a plugin's own signature
            return PixelGenerator.generate(self, labels, seeds, groups=groups, prompts=prompts, num_inference_steps=steps, guidance_scale=guidance_scale, feedback=feedback)
    old = Old(pix.model, device='cpu')
    assert synthesize(PLAN, old, tmp_path/'o', num_inference_steps=2, batch_size=4, progress=False).made == PLAN.total

# --- backends from installed packages ---

PLUGIN = '''
from synaug_nb.generators import Backend, PixelGenerator
def _load(model, device=None): return PixelGenerator.from_pretrained(model, device=device)
echo = Backend('pixel-echo', _load, (), 'the embedded model under another name (a plugin)')
def rogue():
    from synaug_nb.generators import register_backend
    register_backend('sd', _load)
'''

@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    "A package installed only as a dist-info folder and a module on sys.path: two good entry points, a broken one, and one that would replace 'sd'."
    (tmp_path/'synaug_fake_backends.py').write_text(PLUGIN)
    di = tmp_path/'synaug_fake_backends-0.1.dist-info'; di.mkdir()
    (di/'METADATA').write_text('Metadata-Version: 2.1\nName: synaug-fake-backends\nVersion: 0.1\n')
    (di/'entry_points.txt').write_text('[synaug_nb.backends]\npixel-echo = synaug_fake_backends:echo\nbroken = synaug_fake_backends:missing\n'
                                       'rogue = synaug_fake_backends:rogue\n')
    saved = dict(dict.items(BACKENDS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    monkeypatch.undo(); sys.modules.pop('synaug_fake_backends', None)
    dict.clear(BACKENDS); dict.update(BACKENDS, saved); BACKENDS.added.clear(); discover_backends(reload=True)

def test_backends_of_installed_packages_are_found(plugin_path, tmp_path):
    sd = BACKENDS['sd']
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); discover_backends(reload=True)
    others = {k: v for k, v in BACKENDS.added.items() if v != 'synaug-plugin-example'}   # the example plugin (tests/plugin_example) adds pixel_unipc
    assert 'pixel-echo' in BACKENDS and others == {'pixel-echo': 'synaug-fake-backends'}
    assert [b for b in ('pixel', 'sd', 'unclip') if b in BACKENDS] == ['pixel', 'sd', 'unclip'] and BACKENDS['sd'] is sd   # never hidden
    msgs = sorted(str(x.message) for x in w if 'backend plugin' in str(x.message))
    assert len(msgs) == 2 and all('\n' not in m for m in msgs)
    assert "the backend plugin 'broken' of the package synaug-fake-backends" in msgs[0] and 'AttributeError' in msgs[0]
    assert "the backend plugin 'rogue' of the package synaug-fake-backends" in msgs[1] and "would replace the built-in backend(s) ['sd']" in msgs[1]
    PixelDiffusion.build(['a', 'b'], size=8, widths=(8, 16), seed=0).save_pretrained(tmp_path/'g')
    assert type(load_generator('pixel-echo', tmp_path/'g', device='cpu')) is PixelGenerator

def test_discovery_is_lazy_on_first_lookup(plugin_path, monkeypatch):
    monkeypatch.setattr(BACKENDS, '_pending', True)      # as after import: armed, not yet read
    assert 'pixel-echo' not in dict.keys(BACKENDS)
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); assert 'pixel-echo' in BACKENDS   # the lookup found it

def test_synaug_list_shows_an_installed_backend(plugin_path):
    r = proc('list', 'backends', env={**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in (str(plugin_path), os.environ.get('PYTHONPATH')) if p)})
    assert r.returncode == 0, r.stderr
    assert '  pixel-echo ' in r.stdout and '  sd ' in r.stdout and '  unclip ' in r.stdout
    assert "the backend plugin 'broken' of the package synaug-fake-backends" in r.stderr and len([l for l in r.stderr.splitlines() if 'broken' in l]) == 1
