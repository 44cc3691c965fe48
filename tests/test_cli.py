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


def test_a_device_that_is_not_there(text_file, tiny_model_path, tmp_path, capsys):
    assert run("compress", text_file, "--model", tiny_model_path, "--device", "cuda:99", "-o", tmp_path / "a.nct") == 1
    _one_line_error(capsys, "no such CUDA device")
    assert not (tmp_path / "a.nct").exists()
    run("compress", text_file, "--model", tiny_model_path, "-o", tmp_path / "b.nct", "-q")
    assert run("decompress", tmp_path / "b.nct", "--model", tiny_model_path, "--device", "nosuch", "-o", tmp_path / "b") == 1
    _one_line_error(capsys, "not a PyTorch device")
    assert not (tmp_path / "b").exists()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_archives_cross_between_cpu_and_cuda(text_file, tiny_model_path, tmp_path):
    for method in ("ac", "cm"):
        cpu, gpu = tmp_path / f"{method}-cpu.nct", tmp_path / f"{method}-gpu.nct"
        assert run("compress", text_file, "--model", tiny_model_path, "--method", method, "-o", cpu, "-q") == 0
        assert run("compress", text_file, "--model", tiny_model_path, "--method", method, "--device", "cuda", "-o", gpu, "-q") == 0
        assert cpu.read_bytes() == gpu.read_bytes()
        assert run("decompress", cpu, "--model", tiny_model_path, "--device", "cuda", "-o", tmp_path / f"{method}.out", "-q") == 0
        assert (tmp_path / f"{method}.out").read_bytes() == TEXT


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
    for bad in (["compress", text_file, "--block", 0], ["--threads", -1, "info", text_file], ["sample", "--bytes", -5]):
        with pytest.raises(SystemExit) as e:
            run(*bad)
        assert e.value.code == 2 and "must be at least" in capsys.readouterr().err
    assert run("compress", text_file, "--method", "static-ac", "--block", 100_000, "-o", str(text_file) + ".x") == 1
    _one_line_error(capsys, "block must be in 1..65536")
    assert run("compress", text_file, "--method", "gzip", "--block", 64) == 1
    _one_line_error(capsys, "--block applies to cm, ac, static-ac, llm, not")


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


# ----- gzip's habits ---------------------------------------------------------------------------
def test_several_inputs_go_on_past_a_bad_one(tmp_path, capsys):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"first " * 50)
    b.write_bytes(b"second " * 50)
    assert run("compress", a, tmp_path / "missing.txt", b, "--method", "gzip", "-q") == 1
    _one_line_error(capsys, "missing.txt: no such file")
    assert Path(f"{a}.nct").exists() and Path(f"{b}.nct").exists()
    a.unlink()
    assert run("decompress", f"{a}.nct", tmp_path / "b.txt", "-q") == 1  # b.txt: not an archive name
    assert a.read_bytes() == b"first " * 50 and "does not end in .nct" in capsys.readouterr().err


def test_stdout_decompress_option_and_test_mode(text_file, tmp_path, capsys):
    assert run("compress", text_file, "--method", "xz", "-q", "-k") == 0
    archive = Path(f"{text_file}.nct")
    assert text_file.exists()  # inputs are always kept
    assert run("compress", "-d", archive, "-o", tmp_path / "back", "-q") == 0
    assert (tmp_path / "back").read_bytes() == TEXT
    assert run("decompress", "-t", archive) == 0 and "ok" in capsys.readouterr().err
    damaged = tmp_path / "damaged.nct"
    damaged.write_bytes(archive.read_bytes()[:-3])
    assert run("decompress", "-t", archive, damaged, "-q") == 1
    _one_line_error(capsys, "damaged.nct: archive is truncated")
    r = subprocess.run([sys.executable, "-m", "nct.cli", "decompress", "-c", str(archive), str(archive)], capture_output=True)
    assert r.returncode == 0 and r.stdout == TEXT + TEXT  # as gzip -dc a b
    assert run("compress", "-c", "-f", text_file, text_file) == 1
    _one_line_error(capsys, "cannot decode")


