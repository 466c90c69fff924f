"""An example synaug_nb plugin: the method `ce_labelsmooth`, the feedback criterion `energy` (hence the row `fg_energy`)
and the generator backend `pixel_unipc`, which every synaug_nb process finds through the entry points of pyproject.toml
once this package is installed."""
import torch
import torch.nn.functional as F
from synaug_nb.feedback import Criterion
from synaug_nb.generators import Backend

LABEL_SMOOTHING = 0.1

def smoothed_ce(logits, labels):
    "Cross-entropy against targets smoothed by `LABEL_SMOOTHING` (Szegedy et al. 2016)."
    return F.cross_entropy(logits.float(), labels, label_smoothing=LABEL_SMOOTHING)

def register_methods():
    "The entry point of the group `synaug_nb.methods`: called once, it registers this package's method."
    from synaug_nb.methods import register_method
    register_method('ce_labelsmooth', lambda ctx: ctx.fit(ctx.real, loss=smoothed_ce), optional=True, before='oracle', data='real, imbalanced',
                    recipe=f'cross-entropy with label smoothing {LABEL_SMOOTHING}', paper='plugin example (tests/plugin_example)')

def energy_criterion(logits, labels=None, feats=None):
    "The free energy -logsumexp(logits) (Liu et al. 2020): high where every logit is low, images unlike each class the judge knows."
    return -torch.logsumexp(logits.float(), -1)

energy = Criterion('energy', energy_criterion, doc='free energy -logsumexp(logits): images unlike every class the judge knows (plugin example)')

def load_pixel_unipc(model, device=None):
    "A saved embedded generator (a `PixelDiffusion.save_pretrained` folder) that samples with UniPC: a backend that changes only the scheduler."
    from synaug_nb.generators import PixelGenerator
    gen = PixelGenerator.from_pretrained(model, device=device, scheduler='unipc')
    gen.backend = 'pixel_unipc'   # what run.json records, so a folder resumes under the backend that made it
    return gen

pixel_unipc = Backend('pixel_unipc', load_pixel_unipc, doc='the embedded generator saved in a folder, sampling with UniPC (plugin example)')
