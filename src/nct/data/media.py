"""Images and audio as byte strings, the way LMIC benchmarks them.

Images: decoded with Pillow to 8-bit grayscale and cut into 32 (high) x 64 (wide) patches of 2048
bytes, each patch's pixels row by row, patches in reading order (patch rows top to bottom, left to
right within a row). Edge pixels that do not fill a whole patch are cropped; an image smaller than one
patch is an error (skipped, with a warning, in a directory). Multi-frame files give their first frame; an alpha channel is dropped.

Audio: decoded with soundfile, mixed to mono (mean of the channels), resampled to 16 kHz and
quantized to 8-bit unsigned samples (0..255, 128 = silence; no gain is applied). Resampling is
band-limited through numpy's FFT: the signal is zero-padded so that its length maps to a whole
number of output samples, every frequency at or above the lower Nyquist frequency is removed, and
the output is cut to ceil(n x 16000 / rate) samples.

Embedded defaults (nothing is downloaded): the images are two real pictures shipped inside
matplotlib's wheel (``mpl-data/sample_data``): ``grace_hopper.jpg``, a photograph of Grace Hopper,
and ``s1045.ima``, a 256 x 256 MRI slice of a human head (16-bit big-endian samples whose values,
0..215, are kept as 8-bit pixels unchanged). The audio is synthetic, generated here from a fixed
seed: 30 s of Karplus-Strong plucked strings (a random-walk melody over a bass line) with a Schroeder
reverb and a little noise.
"""

from __future__ import annotations

import errno
import gzip
import math
import sys
from pathlib import Path

import numpy as np

PATCH_HEIGHT, PATCH_WIDTH = 32, 64
PATCH_BYTES = PATCH_HEIGHT * PATCH_WIDTH  # 2048, LMIC's chunk
RATE = 16_000  # Hz, LMIC's (LibriSpeech's) sample rate
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3")


def patches(pixels: np.ndarray) -> bytes:
    """The 32 x 64 patches of an 8-bit grayscale image (height x width array), each row-major,
    concatenated in reading order; edge pixels that do not fill a patch are cropped."""
    rows, cols = pixels.shape[0] // PATCH_HEIGHT, pixels.shape[1] // PATCH_WIDTH
    grid = np.asarray(pixels[: rows * PATCH_HEIGHT, : cols * PATCH_WIDTH], dtype=np.uint8)
    return grid.reshape(rows, PATCH_HEIGHT, cols, PATCH_WIDTH).transpose(0, 2, 1, 3).tobytes()


def load_image(path: str | Path) -> bytes:
    """An image file as its grayscale patches; a clear ValueError if it cannot be decoded or is
    smaller than one patch."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("L"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"{path}: not a readable image ({e})") from None
    data = patches(pixels)
    if not data:
        raise TooSmall(f"{path}: smaller than one {PATCH_HEIGHT}x{PATCH_WIDTH} patch")
    return data


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """A 1-D signal resampled from ``rate_in`` to ``rate_out`` Hz by band-limited FFT
    interpolation (see the module docstring); ceil(len(x) x rate_out / rate_in) samples."""
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float64)
    step = rate_in // math.gcd(rate_in, rate_out)
    n = -(-len(x) // step) * step  # zero-padded: n maps to a whole number m of output samples
    m = n * rate_out // rate_in
    keep = (min(n, m) + 1) // 2  # bins strictly below the lower Nyquist frequency
    spectrum = np.zeros(m // 2 + 1, dtype=np.complex128)
    spectrum[:keep] = np.fft.rfft(x, n)[:keep]
    return np.fft.irfft(spectrum, m)[: -(-len(x) * rate_out // rate_in)] * (m / n)


def quantize(x: np.ndarray) -> bytes:
    """Samples in [-1, 1] as 8-bit unsigned bytes (128 = 0; out-of-range values clipped)."""
    return np.clip(np.rint(x * 128) + 128, 0, 255).astype(np.uint8).tobytes()


def audio_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Float samples (frames x channels, or 1-D) at ``rate`` Hz as 8-bit mono bytes at 16 kHz."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    return quantize(resample(mono, rate, RATE))


def load_audio(path: str | Path) -> bytes:
    """An audio file as 8-bit mono 16 kHz bytes; a clear ValueError if it cannot be decoded or
    holds no samples."""
    import soundfile as sf

    try:
        samples, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: not readable audio ({e})") from None
    return _nonempty(audio_bytes(samples, rate) if len(samples) else b"", path, "no samples")


def _nonempty(data: bytes, path: str | Path, why: str) -> bytes:
    """``data``, or a ValueError naming the file if it is empty."""
    if not data:
        raise ValueError(f"{path}: {why}")
    return data


def media_files(path: str | Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """A file, or a directory's files with one of ``suffixes`` (recursively, sorted), by name
    (the path relative to the directory)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file or directory", str(path))
    if p.is_file():
        return {p.name: p}
    files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
    if not files:
        raise ValueError(f"no {', '.join(suffixes)} files under {path}")
    return {str(f.relative_to(p)): f for f in files}