def test_refuses_to_write_an_archive_to_a_terminal(text_file):
    import pty

    leader, follower = pty.openpty()
    try:
        r = subprocess.run([sys.executable, "-m", "nct.cli", "compress", "-c", "--method", "gzip", str(text_file)],
                           stdout=follower, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(follower)
        os.close(leader)
    assert r.returncode == 1 and "not written to a terminal" in r.stderr and r.stderr.count("\n") == 1


def _big_archive(tmp_path) -> Path:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(1_000_000))
    assert run("compress", big, "--method", "zstd", "-q") == 0
    return Path(f"{big}.nct")


def test_a_file_size_limit_on_stdout_is_an_error(tmp_path):
    import resource

    archive, sink, noise = _big_archive(tmp_path), tmp_path / "out", tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(300_000))  # its archive is larger than the limit too

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200 * 1024, 200 * 1024))

    for args in (["decompress", "-q", str(archive), "-o", "-"], ["compress", "-q", "--method", "zstd", "-c", str(noise)]):
        with open(sink, "wb") as f:
            r = subprocess.run([sys.executable, "-m", "nct.cli", *args], stdout=f, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
        assert r.returncode == 1 and "stdout: file too large" in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert sink.stat().st_size == 200 * 1024  # what the limit let through, and the run says so


def test_a_full_disk_and_a_closed_pipe_are_errors(tmp_path):
    archive = _big_archive(tmp_path)
    with open("/dev/full", "wb") as full:
        r = subprocess.run([sys.executable, "-m", "nct.cli", "decompress", "-c", str(archive)], stdout=full, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 1 and "no space left" in r.stderr and r.stderr.count("\n") == 1
    p = subprocess.Popen([sys.executable, "-m", "nct.cli", "decompress", "-c", str(archive)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(p.stdout.read(10)) == 10
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 1 and "broken pipe" in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_interrupted_run_leaves_no_temporary_file(tmp_path):
    import signal
    import time

    src = tmp_path / "noise.bin"
    src.write_bytes(os.urandom(3_000_000))
    p = subprocess.Popen([sys.executable, "-m", "nct.cli", "compress", "-q", "--method", "xz", str(src)], stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while not any(tmp_path.glob(".noise.bin.nct.*")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    assert p.wait() in (0, 128 + signal.SIGTERM)
    assert sorted(x.name for x in tmp_path.iterdir()) in (["noise.bin"], ["noise.bin", "noise.bin.nct"])


def test_sample_escapes_bytes_that_are_not_text(capsys):
    assert run("sample", "--compressor", "gzip", "--bytes", 30, "--temperature", 1, "--seed", 3) == 0
    out = capsys.readouterr().out
    assert all(c.isprintable() or c == "\n" for c in out)


def test_missing_run_directory_is_a_one_line_error(tmp_path, capsys):
    assert run("eval-m2", "--checkpoint", tmp_path / "nonexistent") == 1
    _one_line_error(capsys, "nonexistent: no such M2 run directory")


def test_a_bug_shows_its_traceback(monkeypatch, text_file):
    from nct import api

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "compress", broken)
    with pytest.raises(ZeroDivisionError):
        run("compress", text_file, "--method", "gzip")


def test_help_info_and_classical_methods_do_not_import_torch(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(TEXT)
    code = (
        "import sys\nfrom nct.cli import main\n"
        f"assert main(['compress', '-q', '--method', 'xz', {str(src)!r}]) == 0\n"
        f"assert main(['info', {str(src)!r} + '.nct']) == 0\n"
        f"assert main(['decompress', '-q', '-t', {str(src)!r} + '.nct']) == 0\n"
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().endswith("False")
    r = subprocess.run([sys.executable, "-c", "import sys\nfrom nct.cli import main\ntry:\n    main(['--help'])\n"
                        "except SystemExit:\n    pass\nprint('torch' in sys.modules)"], capture_output=True, text=True)
    assert r.stdout.strip().endswith("False")


def test_a_small_file_round_trips_with_cm_without_torch(tmp_path):
    """Under 32 KB, cm codes with M1's compiled steps in a process without PyTorch (importing it
    would be most of the time), and the archive is the one PyTorch's path writes."""
    src = tmp_path / "a.txt"
    src.write_bytes(TEXT * (4096 // len(TEXT) + 1))
    code = (
        "import sys\nfrom nct.cli import main\n"
        f"assert main(['compress', '-q', {str(src)!r}]) == 0\n"
        f"assert main(['decompress', '-q', '-f', '-o', {str(src)!r} + '.back', {str(src)!r} + '.nct']) == 0\n"
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().endswith("False")
    assert (tmp_path / "a.txt.back").read_bytes() == src.read_bytes()
    from nct import api  # here PyTorch is imported, so cm scores with its GEMMs: the same archive

    assert (tmp_path / "a.txt.nct").read_bytes() == api.compress(src.read_bytes())


def test_every_option_says_its_default():
    import argparse

    from nct.cli import build_parser

    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.option_strings and action.dest != "help" and action.required is False:
                text = action.help or ""
                if "default" not in text and "(required)" not in text:
                    missing.append(f"{path} {action.option_strings[-1]}")

    walk(build_parser(), "nct")
    assert not missing, missing


def test_scaling_defaults_agree_with_the_config():
    from nct.cli.scaling import DEFAULTS
    from nct.eval.scaling import ScalingConfig

    d = ScalingConfig()
    assert DEFAULTS["sizes"] == ",".join(d.sizes) and DEFAULTS["train_bytes"] == ",".join(map(str, d.train_bytes))
    assert (DEFAULTS["steps"], DEFAULTS["batch_size"], DEFAULTS["lr"], DEFAULTS["min_block"], DEFAULTS["seed"]) == (
        d.steps, d.batch_size, d.lr, d.min_block, d.seed)
    assert DEFAULTS["eval_bytes"] == str(d.eval_bytes) and DEFAULTS["adjust_for"] == ",".join(map(str, d.adjust_for))


def test_debug_shows_the_traceback_of_an_error(tmp_path, capsys):
    assert run("--debug", "decompress", tmp_path / "missing.nct") == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1] == f"nct: error: {tmp_path / 'missing.nct'}: no such file"


def test_crafted_archives_are_one_line_errors_in_a_real_process(tmp_path):
    import json
    import struct
    import time
    import zlib

    def craft(head: bytes, payload: bytes = b"") -> bytes:
        body = b"\x89NCT\x01" + struct.pack("<I", len(head)) + head + struct.pack("<Q", len(payload)) + payload
        return body + struct.pack("<I", zlib.crc32(body))

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(c.compress(bytes(1 << 20)) for _ in range(50)) + c.flush()
    fields = {"method": "gzip", "params": {"level": 9}, "model": None, "length": 1000, "sha256": "0" * 64}
    cases = {"nested": craft(b"[" * 30000 + b"]" * 30000), "bomb": craft(json.dumps(fields).encode(), bomb),
             "model": craft(json.dumps({**fields, "model": 123}).encode())}
    for name, archive in cases.items():
        (tmp_path / f"{name}.nct").write_bytes(archive)
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "nct.cli", "decompress", str(tmp_path / f"{name}.nct")], capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert time.time() - t0 < 5 and not (tmp_path / name).exists()


@pytest.mark.parametrize("delay", [0.2, 0.8])
def test_ctrl_c_during_start_up_is_one_line(delay, text_file):
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "nct.cli", "compress", "-q", str(text_file)], stderr=subprocess.PIPE, text=True)
    time.sleep(delay)  # importing PyTorch, or loading M1
    p.send_signal(signal.SIGINT)
    err = p.communicate(timeout=60)[1]
    assert p.returncode in (0, 130) and "Traceback" not in err, err
    assert not [f for f in text_file.parent.iterdir() if f.name.endswith(".tmp")]
