"""Images and audio as bytes: patches, mono 16 kHz 8-bit audio, the embedded defaults."""

import math

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from nct.data import media


def _photo(h: int, w: int) -> np.ndarray:
    """A smooth RGB test picture (compresses like a photograph, decodes the same from PNG)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 255 // w), (y * 255 // h), ((x + y) % 256)], axis=-1).astype(np.uint8)


def test_patches_are_row_major_in_reading_order_and_edges_cropped():
    pixels = np.arange(70 * 130, dtype=np.uint32).reshape(70, 130).astype(np.uint8)
    out = np.frombuffer(media.patches(pixels), np.uint8).reshape(-1, 32, 64)
    assert out.shape == (4, 32, 64)  # 2 x 2 patches; 6 rows and 2 columns cropped
    assert (out[1] == pixels[:32, 64:128]).all() and (out[2] == pixels[32:64, :64]).all()


def test_load_image_png_and_jpeg(tmp_path):
    rgb = _photo(100, 200)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "b.jpg", quality=90)
    png = media.load_image(tmp_path / "a.png")
    assert len(png) == 3 * 3 * media.PATCH_BYTES  # 100 x 200: 3 x 3 patches
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    assert png == media.patches(gray)
    assert len(media.load_image(tmp_path / "b.jpg")) == len(png)


def test_image_directories_and_bad_files(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.fromarray(_photo(32, 64)).save(tmp_path / "sub" / "z.png")
    Image.fromarray(_photo(64, 64)).save(tmp_path / "a.bmp")
    (tmp_path / "notes.txt").write_text("not an image")
    loaded = media.load_images(tmp_path)
    assert list(loaded) == ["a.bmp", "sub/z.png"] and [len(v) for v in loaded.values()] == [4096, 2048]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ValueError, match="broken.png"):
        media.load_images(tmp_path)
    (tmp_path / "broken.png").unlink()
    Image.fromarray(_photo(20, 64)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match="small.png: smaller than one"):
        media.load_images(tmp_path / "small.png")
    assert list(media.load_images(tmp_path)) == ["a.bmp", "sub/z.png"]  # in a directory: skipped
    for f in ("a.bmp", "sub/z.png"):
        (tmp_path / f).unlink()
    with pytest.raises(ValueError, match="fills one"):
        media.load_images(tmp_path)
    with pytest.raises(FileNotFoundError):
        media.load_images(tmp_path / "missing")


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_load_audio_44k_stereo_to_16k_mono_8_bit(tmp_path, fmt):
    rate, n = 44100, 22050  # 0.5 s
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, np.stack([tone, tone], axis=1), rate, format=fmt, subtype="PCM_16")
    x = np.frombuffer(media.load_audio(path), np.uint8)
    assert len(x) == math.ceil(n * 16000 / rate) == 8000
    ideal = 128 + 64 * np.sin(2 * np.pi * 440 * np.arange(len(x)) / 16000)
    assert np.abs(x[400:-400] - ideal[400:-400]).max() <= 1.0  # away from the ends: within rounding
    opposite = tmp_path / f"b.{fmt.lower()}"
    sf.write(opposite, np.stack([tone, -tone], axis=1), rate, format=fmt, subtype="PCM_16")
    assert set(media.load_audio(opposite)) == {128}  # channels mixed: silence


def test_resample_is_band_limited_and_exact_in_length():
    rate = 48000
    x = np.sin(2 * np.pi * 10_000 * np.arange(4800) / rate)  # above 16 kHz's Nyquist frequency
    y = media.resample(x, rate, 16000)
    assert len(y) == 1600 and np.abs(y).max() < 1e-9
    assert np.array_equal(media.resample(x, rate, rate), x)
    assert len(media.resample(np.ones(7), 44100, 16000)) == 3  # ceil(7 x 16000 / 44100)


def test_quantize_range():
    assert list(media.quantize(np.array([-2.0, -1.0, 0.0, 0.5, 1.0]))) == [0, 0, 128, 192, 255]


def test_bad_audio_is_named(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"RIFF nonsense")
    with pytest.raises(ValueError, match="x.wav"):
        media.load_audios(tmp_path)


def test_feedback_equals_the_sample_loop():
    x = np.random.default_rng(1).normal(size=300)
    taps = {7: 0.5, 8: 0.45, 13: -0.2}
    y = x.copy()
    for n in range(300):
        for d, g in taps.items():
            y[n] += g * y[n - d] if n >= d else 0.0
    assert np.array_equal(media._feedback(x, taps), y)


def test_plucked_strings_are_seeded_music():
    a = media.plucked_strings(seconds=2.0)
    assert len(a) == 32000 and np.abs(a).max() == pytest.approx(0.9)
    assert np.array_equal(a, media.plucked_strings(seconds=2.0))
    assert not np.array_equal(a, media.plucked_strings(seconds=2.0, seed=1))


def test_embedded_media():
    images, audio = media.embedded_images(), media.embedded_audio()
    assert {k: len(v) for k, v in images.items()} == {"grace_hopper.jpg": 144 * 2048, "s1045.ima": 32 * 2048}
    assert len(audio["plucked-strings"]) == 30 * media.RATE
