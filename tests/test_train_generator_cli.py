"`synaug train-generator` resumes: killed mid-run (SIGKILL from a hook the test installs), the same command with --resume ends with the weights of a run that never stopped."
import signal, sys
import torch
from safetensors.torch import load_file
from conftest import synaug_in_process as here, synaug_process as proc

ARGS = ['train-generator', '--dataset', 'digits', '--imbalance-factor', '10', '--seed', '0', '--cpu', '--quiet',
        '--train-steps', '12', '--train-batch-size', '16', '--save-every', '5']

KILL_AT_STEP = """
import os, signal, sys, torch
calls, _step = [0], torch.optim.AdamW.step
def step(self, *a, **k):
    "SIGKILL this process at optimizer step n (steps before it are done; the state was last saved at a multiple of --save-every)."
    calls[0] += 1
    if calls[0] == int(sys.argv[1]): os.kill(os.getpid(), signal.SIGKILL)
    return _step(self, *a, **k)
torch.optim.AdamW.step = step
from synaug_nb.cli import main
sys.exit(main(sys.argv[2:]))
"""

def weights(out): return load_file(str(out/'unet'/'diffusion_pytorch_model.safetensors'))

def test_killed_generator_training_resumes_to_the_same_weights(tmp_path):
    a, b = tmp_path/'a', tmp_path/'b'
    r = here(*ARGS, '--out', a); assert r.returncode == 0, r.stderr
    p = proc(*ARGS, '--out', b, cmd=[sys.executable, '-c', KILL_AT_STEP, '9'])
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert torch.load(b/'checkpoint'/'state.pt', weights_only=True)['step'] == 5 and not (b/'unet').exists()
    r = here(*ARGS, '--out', b)                                # without --resume: refused, nothing touched
    assert r.returncode == 1 and 'pass --resume to continue it' in r.stderr, r.stderr
    r = here(*ARGS, '--out', b, '--resume'); assert r.returncode == 0, r.stderr
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

def test_resume_with_other_settings_is_refused(tmp_path):
    out = tmp_path/'g'
    assert here(*ARGS, '--out', out).returncode == 0
    r = here(*[x if x != '12' else '20' for x in ARGS], '--out', out, '--resume')
    assert r.returncode == 1 and 'holds a generator trained with other settings: steps 12 (now 20)' in r.stderr, r.stderr
