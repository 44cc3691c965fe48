import json

from nct.eval.reproduce import PRESETS, ReproduceConfig, run_reproduce
from nct.tokenizers import MethodSpec
from tests.m2_fixtures import CORPUS


def test_tiny_grid_end_to_end_and_resume(tmp_path, tiny_m1):
    cfg = ReproduceConfig(
        methods=[MethodSpec.parse("bytes"), MethodSpec.parse("EqualInfoAC[b=16, v=256]")],
        sizes=["cpu-1m"], steps=3, batch_size=2, context=32, warmup=1, train_bytes=1500, eval_bytes=600,
        example_bytes=500,
    )
    reports = run_reproduce(cfg, tmp_path, CORPUS, tiny_m1)
    assert [r["name"] for r in reports] == ["Bytes", "EqualInfoAC[b=16, v=256]"]
    assert all(r["bits_per_byte"] > 0 for r in reports)
    for name in ("results.md", "results.json", "bpb_vs_flops.png", "bpb_vs_size.png", "config.yaml"):
        assert (tmp_path / name).stat().st_size > 0
    eq = reports[1]
    assert eq["flops_per_byte"] > 2 * tiny_m1.non_embedding_params  # includes M1's cost
    stamp = (tmp_path / "runs" / "bytes-cpu-1m" / "report.json").stat().st_mtime_ns
    again = run_reproduce(cfg, tmp_path, CORPUS, tiny_m1)  # everything done: nothing retrained
    assert (tmp_path / "runs" / "bytes-cpu-1m" / "report.json").stat().st_mtime_ns == stamp
    assert [r["bits_per_byte"] for r in again] == [r["bits_per_byte"] for r in reports]
    assert ReproduceConfig.load(str(tmp_path / "config.yaml")) == cfg
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["config"]["steps"] == 3 and result["config"]["methods"] == ["bytes", "equal-info16"]
    assert (result["kind"], result["schema"]) == ("reproduce", 1)
    assert set(result["seconds"]["tokenize_by_shards"]) == {"bytes", "bytes-val", "equal-info16", "equal-info16-val"}
    assert result["seconds"]["total"] == result["seconds"]["tokenize"] + result["seconds"]["train_and_evaluate"] > 0
    assert result["autocast"] in ("bf16", "fp32") and result["environment"]["torch"]


def test_presets_cover_the_papers_methods():
    names = [m.display for m in PRESETS["cpu"].methods]
    for expected in ("Bytes", "SentencePiece", "GZip", "AC", "StaticAC", "EqualInfoAC[b=16, v=65k]", "EqualInfoAC[b=32"):
        assert any(n.startswith(expected) for n in names)
    assert PRESETS["paper"].sizes == ["25m", "113m", "403m", "2b"]
