"Classifiers: checkpoints round-trip for every network, torchvision weights from real files, bad input, freezing semantics."
import json
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file
from synaug_nb.core import DataError
from synaug_nb.models import (Classifier, IMAGENET_STATS, MODELS, Normalize, Normalized, build_model, load_model, n_params, resnet32,
                              save_model, small_cnn, torchvision_resnet)

def _bns(model): return [m for m in model.features.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

def _stir(model, c, size=16):
    "Move the BatchNorm statistics off their defaults, so a round trip that lost them would show."
    with torch.no_grad(): model.train()(torch.rand(4, c, size, size) * 3)

# --- checkpoints -----------------------------------------------------------------------------------
@pytest.mark.parametrize('name', list(MODELS))
@pytest.mark.parametrize('c', [1, 3])
def test_save_load_round_trip(tmp_path, name, c):
    torch.manual_seed(0)
    kw = {'small_input': True} if name == 'resnet18' else {'width': 8} if name == 'small_cnn' else {}
    net = build_model(name, 7, c, **kw)
    _stir(net, c)
    wp = save_model(net, tmp_path/'ckpt')
    assert wp == tmp_path/'ckpt.safetensors' and (tmp_path/'ckpt.json').is_file()
    side = json.loads((tmp_path/'ckpt.json').read_text())
    assert side['name'] == name and side['n_classes'] == 7 and side['in_channels'] == c and side['kwargs'] == net.config['kwargs']
    for p in (wp, tmp_path/'ckpt.json', tmp_path/'ckpt'):               # any of the three names finds it
        back = load_model(p)
        assert isinstance(back, Classifier) and back.config == net.config
        x = torch.rand(2, c, 16, 16)
        with torch.no_grad(): assert torch.equal(back.eval()(x), net.eval()(x))
    for k, v in net.state_dict().items(): assert torch.equal(back.state_dict()[k], v), k

def test_checkpoint_of_pretrained_model_does_not_need_the_weights_file(tmp_path):
    tv = torchvision.models.resnet18(); torch.save(tv.state_dict(), tmp_path/'pre.pth')
    net = torchvision_resnet('resnet18', 3, weights_path=tmp_path/'pre.pth')
    save_model(net, tmp_path/'m.safetensors'); (tmp_path/'pre.pth').unlink()
    assert 'weights_path' not in json.loads((tmp_path/'m.json').read_text())['kwargs']
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad(): assert torch.equal(load_model(tmp_path/'m.safetensors').eval()(x), net.eval()(x))

def test_torchvision_model_rebuilds_from_its_sidecar(tmp_path):
    "A torchvision network saved by save_model loads back without into=: the sidecar names its builder and num_classes (no pickle)."
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None, num_classes=3)
    _stir(tv, 3, 32)
    wp = save_model(tv, tmp_path/'tv')
    side = json.loads((tmp_path/'tv.json').read_text())
    assert (side['constructor'], side['kwargs']) == ('torchvision.models.resnet18', {'num_classes': 3})
    back = load_model(wp)
    assert type(back) is torchvision.models.ResNet and back.fc.out_features == 3
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad(): assert torch.equal(back.eval()(x), tv.eval()(x))
    assert torch.equal(load_model(wp, into=torchvision.models.resnet18(num_classes=3)).fc.weight, tv.fc.weight)   # into= still works

def test_torchvision_model_no_builder_makes_needs_into(tmp_path):
    tv = torchvision.models.resnet18(num_classes=3); tv.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)   # a stem no builder makes
    save_model(tv, tmp_path/'odd')
    assert 'constructor' not in json.loads((tmp_path/'odd.json').read_text())
    with pytest.raises(DataError, match=r"holds the weights of a torchvision.models.resnet.ResNet, which synaug_nb cannot rebuild; build one and pass it as into="):
        load_model(tmp_path/'odd')
    other = torchvision.models.resnet18(num_classes=3); other.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
    assert torch.equal(load_model(tmp_path/'odd', into=other).conv1.weight, tv.conv1.weight)

@pytest.mark.parametrize('ctor, kw', [('os.system', {'command': 'true'}), ('torchvision.models.resnet18', {'num_classes': 3, 'progress': True}),
                                      ('torchvision.models.resnet18', {'num_classes': '3'}), ('torchvision.models.nothing', {'num_classes': 3})])
