"An unCLIP run records every setting that changes an image, and each image's conditioning image; a resume with other settings is refused (issue 12)."
import json
import numpy as np
import pytest
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.test_utils import toy_images
from synaug_nb.tiny import tiny_unclip_pipeline
from synaug_nb.diffusers_backends import UnCLIPGenerator
from synaug_nb.plan import uniformize
from synaug_nb.prompts import default_book
from synaug_nb.synthesize import synthesize, read_manifest

LABELS = np.repeat([0, 1], [4, 2])

@pytest.fixture(scope='module')
def real(): return ImageSet(toy_images(LABELS, 32, 3), LABELS, ['cat', 'dog'], name='real')

@pytest.fixture(scope='module')
def pipe(): return tiny_unclip_pipeline(seed=0)

def run(gen, plan, out): return synthesize(plan, gen, out, prompts=default_book(), steps=2, batch_size=2, progress=False)

def test_settings_and_conditioning_are_recorded(real, pipe, tmp_path):
    plan, out = uniformize(real), tmp_path/'u'
    gen = UnCLIPGenerator(pipe, real, dropout=0.5, noise_level=0, device='cpu', model_id='tiny-unclip')
    assert run(gen, plan, out).made == plan.total == 2
    rec = json.loads((out/'run.json').read_text())
    assert rec['generator_settings']['embed_dropout'] == 0.5 and rec['generator_settings']['noise_level'] == 0
    assert rec['generator_settings']['conditioning_set']['n'] == 6
    assert 'num_train_timesteps' in rec['scheduler_config']
    man = read_manifest(out)
    picked = gen.pick_images(man.cls.to_numpy(), None, man.seed.to_numpy())
    assert man.condition.tolist() == [f'#{i}' for i in picked]                # in-memory real images: their index
    assert set(real.labels[picked]) == {1}                                    # each conditioned on a real image of its class

@pytest.mark.parametrize('kw', [dict(dropout=0.3), dict(noise_level=5)])
def test_resume_with_other_settings_is_refused(real, pipe, tmp_path, kw):
    plan, out = uniformize(real), tmp_path/'u'
    run(UnCLIPGenerator(pipe, real, dropout=0.5, device='cpu', model_id='tiny-unclip'), plan, out)
    before = (out/'run.json').read_text(), sorted(p.name for p in out.rglob('*.png'))
    other = UnCLIPGenerator(pipe, real, **{'dropout': 0.5, **kw}, device='cpu', model_id='tiny-unclip')
    with pytest.raises(DataError, match=r"differs in \['generator_settings'\]"): run(other, plan, out)
    assert ((out/'run.json').read_text(), sorted(p.name for p in out.rglob('*.png'))) == before
