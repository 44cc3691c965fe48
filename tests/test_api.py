"""nct.api builds compressors with their coder options at construction (no reaching into coders)."""

import nct
from nct.api import compressor
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