def test_sidecar_constructor_is_only_a_torchvision_builder(tmp_path, ctor, kw):
    "A sidecar is data: it can name only torchvision's classification builders, with num_classes; anything else is refused, never called."
    tv = torchvision.models.resnet18(num_classes=3); save_model(tv, tmp_path/'m')
    side = json.loads((tmp_path/'m.json').read_text())
    (tmp_path/'m.json').write_text(json.dumps({**side, 'constructor': ctor, 'kwargs': kw}))
    with pytest.raises(DataError, match=r"names the constructor .*pass it as into="): load_model(tmp_path/'m')

# --- input normalisation ---------------------------------------------------------------------------
def test_normalize_matches_manual_normalisation():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16)
    mean, std = torch.tensor(IMAGENET_STATS[0]).view(1, 3, 1, 1), torch.tensor(IMAGENET_STATS[1]).view(1, 3, 1, 1)
    plain = build_model('resnet32', 5).eval()
    normed = build_model('resnet32', 5, normalize='imagenet').eval()
    normed.load_state_dict({**plain.state_dict(), 'norm.mean': normed.norm.mean, 'norm.std': normed.norm.std})
    with torch.no_grad():
        torch.testing.assert_close(normed(x), plain((x - mean) / std))
        torch.testing.assert_close(normed.embed(x), plain.embed((x - mean) / std))
    tv = torchvision.models.resnet18(num_classes=5).eval()
    m, s = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1), torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1)
    with torch.no_grad(): torch.testing.assert_close(Normalized(tv, (m.flatten(), s.flatten()))(x), tv((x - m) / s))
    grey = Normalize(0.5, 0.25)
    torch.testing.assert_close(grey(torch.ones(1, 1, 2, 2)), torch.full((1, 1, 2, 2), 2.0))

@pytest.mark.parametrize('make', [lambda: build_model('small_cnn', 4, 3, width=8, normalize=((0.5, 0.4, 0.3), (0.2, 0.2, 0.25))),
                                  lambda: Normalized(torchvision.models.resnet18(num_classes=4), 'imagenet')])
def test_normalisation_is_in_the_checkpoint(tmp_path, make):
    torch.manual_seed(0)
    net = make(); _stir(net, 3)
    back = load_model(save_model(net, tmp_path/'n'))
    assert type(back) is type(net) and torch.equal(back.norm.mean, net.norm.mean) and torch.equal(back.norm.std, net.norm.std)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad(): assert torch.equal(back.eval()(x), net.eval()(x))

def test_bad_normalisation():
    with pytest.raises(DataError, match="unknown normalize 'cifar'; valid: 'imagenet'"): build_model('small_cnn', 2, 3, normalize='cifar')
    with pytest.raises(DataError, match='standard deviations > 0'): build_model('small_cnn', 2, 3, normalize=((0.5,), (0,)))
    with pytest.raises(DataError, match='statistics for 3 channels; the model takes 1'): build_model('small_cnn', 2, 1, normalize='imagenet')
    with pytest.raises(DataError, match='statistics for 3 channels; the images have 1'): Normalized(nn.Flatten(), 'imagenet')(torch.rand(1, 1, 2, 2))
    with pytest.raises(DataError, match='Normalized needs a torch nn.Module; got str'): Normalized('resnet18')

# --- torchvision weights ---------------------------------------------------------------------------
@pytest.mark.parametrize('fmt', ['pth', 'pt', 'safetensors'])
def test_torchvision_weights_from_file(tmp_path, fmt):
    torch.manual_seed(3)
    tv = torchvision.models.resnet18().eval()
    path = tmp_path/f'r18.{fmt}'
    if fmt == 'safetensors': save_file(tv.state_dict(), str(path))
    else: torch.save(tv.state_dict(), path)
    net = torchvision_resnet('resnet18', 5, weights_path=path)
    assert (net.n_features, net.n_classes) == (512, 5)
    tv.fc = nn.Identity()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad(): torch.testing.assert_close(net.embed(x), tv(x))

def test_torchvision_weights_wrapped_and_grey(tmp_path):
    tv = torchvision.models.resnet18().eval()
    torch.save({'state_dict': {'module.' + k: v for k, v in tv.state_dict().items()}}, tmp_path/'dp.pth')   # DataParallel checkpoint
    rgb = torchvision_resnet('resnet18', 2, weights_path=tmp_path/'dp.pth')
    grey = torchvision_resnet('resnet18', 2, weights_path=tmp_path/'dp.pth', in_channels=1)
    x = torch.rand(2, 1, 40, 40)
    torch.testing.assert_close(grey.embed(x), rgb.embed(x.expand(-1, 3, -1, -1)), atol=1e-4, rtol=1e-4)

