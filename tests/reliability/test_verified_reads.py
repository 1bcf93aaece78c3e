"""What is hashed is what is deserialized; bad argument types name the argument."""

from __future__ import annotations

import json

import pytest
import torch

import seqjepa
from seqjepa.errors import ConfigError, IntegrityError
from seqjepa.zoo import _serialization as serialization

from ..conftest import small_config


def _saved(tmp_path, seed: int, name: str):
    torch.manual_seed(seed)
    model = seqjepa.SeqJEPA(small_config())
    model.save_pretrained(tmp_path / name)
    return model, tmp_path / name


def test_weights_swapped_after_the_hash_cannot_be_loaded(tmp_path, monkeypatch):
    """A save racing a load: the file is replaced right after it was read. The load must use the bytes it hashed."""
    model_a, dir_a = _saved(tmp_path, 0, "a")
    _, dir_b = _saved(tmp_path, 1, "b")
    weights_b = (dir_b / "model.safetensors").read_bytes()
    real_check = serialization.check_safetensors_bytes

    def check_then_swap(data, *, where):
        header = real_check(data, where=where)
        (dir_a / "model.safetensors").write_bytes(weights_b)  # the other model lands on disk now
        return header

    monkeypatch.setattr(serialization, "check_safetensors_bytes", check_then_swap)
    loaded = seqjepa.load(dir_a)
    for key, value in model_a.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_dtype_and_pinned_hash_of_the_wrong_type_name_the_argument(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    with pytest.raises(ValueError, match=r"dtype: expected a floating-point torch.dtype.*'float16'"):
        seqjepa.load(d, dtype="float16")
    with pytest.raises(ValueError, match="device: expected"):
        seqjepa.load(d, device=3.5)
    with pytest.raises(ValueError, match="expected_sha256: expected a hex string, got int"):
        serialization.load_directory(d, model_class=seqjepa.SeqJEPA, expected_sha256=123)


def test_a_deeply_nested_config_is_a_config_error(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    (d / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="not valid JSON"):
        seqjepa.load(d)


def test_a_safetensors_header_that_is_a_list_is_an_integrity_error(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    header = json.dumps([1, 2, 3]).encode()
    (d / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(IntegrityError, match="expected a JSON object, got list"):
        seqjepa.load(d)


@pytest.mark.parametrize("mode", ["RGBA", "L", "LA", "P", "PA", "CMYK", "1", "YCbCr", "HSV", "RGB"])
def test_transform_reads_every_8_bit_mode_as_the_datasets_do(mode):
    from PIL import Image

    model = seqjepa.SeqJEPA(small_config()).eval()
    rgb = Image.fromarray((torch.arange(16 * 16 * 3) % 251).reshape(16, 16, 3).to(torch.uint8).numpy(), "RGB")
    image = rgb.convert(mode)
    x = model.transform(image)
    assert x.shape == (3, 16, 16)
    assert torch.equal(x, model.transform(image.convert("RGB")))


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_transform_refuses_modes_without_an_8_bit_reading(mode):
    from PIL import Image

    model = seqjepa.SeqJEPA(small_config()).eval()
    with pytest.raises(ValueError, match=rf"image: mode '{mode}' has no unambiguous 8-bit RGB reading"):
        model.transform(Image.new(mode, (16, 16)))
    with pytest.raises(ValueError, match="image: expected a PIL image.*got Tensor"):
        model.transform(torch.zeros(3, 16, 16))


def test_images_of_another_size_are_refused_naming_both():
    model = seqjepa.SeqJEPA(small_config()).eval()
    for shape in [(1, 3, 64, 64), (1, 3, 1, 1), (1, 3, 16, 20)]:
        with pytest.raises(ValueError, match=r"images: expected 16x16 images .*got \(1, 3, "):
            model.equivariant_embedding(torch.zeros(shape))


def test_predict_checks_z_agg_like_aggregate_checks_z():
    model = seqjepa.SeqJEPA(small_config()).eval()
    e, a = model.config.token_dim, model.config.action_dim
    act = torch.zeros(2, a)
    with pytest.raises(ValueError, match="z_agg: expected finite values"):
        model.predict(torch.full((2, e), float("nan")), act)
    with pytest.raises(ValueError, match="z_agg: expected a floating-point tensor"):
        model.predict(torch.zeros(2, e, dtype=torch.int64), act)
    with pytest.raises(ValueError, match="z_agg: expected dtype float32"):
        model.predict(torch.zeros(2, e, dtype=torch.float64), act)
    with pytest.raises(ValueError, match=r"z_agg: expected shape \(B, 40\)"):
        model.predict(torch.zeros(2, e + 1), act)


def test_a_decompression_bomb_image_is_refused_naming_its_file(tmp_path, monkeypatch):
    from PIL import Image

    from seqjepa.data._images import load_rgb

    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 > 2 * 100: Pillow's bomb error
    with pytest.raises(IntegrityError, match=rf"image file {path} was refused as a possible decompression bomb"):
        load_rgb(path, 16)


def test_the_same_model_saved_again_gives_the_same_bytes(tmp_path):
    """safetensors writes its header in hash-map order; the saved files must not depend on it."""
    import hashlib

    torch.manual_seed(0)
    model = seqjepa.SeqJEPA(small_config())
    digests = set()
    for i in range(6):
        model.save_pretrained(tmp_path / str(i), metadata={"b": 1, "a": {"y": 2, "x": 3}})
        digests.add(tuple(hashlib.sha256((tmp_path / str(i) / f).read_bytes()).hexdigest()
                          for f in ("model.safetensors", "config.json", "README.md")))
    assert len(digests) == 1
