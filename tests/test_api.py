"""nct.api builds compressors with their coder options at construction (no reaching into coders)."""

import pytest

import nct
from nct.api import compressor
from nct.errors import UsageError
from nct.parallel import MIN_PARALLEL


def test_model_coders_take_progress_and_run_small_inputs_in_this_process(tiny_m1):
    c = compressor("ac", tiny_m1, progress=True, length=100, block=64)
    assert (c.coder.progress, c.coder.workers) == (True, 1)
    c = compressor("static-ac", progress=False, length=MIN_PARALLEL)
    assert (c.coder.progress, c.coder.workers) == (False, None)  # large enough for the workers
    assert compressor("ac", tiny_m1, length=10, workers=2, block=64).coder.workers == 2  # the caller's choice stands
    assert compressor("gzip", progress=True, length=10).compress(b"x")  # classical methods have no coder options


def test_progress_changes_no_byte(tiny_m1):
    data = b"the same bytes with and without a progress bar " * 4
    quiet = nct.compress(data, method="ac", model=tiny_m1, block=64)
    assert nct.compress(data, method="ac", model=tiny_m1, block=64, progress=True, check=True) == quiet
    assert nct.decompress(quiet, model=tiny_m1, progress=True) == data


def test_an_m1_on_a_device_makes_and_reads_the_same_archives(tiny_m1):
    """The portable engine (here on the CPU; on a GPU in the device check) codes the same bytes as
    the CPU engine, so archives cross between them."""
    data = b"archives made on one engine decode on the other, byte for byte " * 3
    portable = nct.api.load_model(tiny_m1, "cpu")
    assert portable.device == "cpu" and tiny_m1.device is None
    for method in ("ac", "cm"):
        here = nct.compress(data, method=method, model=tiny_m1, block=64)
        assert nct.compress(data, method=method, model=portable, block=64) == here
        assert nct.decompress(here, model=portable) == data


@pytest.mark.parametrize("device, message", [("nosuch", "not a PyTorch device"), ("cuda:99", "no such CUDA device"),
                                             ("meta", "runs on cpu and cuda")])
def test_a_device_that_is_not_there_is_a_usage_error(tiny_m1, device, message):
    with pytest.raises(UsageError, match=message):
        nct.api.load_model(tiny_m1, device)