def test_small_input_loads_all_but_the_stem(tmp_path):
    tv = torchvision.models.resnet18(); save_file(tv.state_dict(), str(tmp_path/'r.safetensors'))
    with pytest.warns(UserWarning, match='stem starts from random weights'):
        net = torchvision_resnet('resnet18', 2, weights_path=tmp_path/'r.safetensors', small_input=True)
    assert net.features.conv1.weight.shape == (64, 3, 3, 3) and isinstance(net.features.maxpool, nn.Identity)
    assert torch.equal(net.features.layer3[0].conv2.weight, tv.layer3[0].conv2.weight)

# --- bad input -------------------------------------------------------------------------------------
def test_weights_file_errors(tmp_path):
    with pytest.raises(DataError, match=r"weights file not found: '.*missing.pth'"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'missing.pth')
    torch.save({'backbone.' + k: v for k, v in torchvision.models.resnet18().state_dict().items()}, tmp_path/'other.pth')
    with pytest.raises(DataError, match=r"do not fit torchvision's resnet18: 120 missing keys \(conv1.weight, bn1.weight, bn1.bias, \.\.\.\); "
                                        r"122 unexpected keys \(backbone.conv1.weight"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'other.pth')
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path/'r18.pth')
    with pytest.raises(DataError, match=r"resnet50: .*missing keys \(layer1.0.conv3.weight"):
        torchvision_resnet('resnet50', 2, weights_path=tmp_path/'r18.pth')
    torch.save(torchvision.models.resnet18(), tmp_path/'whole.pth')
    with pytest.raises(DataError, match=r"whole.pth. holds pickled Python objects .*save model.state_dict\(\)"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'whole.pth')
    (tmp_path/'bad.safetensors').write_bytes(b'not a safetensors file')
    with pytest.raises(DataError, match="cannot read weights file .*bad.safetensors"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'bad.safetensors')
    torch.save([1, 2], tmp_path/'list.pth')
    with pytest.raises(DataError, match="does not hold a state dict .*got list"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'list.pth')
    (tmp_path/'w.h5').write_bytes(b'')
    with pytest.raises(DataError, match=r"must be .pth/.pt/.bin \(torch.save\) or .safetensors; got 'w.h5'"):
        torchvision_resnet('resnet18', 2, weights_path=tmp_path/'w.h5')

@pytest.mark.parametrize('call, match', [
    (lambda: build_model('vit', 10), "unknown model 'vit'; valid: 'resnet32', 'resnet18', 'resnet50', 'small_cnn'"),
    (lambda: build_model('resnet32', 10, small_input=True), "resnet32 has no option 'small_input'; valid: none"),
    (lambda: build_model('resnet50', 10, width=4), "resnet50 has no option 'width'; valid: 'weights_path', 'small_input'"),
    (lambda: build_model('small_cnn', 0), "num_classes must be an integer >= 1; got 0"),
    (lambda: build_model('resnet32', 10, 0), "in_channels must be an integer >= 1; got 0"),
    (lambda: small_cnn(10, width=-1), "width must be an integer >= 1; got -1"),
    (lambda: resnet32(True), "num_classes must be an integer >= 1; got True"),
    (lambda: torchvision_resnet('resnet101', 10), "unknown torchvision ResNet 'resnet101'; valid: 'resnet18', 'resnet50'"),
    (lambda: Classifier(nn.Identity(), nn.Conv2d(1, 1, 1)), "head must be an nn.Linear; got Conv2d"),
])
def test_bad_arguments(call, match):
    with pytest.raises(DataError, match=match): call()

