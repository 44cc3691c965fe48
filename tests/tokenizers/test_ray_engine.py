"""The Ray engine against the local one, on a local Ray cluster of 2 CPUs and the tiny M1."""

import gzip
import json
import os
from pathlib import Path

import pytest

from nct.data.corpus import stream_corpus
from nct.data.shards import Manifest, Shards
from nct.errors import BadInput, UsageError
from nct.tokenizers import pipeline
from nct.tokenizers.pipeline import tokenize_corpus
from nct.tokenizers.ray_engine import RayConfig, actor_resources

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")  # Ray Data's own renamed settings

WORDS = "the quick brown fox jumps over the lazy dog while seven wise owls watch quietly "
SETTINGS = dict(split="all", token_bits=8, example_bytes=240, chunk=3)


@pytest.fixture(scope="module")
def cluster(ray_cluster):
    """The local cluster of 2 CPUs (conftest)."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three C4-like JSONL.gz files."""
    d = tmp_path_factory.mktemp("c4")
    for f in range(3):
        with gzip.open(d / f"c4-train.{f:05d}-of-00003.json.gz", "wt") as out:
            out.write("".join(json.dumps({"text": WORDS * (1 + (i + f) % 3)}) + "\n" for i in range(4 + f)))
    return stream_corpus(str(d / "c4-train.*.json.gz"))


@pytest.fixture(scope="module")
def local(corpus, tiny_m1, tmp_path_factory):
    """The local engine's shards of the corpus."""
    out = tmp_path_factory.mktemp("local") / "eqi"
    tokenize_corpus(corpus, "equal-info", out, m1=tiny_m1, sentencepiece_dir=out.parent, **SETTINGS)
    return out


def files(directory: Path) -> dict[str, bytes]:
    """Every file of a shard directory, by name."""
    return {f.name: f.read_bytes() for f in sorted(directory.iterdir())}


def test_ray_writes_the_local_engines_shards(cluster, corpus, local, tiny_m1, tmp_path):
    out = tmp_path / "eqi"
    m = tokenize_corpus(corpus, "equal-info", out, m1=tiny_m1, sentencepiece_dir=local.parent, engine=RayConfig(batch=2), **SETTINGS)
    assert m.complete and len(m.inputs) == 3 and m.n_examples > 9
    assert files(out) == files(local)  # tokens, offsets, lengths and the manifest, byte for byte
    Shards(out).check()


def test_device_actors_code_several_parts_per_call_into_the_same_shards(cluster, corpus, local, tiny_m1, tmp_path):
    # the GPU actors' path on CPUs: each actor moves M1 to its device (the portable engine) and,
    # with a batch of more examples than a part holds, codes several whole parts per call
    out = tmp_path / "eqi"
    config = RayConfig(batch=7, device="cpu")
    tokenize_corpus(corpus, "equal-info", out, m1=tiny_m1, sentencepiece_dir=local.parent, engine=config, **SETTINGS)
    assert files(out) == files(local)


def test_actor_resources():
    assert actor_resources(RayConfig(), {"CPU": 6.0, "GPU": 2.0}) == (6, {"num_cpus": 1})
    assert actor_resources(RayConfig(device="cuda"), {"CPU": 6.0, "GPU": 2.0}) == (2, {"num_cpus": 1, "num_gpus": 1})
    assert actor_resources(RayConfig(device="cuda", actors=1), {"CPU": 6.0, "GPU": 2.0})[0] == 1
    assert (RayConfig().lockstep, RayConfig(device="cuda").lockstep, RayConfig(batch=9, device="cuda").lockstep) == (128, 4096, 9)
    with pytest.raises(UsageError, match="has no GPU"):
        actor_resources(RayConfig(device="cuda"), {"CPU": 6.0})
    with pytest.raises(UsageError, match="not 'cuda:1'"):
        RayConfig(device="cuda:1")


def test_cuda_actors_on_a_cluster_without_gpus_are_a_usage_error(cluster, corpus, tiny_m1, tmp_path):
    with pytest.raises(UsageError, match="the Ray cluster has no GPU"):
        tokenize_corpus(corpus, "equal-info", tmp_path / "x", m1=tiny_m1, engine=RayConfig(device="cuda"), **SETTINGS)


def test_a_worker_that_dies_changes_nothing(cluster, corpus, local, tiny_m1, tmp_path, monkeypatch):
    marker = tmp_path / "died"

    class DiesOnce:
        """A tokenizer whose first encoding anywhere kills its process (the Ray actor)."""

        def __init__(self, tok):
            self.tok = tok

        def encode_result(self, texts):
            if not marker.exists():
                marker.touch()
                os._exit(1)
            return self.tok.encode_result(texts)

        def __getattr__(self, name):
            return getattr(self.tok, name)

    build = pipeline.build
    monkeypatch.setattr(pipeline, "build", lambda *a, **k: DiesOnce(build(*a, **k)))  # pickled by value into the actors
    out = tmp_path / "eqi"
    out.mkdir()
    for name, data in files(local).items():  # a run that stopped after the first input's first chunk
        if name.startswith(("tokens-00000-00000", "offsets-00000-00000", "lengths-00000-00000")):
            (out / name).write_bytes(data)
    m = Manifest.load(local)
    m.chunks, m.complete = m.chunks[:1], False
    m.inputs = [{**i, "parts": None} for i in m.inputs]
    m.save(out)
    tokenize_corpus(corpus, "equal-info", out, m1=tiny_m1, sentencepiece_dir=local.parent, engine=RayConfig(batch=2), **SETTINGS)
    assert marker.exists() and files(out) == files(local)


def test_bad_input_on_ray_is_one_error_naming_file_and_record(cluster, tmp_path):
    for f, lines in enumerate([['{"text": "fine"}'] * 50, ['{"text": "fine"}'] * 30 + ['{"body": "no text"}']]):
        with gzip.open(tmp_path / f"c4-{f}.json.gz", "wt") as out:
            out.write("\n".join(lines) + "\n")
    with pytest.raises(BadInput) as e:
        tokenize_corpus(stream_corpus(str(tmp_path / "c4-*.json.gz")), "bytes", tmp_path / "s", engine=RayConfig(), **SETTINGS)
    assert type(e.value) is BadInput and str(e.value).startswith(f"{tmp_path / 'c4-1.json.gz'}:31: expected a JSON object")
    assert not any(f.name.endswith(".tmp") for f in (tmp_path / "s").glob("*"))


def test_ray_config_checks_its_values():
    with pytest.raises(UsageError, match="actors must be at least 1"):
        RayConfig(actors=0)


def test_cli_engine_ray(cluster, corpus, tmp_path, capsys):
    from nct.cli import main

    spec = str(Path(corpus.files[0].path).parent / "c4-train.*.json.gz")
    args = ["tokenize", "--method", "gzip", "--corpus", spec, "--split", "all", "--example-bytes", "240"]
    assert main([*args, "--out", str(tmp_path / "here")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--engine", "ray", "--actors", "2"]) == 0
    assert files(tmp_path / "ray").keys() == files(tmp_path / "here").keys()
    assert all(files(tmp_path / "ray")[k] == v for k, v in files(tmp_path / "here").items() if k != "manifest.json")
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "gpu"), "--engine", "ray", "--device", "cuda"]) == 1  # actors on GPUs: none here
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]  # after the progress bar's line
    assert len(errors) == 1 and errors[0].startswith("nct: error: the Ray cluster has no GPU")
