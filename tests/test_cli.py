"""The command line: round trips, and bad input -> one-line error, non-zero exit, no partial output."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nct.cli import main
from tests.conftest import TINY, random_m1

TEXT = "Call me Ishmael. Some years ago — never mind how long precisely — ".encode() * 5


def run(*args):
    return main([*map(str, args)])


@pytest.fixture()
def text_file(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_bytes(TEXT)
    return p


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nct: error:") and needle in err[0], err


def test_round_trip_with_verify(text_file, tiny_model_path, tmp_path):
    assert run("compress", text_file, "--model", tiny_model_path, "--verify", "-q", "--block", 64) == 0
    archive = Path(str(text_file) + ".nct")
    out = tmp_path / "out.txt"
    assert run("decompress", archive, "-o", out, "--model", tiny_model_path, "-q") == 0
    assert out.read_bytes() == TEXT


@pytest.mark.parametrize("method", ["gzip", "zstd", "static-ac"])
def test_other_methods(method, text_file, tmp_path):
    assert run("compress", text_file, "--method", method, "-o", tmp_path / "a.nct", "-q") == 0
    assert run("decompress", tmp_path / "a.nct", "-q") == 0
    assert (tmp_path / "a").read_bytes() == TEXT


def test_stdin_stdout(tiny_model_path, tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(range(256)))
    packed = subprocess.run(
        [sys.executable, "-m", "nct.cli", "compress", "-", "--model", tiny_model_path, "-q"],
        input=src.read_bytes(), capture_output=True, check=True,
    ).stdout
    restored = subprocess.run(
        [sys.executable, "-m", "nct.cli", "decompress", "-", "--model", tiny_model_path, "-q"],
        input=packed, capture_output=True, check=True,
    ).stdout
    assert restored == src.read_bytes()


@pytest.mark.parametrize("data", [b"", b"\x00\x01\xfe\xff" * 20, b"\xc3\x28 invalid \xa0\xa1"])
def test_empty_and_binary_inputs_round_trip(data, tiny_model_path, tmp_path):
    src = tmp_path / "in"
    src.write_bytes(data)
    assert run("compress", src, "--model", tiny_model_path, "--verify", "-q") == 0
    assert run("decompress", tmp_path / "in.nct", "-o", tmp_path / "back", "--model", tiny_model_path, "-q") == 0
    assert (tmp_path / "back").read_bytes() == data


def test_refuses_to_overwrite(text_file, tmp_path, capsys):
    existing = tmp_path / "x.nct"
    existing.write_bytes(b"keep me")
    assert run("compress", text_file, "--method", "gzip", "-o", existing) == 1
    _one_line_error(capsys, "already exists")
    assert existing.read_bytes() == b"keep me"
    assert run("compress", text_file, "--method", "gzip", "-o", existing, "--force", "-q") == 0


def test_missing_input(tmp_path, capsys):
    assert run("compress", tmp_path / "nope.txt", "--method", "gzip") == 1
    _one_line_error(capsys, "no such file")


def test_unreadable_input(text_file, capsys):
    text_file.chmod(0)
    if os.access(text_file, os.R_OK):  # root reads anything; the kernel still refuses this one
        assert run("compress", "/proc/self/mem", "--method", "gzip", "-o", str(text_file) + ".nct") == 1
        _one_line_error(capsys, "cannot read")
    else:
        assert run("compress", text_file, "--method", "gzip") == 1
        _one_line_error(capsys, "permission denied")
    assert not Path(str(text_file) + ".nct").exists()


def test_directory_as_input(tmp_path, capsys):
    assert run("compress", tmp_path, "--method", "gzip", "-o", tmp_path / "x.nct") == 1
    _one_line_error(capsys, "is a directory")


def test_unwritable_output_directory(text_file, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # root ignores permission bits; sysfs refuses new files even to root
        target = locked if not os.access(locked, os.W_OK) else Path("/sys")
        assert run("compress", text_file, "--method", "gzip", "-o", target / "a.nct") == 1
        _one_line_error(capsys, "not writable")
        assert not (target / "a.nct").exists() and list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_output_directory_missing(text_file, tmp_path, capsys):
    assert run("compress", text_file, "--method", "gzip", "-o", tmp_path / "no" / "dir" / "a.nct") == 1
    _one_line_error(capsys, "no such directory")


def test_truncated_and_flipped_archives(text_file, tiny_model_path, tmp_path, capsys):
    archive = tmp_path / "a.nct"
    run("compress", text_file, "--model", tiny_model_path, "-o", archive, "-q")
    good = archive.read_bytes()
    cases = {"truncated": good[:-10], "corrupt": good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]}
    for needle, bad in cases.items():
        damaged = tmp_path / f"{needle}.nct"
        damaged.write_bytes(bad)
        assert run("decompress", damaged, "--model", tiny_model_path) == 1
        _one_line_error(capsys, needle)
        assert not (tmp_path / needle).exists()  # no half-written output


def test_unknown_version(text_file, tmp_path, capsys):
    run("compress", text_file, "--method", "gzip", "-o", tmp_path / "a.nct", "-q")
    data = bytearray((tmp_path / "a.nct").read_bytes())
    data[4] = 7
    (tmp_path / "a.nct").write_bytes(bytes(data))
    assert run("decompress", tmp_path / "a.nct") == 1
    _one_line_error(capsys, "version 7")


def test_wrong_model(text_file, tiny_model_path, tmp_path, capsys):
    other = tmp_path / "other.safetensors"
    random_m1(TINY, seed=9).save(other)
    run("compress", text_file, "--model", tiny_model_path, "-o", tmp_path / "a.nct", "-q")
    assert run("decompress", tmp_path / "a.nct", "--model", other) == 1
    _one_line_error(capsys, "made with model")
    assert not (tmp_path / "a").exists()


def test_not_a_model_file(text_file, tmp_path, capsys):
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\x00" * 64)
    assert run("compress", text_file, "--model", fake) == 1
    _one_line_error(capsys, "not a readable nct M1 model file")


def test_not_an_archive(text_file, capsys):
    assert run("decompress", text_file, "-o", str(text_file) + ".out") == 1
    _one_line_error(capsys, "not an nct archive")


def test_no_traceback_in_a_real_process(tmp_path):
    bad = tmp_path / "bad.nct"
    bad.write_bytes(b"\x89NCT\x01garbage")
    r = subprocess.run([sys.executable, "-m", "nct.cli", "decompress", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_info(text_file, tmp_path, capsys):
    run("compress", text_file, "--method", "xz", "-o", tmp_path / "a.nct", "-q")
    assert run("info", tmp_path / "a.nct") == 0
    assert '"method": "xz"' in capsys.readouterr().out


def test_bad_option_values(text_file, capsys):
    assert run("compress", text_file, "--method", "static-ac", "--block", 0, "-o", str(text_file) + ".x") == 1
    _one_line_error(capsys, "block must be in 1..65536")
    assert run("compress", text_file, "--method", "gzip", "--block", 64) == 1
    _one_line_error(capsys, "--block applies to cm, ac and static-ac")


def test_warns_when_a_text_model_expands_binary_data(tmp_path, capsys):
    p = tmp_path / "noise.bin"
    p.write_bytes(os.urandom(8192))
    assert run("compress", p, "--method", "static-ac") == 0
    assert "larger than the input" in capsys.readouterr().err
    assert run("decompress", f"{p}.nct", "-o", tmp_path / "back.bin") == 0
    assert (tmp_path / "back.bin").read_bytes() == p.read_bytes()


FIXTURES = Path(__file__).parent / "fixtures"


def test_archives_of_the_tiny_model_decode_with_model_tiny(tmp_path, capsys):
    out = tmp_path / "out.txt"
    assert run("decompress", FIXTURES / "tiny-ac.nct", "-o", out, "--model", "tiny", "-q") == 0
    assert out.read_bytes() == (FIXTURES / "tiny-ac.txt").read_bytes()
    assert run("decompress", FIXTURES / "tiny-ac.nct", "-o", tmp_path / "again.txt", "-q") == 1  # the default model
    _one_line_error(capsys, "made with model tiny (0e56f5a46020)")
    assert not (tmp_path / "again.txt").exists()


def test_models_lists_the_shipped_models(capsys):
    assert run("models") == 0
    out = capsys.readouterr().out
    assert "| default |" in out and "| tiny |" in out and "0e56f5a46020" in out