class TooSmall(ValueError):
    """An image smaller than one patch."""


def load_images(path: str | Path) -> dict[str, bytes]:
    """Every image of a file or directory as its patches, by name; in a directory, images smaller
    than one patch (icons) are skipped with a warning on stderr."""
    files = media_files(path, IMAGE_SUFFIXES)
    out, small = {}, []
    for name, f in files.items():
        try:
            out[name] = load_image(f)
        except TooSmall:
            if Path(path).is_file():
                raise
            small.append(name)
    if small:
        print(f"nct: skipped {len(small)} image(s) smaller than one {PATCH_HEIGHT}x{PATCH_WIDTH} patch under {path}", file=sys.stderr)
    if not out:
        raise ValueError(f"no image under {path} fills one {PATCH_HEIGHT}x{PATCH_WIDTH} patch")
    return out


def load_audios(path: str | Path) -> dict[str, bytes]:
    """Every audio file of a file or directory as 8-bit 16 kHz mono bytes, by name."""
    return {name: load_audio(f) for name, f in media_files(path, AUDIO_SUFFIXES).items()}


def embedded_images() -> dict[str, bytes]:
    """The two real pictures shipped with matplotlib (a photograph and an MRI slice) as patches."""
    from matplotlib import cbook

    raw = gzip.decompress(Path(cbook.get_sample_data("s1045.ima.gz", asfileobj=False)).read_bytes())
    mri = np.frombuffer(raw, dtype=">u2").reshape(256, 256)
    return {
        "grace_hopper.jpg": load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
        "s1045.ima": patches(mri.astype(np.uint8)),  # values 0..215: 8 bits hold them exactly
    }


def embedded_audio() -> dict[str, bytes]:
    """The synthetic default audio (generated, not recorded) as 8-bit 16 kHz mono bytes."""
    return {"plucked-strings": quantize(plucked_strings())}


def _feedback(x: np.ndarray, taps: dict[int, float]) -> np.ndarray:
    """y[n] = x[n] + sum of gain * y[n - delay] over ``taps`` {delay: gain}, computed in blocks of
    the shortest delay (each sum in the same order as a sample-by-sample loop)."""
    lead = max(taps)
    y = np.concatenate([np.zeros(lead), np.asarray(x, dtype=np.float64)])
    step = min(taps)
    for s in range(lead, len(y), step):
        e = min(s + step, len(y))
        for delay, gain in taps.items():
            y[s:e] += gain * y[s - delay : e - delay]
    return y[lead:]


def _pluck(freq: float, n: int, rng: np.random.Generator, loss: float = 0.996) -> np.ndarray:
    """``n`` samples of a Karplus-Strong plucked string at about ``freq`` Hz (a noise burst fed back
    through a two-tap averaging delay line)."""
    period = round(RATE / freq)
    burst = np.zeros(n)
    noise = rng.uniform(-1, 1, min(period, n))
    burst[: len(noise)] = noise - noise.mean()  # no DC: it would not decay
    return _feedback(burst, {period: loss / 2, period + 1: loss / 2})


def _reverb(x: np.ndarray) -> np.ndarray:
    """The wet signal of a Schroeder reverb: four parallel feedback combs, then two all-passes."""
    wet = sum((_feedback(x, {d: 0.78}) for d in (557, 593, 641, 677)), np.zeros(len(x))) / 4
    for d, g in ((101, 0.6), (241, 0.6)):  # y[n] = -g x[n] + x[n - d] + g y[n - d]
        wet = _feedback(-g * wet + np.concatenate([np.zeros(d), wet[:-d]]), {d: g})
    return wet


def plucked_strings(seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """Synthetic music at 16 kHz in [-0.9, 0.9], the same for the same seed: plucked strings
    playing a random-walk melody on a minor pentatonic scale (eighth notes at 120 bpm, some rests)
    over a bass note per bar, with reverb and faint noise."""
    rng = np.random.default_rng(seed)
    n, beat = int(seconds * RATE), RATE // 4
    scale = np.array([0, 3, 5, 7, 10])
    dry, step = np.zeros(n), 7
    for k, start in enumerate(range(0, n, beat)):
        step = int(np.clip(step + rng.integers(-2, 3), 0, 14))
        notes = [(57 + 12 * (step // 5) + scale[step % 5], 1.0, 2 * beat)] if rng.random() < 0.85 else []
        if k % 8 == 0:
            notes.append((33 + scale[rng.integers(0, 5)], 0.5, 8 * beat))
        for midi, gain, length in notes:
            end = min(n, start + length)
            dry[start:end] += gain * _pluck(440 * 2 ** ((int(midi) - 69) / 12), end - start, rng)
    mix = dry + 0.35 * _reverb(dry) + rng.normal(0, 0.004, n)
    return 0.9 * mix / np.abs(mix).max()
