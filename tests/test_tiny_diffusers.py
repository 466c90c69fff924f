"The tiny random-weight diffusers pipelines of `synaug_nb.tiny`: saved-folder round trips and both unCLIP inputs."
import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # effective only if huggingface_hub is not imported yet; local_files_only=True below is what counts

import json
import numpy as np
import pytest
import torch
from PIL import Image
from diffusers import StableDiffusionPipeline, StableUnCLIPImg2ImgPipeline
from transformers import CLIPTokenizer

from synaug_nb.tiny import (save_tiny_checkpoint, tiny_sd_components, tiny_sd_pipeline, tiny_unclip_pipeline,
                            write_tiny_clip_tokenizer)

# from_pretrained memory-maps safetensors files; a misaligned weight can change the last bit of a CPU matmul,
# so "identical" is checked to 1e-5 (observed differences: 0 or a few 1e-6)
ATOL = 1e-5

def gen(seed=0): return torch.Generator().manual_seed(seed)

def sd_images(pipe, seed=0, **kw):
    return pipe(["a photo of a cat", "a dog"], num_inference_steps=3, output_type="pt", generator=gen(seed), **kw).images

def unclip_images(pipe, seed=0, **kw):
    return pipe(prompt="a photo of a bird", num_inference_steps=3, output_type="pt", generator=gen(seed), **kw).images

@pytest.fixture(scope="module")
def pil_image():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))

@pytest.fixture(scope="module")
def sd(): return tiny_sd_pipeline()

@pytest.fixture(scope="module")
def unclip(): return tiny_unclip_pipeline()

def assert_image_batch(x, n):
    assert x.shape == (n, 3, 32, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.01

def test_tokenizer_folder_loads_offline(tmp_path):
    tok = CLIPTokenizer.from_pretrained(write_tiny_clip_tokenizer(tmp_path / "tok"), local_files_only=True)
    assert tok.model_max_length == 77
    assert tok.convert_ids_to_tokens(tok("a photo of a cat").input_ids)[1:-1] == ["a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>"]

def test_components_deterministic():
    a, b = tiny_sd_components(0), tiny_sd_components(0)
    for k in ("unet", "vae", "text_encoder"):
        sa, sb = a[k].state_dict(), b[k].state_dict()
        assert all(torch.equal(sa[n], sb[n]) for n in sa), k
    assert not torch.equal(tiny_sd_components(1)["unet"].conv_in.weight, a["unet"].conv_in.weight)

def test_sd_runs_and_is_deterministic(sd):
    x = sd_images(sd)
    assert_image_batch(x, 2)
    assert torch.equal(sd_images(sd), x)
    assert not torch.equal(sd_images(sd, seed=1), x)

def test_sd_checkpoint_round_trip(sd, tmp_path):
    folder = save_tiny_checkpoint(sd, tmp_path / "tiny-sd")
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "StableDiffusionPipeline"
    assert list(folder.glob("unet/*.safetensors")) and list(folder.glob("text_encoder/*.safetensors"))
    loaded = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    loaded.set_progress_bar_config(disable=True)
    assert loaded.safety_checker is None
    torch.testing.assert_close(sd_images(loaded), sd_images(sd), atol=ATOL, rtol=0)

def test_unclip_checkpoint_round_trip(unclip, pil_image, tmp_path):
    folder = save_tiny_checkpoint(unclip, tmp_path / "tiny-unclip")
    assert json.loads((folder / "model_index.json").read_text())["_class_name"] == "StableUnCLIPImg2ImgPipeline"
    loaded = StableUnCLIPImg2ImgPipeline.from_pretrained(folder, local_files_only=True)
    loaded.set_progress_bar_config(disable=True)
    torch.testing.assert_close(unclip_images(loaded, image=pil_image), unclip_images(unclip, image=pil_image), atol=ATOL, rtol=0)
    emb = torch.randn(1, 32, generator=gen(3))
    torch.testing.assert_close(unclip_images(loaded, image_embeds=emb), unclip_images(unclip, image_embeds=emb), atol=ATOL, rtol=0)

def test_unclip_from_pil_image(unclip, pil_image):
    x = unclip_images(unclip, image=pil_image)
    assert_image_batch(x, 1)
    assert torch.equal(unclip_images(unclip, image=pil_image), x)
    assert_image_batch(unclip_images(unclip, image=pil_image, num_images_per_prompt=2), 2)

def test_unclip_from_image_embeds(unclip, pil_image):
    emb = torch.randn(2, 32, generator=gen(1))
    x = unclip(prompt=["a bird", "a car"], image_embeds=emb, num_inference_steps=3, output_type="pt", generator=gen()).images
    assert_image_batch(x, 2)  # one embedding per prompt
    assert (x[0] - x[1]).abs().max() > 1e-3
    assert torch.equal(unclip_images(unclip, image_embeds=emb[:1]), unclip_images(unclip, image_embeds=emb[:1]))
    # the embedding of the image gives the image's variation
    with torch.no_grad():
        px = unclip.feature_extractor(images=pil_image, return_tensors="pt").pixel_values
        own = unclip.image_encoder(px).image_embeds
    torch.testing.assert_close(unclip_images(unclip, image_embeds=own), unclip_images(unclip, image=pil_image), atol=ATOL, rtol=0)
