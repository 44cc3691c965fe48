"""Process-parallel coding gives the same bytes as one process, in order."""

import os
import sys

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nct.compressors import get
from nct.data.corpus import embedded
from nct.parallel import available_workers, parallel_map, split_evenly

needs_two_cores = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")


@pytest.fixture
def two_threads():
    """Allow two workers (tests otherwise run PyTorch, and so coding, on one thread)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@given(n=st.integers(0, 50), parts=st.integers(1, 8))
def test_split_evenly_keeps_order_and_balances(n, parts):
    pieces = split_evenly(list(range(n)), parts)
    assert [x for p in pieces for x in p] == list(range(n))
    assert max(map(len, pieces)) - min(map(len, pieces)) <= 1
    assert len(pieces) == max(1, min(parts, n))


def _worker_pid(_: int) -> int:
    return os.getpid()


@needs_two_cores
def test_parallel_map_runs_in_other_processes_in_order(two_threads):
    assert available_workers() == 2
    assert list(parallel_map(lambda x: x * x, list(range(10)), 2)) == [x * x for x in range(10)]
    pids = set(parallel_map(_worker_pid, list(range(8)), 2))
    assert os.getpid() not in pids
    assert list(parallel_map(_worker_pid, [0, 1], 1)) == [os.getpid()] * 2  # one worker: inline


@needs_two_cores
def test_parallel_map_reraises_a_worker_error(two_threads):
    def fail(x):
        raise ValueError(f"bad item {x}")

    with pytest.raises(ValueError, match="bad item"):
        list(parallel_map(fail, [1, 2, 3], 2))


STOP_SCRIPT = """
import torch
from nct.parallel import parallel_map
torch.set_num_threads(2)

def fail(x):
    raise ValueError(x)

for _ in range(250):
    try:
        list(parallel_map(fail, [1, 2, 3], 2))
    except ValueError:
        pass
    assert list(parallel_map(abs, [-1, -2, -3], 2)) == [1, 2, 3]
"""


@needs_two_cores
def test_a_pool_stopped_by_an_error_never_hangs():
    import subprocess
    import sys

    # multiprocessing.Pool's terminate hung here within a few hundred such stops
    subprocess.run([sys.executable, "-c", STOP_SCRIPT], check=True, timeout=120)


@needs_two_cores
def test_a_killed_worker_is_a_clear_error_not_a_hang(two_threads):
    import signal

    from nct.errors import WorkerDied

    def die(x):
        if x == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return x

    with pytest.raises(WorkerDied, match="killed"):
        list(parallel_map(die, [1, 2, 3, 4], 2))
    assert list(parallel_map(abs, [-1, -2], 2)) == [1, 2]  # the next map starts afresh


@needs_two_cores
def test_ac_payload_and_decoding_do_not_depend_on_workers(tiny_m1, two_threads):
    text = embedded("validation").documents[0].data[:5000]
    one = get("ac", model=tiny_m1, block=200, batch=8, workers=1)
    two = get("ac", model=tiny_m1, block=200, batch=8, workers=2)
    payload = one.compress(text)
    assert two.compress(text) == payload
    assert two.decompress(payload) == text


@needs_two_cores
def test_equal_info_tokens_and_texts_do_not_depend_on_workers(tiny_m1, two_threads):
    from nct.tokenizers import EqualInfoAC

    texts = [d.data[:300] for d in embedded("validation").documents]
    tok = EqualInfoAC(tiny_m1, bits=16, token_bits=8, batch=2)
    torch.set_num_threads(1)
    encoding = tok.encode_result(texts)
    ids = encoding.ids
    back = tok.decode_batch(ids)
    assert encoding.ambiguous == 0 and back == texts
    torch.set_num_threads(2)
    assert tok.encode_batch(texts) == ids
    assert tok.decode_batch(ids) == back


WORKER_SCRIPT = """
import os, sys, time, torch
from nct.parallel import parallel_map
torch.set_num_threads(2)

def work(i):
    with open(os.path.join(sys.argv[1], str(os.getpid())), "w"):
        pass
    time.sleep(60)
    return i

list(parallel_map(work, range(2), 2))
"""


@needs_two_cores
@pytest.mark.parametrize("how", ["kill", "interrupt"])
def test_workers_go_quietly_with_their_parent(how, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(tmp_path)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while len(list(tmp_path.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
    workers = [int(f.name) for f in tmp_path.iterdir()]
    assert len(workers) == 2
    if how == "kill":
        p.kill()  # the parent dies at once: the kernel kills the workers (PR_SET_PDEATHSIG)
    else:
        p.send_signal(signal.SIGINT)
        for w in workers:  # Ctrl-C reaches the whole process group: the workers ignore it
            os.kill(w, signal.SIGINT)
    err = p.communicate(timeout=30)[1]
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    assert err.count("Traceback") <= 1 and "BrokenPipeError" not in err, err  # only the parent's own KeyboardInterrupt


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("value, expected", [("3", 3), ("4,2", 4), ("", None), ("abc", None), ("0", None)])
def test_the_thread_budget_before_torch_is_imported_reads_omp_num_threads(monkeypatch, value, expected):
    """Without PyTorch, the budget is OMP_NUM_THREADS's first number (OpenMP allows a list), else the cores."""
    from nct import parallel

    monkeypatch.delitem(sys.modules, "torch")  # put back after the test
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert parallel.threads() == (expected or parallel._cores())


@needs_two_cores
def test_a_process_that_uses_cuda_forks_no_workers(two_threads, monkeypatch):
    """A forked child cannot use the parent's CUDA context: such a process codes in itself."""
    assert available_workers() == 2
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert available_workers() == 1