def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError, match=r"model weights not found: '.*nothing.safetensors'"): load_model(tmp_path/'nothing')
    with pytest.raises(DataError, match=r"Sequential has no nn.Linear layer"): save_model(nn.Sequential(), tmp_path/'x')
    hand = Classifier(nn.Flatten(), nn.Linear(4, 2))                  # made by hand: no config to rebuild it
    save_model(hand, tmp_path/'hand')
    with pytest.raises(DataError, match=r"holds the weights of a synaug_nb.models.Classifier, which synaug_nb cannot rebuild; .*into="): load_model(tmp_path/'hand')
    back = load_model(tmp_path/'hand', into=Classifier(nn.Flatten(), nn.Linear(4, 2)))
    assert torch.equal(back.head.weight, hand.head.weight)
    with pytest.raises(DataError, match=r"do not fit the Classifier: 2 shape clashes .*head.weight \(2, 4\) vs \(3, 4\)"): load_model(tmp_path/'hand', into=Classifier(nn.Flatten(), nn.Linear(4, 3)))
    save_model(small_cnn(3, width=4), tmp_path/'m')
    (tmp_path/'m.json').unlink()
    with pytest.raises(DataError, match=r"model sidecar \(written by save_model beside the weights\) not found: '.*m.json'"): load_model(tmp_path/'m')
    (tmp_path/'m.json').write_text('{not json')
    with pytest.raises(DataError, match="cannot parse model sidecar"): load_model(tmp_path/'m')
    (tmp_path/'m.json').write_text(json.dumps({'name': 'small_cnn'}))
    with pytest.raises(DataError, match="lacks n_classes, in_channels"): load_model(tmp_path/'m')
    (tmp_path/'m.json').write_text(json.dumps({'name': 'small_cnn', 'n_classes': 3, 'in_channels': 1, 'kwargs': {'width': 8}}))
    with pytest.raises(DataError, match=r"do not fit the small_cnn its sidecar describes: .*shape clashes \(file vs model: features.0.weight \(4, 1, 3, 3\) vs \(8, 1, 3, 3\)"):
        load_model(tmp_path/'m')
    (tmp_path/'m.json').write_text(json.dumps({'name': 'mlp', 'n_classes': 3, 'in_channels': 1}))
    with pytest.raises(DataError, match="unknown model 'mlp'"): load_model(tmp_path/'m')

# --- freezing --------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ['small_cnn', 'resnet32', 'resnet18'])
def test_frozen_features_one_step_changes_only_the_head(name):
    torch.manual_seed(0)
    net = build_model(name, 4, 3)
    _stir(net, 3)
    net.freeze_features()
    net.train()                                                  # a training loop calls this each epoch
    assert net.training and net.head.training and not any(m.training for m in _bns(net))
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ['head.weight', 'head.bias']
    assert n_params(net, trainable=True) == net.n_features * 4 + 4
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)    # all parameters, as a careless loop would
    F.cross_entropy(net(torch.randn(8, 3, 16, 16)), torch.randint(0, 4, (8,))).backward()
    opt.step()
    changed = {k for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {'head.weight', 'head.bias'}               # running_mean / running_var / num_batches_tracked untouched
    assert all(p.grad is None for p in net.features.parameters())

def test_same_features_for_an_image_whatever_the_batch_when_frozen():
    torch.manual_seed(0)
    net = small_cnn(3, 3).freeze_features().train()
    x = torch.rand(6, 3, 12, 12)
    with torch.no_grad(): torch.testing.assert_close(net.features(x)[:2], net.features(x[:2]))

def test_unfreeze_and_eval_train_cycle():
    net = resnet32(3).freeze_features()
    net.eval(); assert not any(m.training for m in net.modules())
    net.train(); assert not any(m.training for m in _bns(net)) and net.head.training
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters()) and all(m.training for m in _bns(net))
    net.eval().unfreeze(); assert not any(m.training for m in net.modules())          # unfreeze keeps the current mode

def test_embed_is_eval_and_keeps_mode_and_stats():
    torch.manual_seed(0)
    net = small_cnn(3).train()
    stats = [b.running_mean.clone() for b in _bns(net)]
    x = torch.rand(5, 1, 8, 8)
    z = net.embed(x)
    assert z.shape == (5, 128) and not z.requires_grad and net.training
    assert all(torch.equal(b.running_mean, s) for b, s in zip(_bns(net), stats))
    with torch.no_grad(): torch.testing.assert_close(z, net.eval().features(x))

def test_reset_head_is_seeded_and_head_only():
    net = small_cnn(5)
    feats = {k: v.clone() for k, v in net.features.state_dict().items()}
    w = net.reset_head(seed=7).head.weight.detach().clone()
    assert torch.equal(small_cnn(5).reset_head(seed=7).head.weight, w)                # another model, same seed: same head
    assert not torch.equal(net.reset_head(seed=8).head.weight, w)
    assert all(torch.equal(v, net.features.state_dict()[k]) for k, v in feats.items())
    assert net.head.weight.abs().max() <= 1 / 128 ** 0.5 and net.head.weight.requires_grad
    net.freeze_features().reset_head(seed=1)
    assert net.head.weight.requires_grad and not net.features[0].weight.requires_grad

def test_resnet32_shape_and_size():
    net = resnet32(100)
    assert n_params(net) == 470_004 and n_params(resnet32(10)) == 464_154
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 100)
