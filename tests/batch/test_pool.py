"""`aiexport batch --jobs N` (the default: one process per core): chunks decided in a pool of fresh
processes give the single process's output, rejects and counts; errors raised in a worker come
back whole."""

from __future__ import annotations

import pickle

import polars as pl
import pytest
from typer.testing import CliRunner

from aiexport.batch.run import run
from aiexport.cli import app
from aiexport.errors import InputError, InputErrors
from tests.batch.helpers import generate


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_pool_output_is_the_single_process_output(tmp_path, suffix):
    book = generate(1300, seed=23)
    book = book.with_columns(  # two bad rows in different chunks, and an id used again in a later chunk
        pl.when(pl.int_range(pl.len()).is_in([4, 1000])).then(pl.lit("ZZ")).otherwise(pl.col("to")).alias("to"),
        pl.when(pl.int_range(pl.len()) == 1200).then(pl.col("id").first()).otherwise(pl.col("id")).alias("id"),
    )
    path = tmp_path / "book.csv"
    book.write_csv(path)
    single = run(path, tmp_path / f"single{suffix}", chunk_size=300, rejects_path=tmp_path / "single.rejects.csv")
    seen: list[tuple[int, int]] = []
    pooled = run(path, tmp_path / f"pool{suffix}", chunk_size=300, rejects_path=tmp_path / "pool.rejects.csv",
                 jobs=2, progress=lambda done, total: seen.append((done, total)))
    assert (pooled.rows_in, pooled.decided, pooled.rejected) == (single.rows_in, single.decided, single.rejected) == (
        1300, 1297, 3)
    assert pooled.outcomes == single.outcomes
    read = pl.read_parquet if suffix == ".parquet" else (lambda p: pl.read_csv(p, infer_schema=False))
    a, b = read(tmp_path / f"single{suffix}"), read(tmp_path / f"pool{suffix}")
    assert a.height == 1297 and a.equals(b)
    assert pl.read_csv(tmp_path / "single.rejects.csv").equals(pl.read_csv(tmp_path / "pool.rejects.csv"))
    assert len(seen) == 5 and seen[-1] == (1300, 1300)  # a tick per chunk, the last at the total
    assert not (tmp_path / f"pool{suffix}.parts").exists()


def test_cli_jobs(tmp_path):
    path = tmp_path / "book.csv"
    generate(700, seed=3).write_csv(path)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    for out, jobs in ((one, "1"), (two, "2")):
        result = CliRunner().invoke(app, ["batch", str(path), "-o", str(out), "--chunk-size", "250", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        assert "lines in: 700 = decided 700 + rejected 0" in result.output
    assert pl.read_parquet(one).equals(pl.read_parquet(two))
    bad = CliRunner().invoke(app, ["batch", str(path), "-o", str(two), "--jobs", "0"])
    assert bad.exit_code == 2


def test_errors_cross_processes_whole():
    e = InputError("book.csv", 7, "to", "a country code", "ZZ", line=8)
    back = pickle.loads(pickle.dumps(e))
    assert back == e and str(back) == "book.csv, row 7 (line 8), column 'to': expected a country code, got 'ZZ'"
    many = pickle.loads(pickle.dumps(InputErrors([e, e])))
    assert many.errors == [e, e] and str(many) == str(InputErrors([e, e]))


def test_a_killed_pool_process_stops_the_run_with_a_clear_message(tmp_path):
    """A pool process killed from outside (the OOM killer, an operator) ends the run with exit 71
    and a message saying what to do; OUT is not written."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    psutil = pytest.importorskip("psutil")
    path = tmp_path / "book.csv"
    generate(1200, seed=5).write_csv(path)
    out = tmp_path / "out.parquet"
    aiexport = str(Path(sys.executable).with_name("aiexport"))
    proc = psutil.Popen([aiexport, "batch", str(path), "-o", str(out), "--chunk-size", "300", "--jobs", "2"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    killed = False
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        for child in proc.children(recursive=True):
            if "spawn_main" in " ".join(child.cmdline()):  # a process of the pool (not the resource tracker)
                child.kill()
                killed = True
                break
        time.sleep(0.02)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # hung (as it could before _abandon): not left running
        for child in proc.children(recursive=True):
            child.kill()
        proc.kill()
        proc.communicate()
        pytest.fail("the run did not end within 120 s of a pool process being killed")
    assert killed, "no pool process was seen"
    assert proc.returncode == 71, err
    assert "a process of the batch pool ended abruptly" in err and "--jobs 1" in err
    assert not out.exists()


def _spawned_pool_running(fn, *args):
    """A one-process pool (spawned, as batch's) with ``fn(*args)`` running in it, and its process."""
    import multiprocessing as mp
    import time
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
    future = pool.submit(fn, *args)
    deadline = time.monotonic() + 60
    while not future.running() and time.monotonic() < deadline:
        time.sleep(0.02)
    (proc,) = pool._processes.values()
    return pool, future, proc


def test_a_failed_run_kills_the_pool_processes_rather_than_waiting_for_them():
    """A bad chunk (or Ctrl-C) ends the run at once: the pool's processes are killed, not waited
    for. (Waiting is also what hangs for ever when the pool broke as a process was starting.)"""
    import signal
    import time

    from aiexport.batch.run import _in_pool

    pool, _, proc = _spawned_pool_running(time.sleep, 30)
    bad = InputError("book.csv", 3, "to", "a country code", "ZZ")

    def work():
        raise bad
        yield

    with pytest.raises(InputError) as caught:
        _in_pool(pool, work(), 1, {}, {}, [], lambda *_: None)
    assert caught.value is bad
    assert proc.exitcode == -signal.SIGKILL  # killed; a pool shut down politely lets it finish (0)


def test_an_error_from_a_broken_pool_is_reported_as_the_dead_process():
    """A process that dies as the next one starts can make the start fail with 'OSError: handle is
    closed' (Python 3.11): the run reports the dead process (exit 71 from the CLI), not an
    internal error."""
    import os
    import signal
    import time
    from concurrent.futures.process import BrokenProcessPool

    from aiexport.batch.run import _abandon
    from aiexport.errors import report_unexpected

    pool, future, proc = _spawned_pool_running(time.sleep, 30)
    os.kill(proc.pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        future.result(timeout=60)
    start_failed = OSError("handle is closed")
    with pytest.raises(BrokenProcessPool) as caught:
        _abandon(pool, start_failed)
    assert caught.value.__cause__ is start_failed
    assert report_unexpected(caught.value) == 71
    with pytest.raises(ValueError):  # an error of a pool that did not break passes as it is
        _abandon(_spawned_pool_running(time.sleep, 0)[0], ValueError("not the pool's"))


def _allocator_conf() -> str | None:
    import os

    return os.environ.get("_RJEM_MALLOC_CONF")


def test_pool_processes_get_the_allocator_options_and_a_users_value_wins(monkeypatch):
    """The allocator options (``aiexport.MALLOC_CONF``) reach the pool's processes, which read them
    when they import Polars; a value the user set is left alone."""
    from aiexport import MALLOC_CONF
    from aiexport.batch.run import _pool

    # Polars puts its own options in the variable when imported; they come first, and the last
    # value of an option is the one jemalloc keeps
    own = "dirty_decay_ms:500,muzzy_decay_ms:1000"
    for given, expected in ((None, MALLOC_CONF), (own, MALLOC_CONF), ("narenas:2", "narenas:2")):
        if given is None:
            monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
        else:
            monkeypatch.setenv("_RJEM_MALLOC_CONF", given)
        with _pool(1) as pool:
            assert pool.submit(_allocator_conf).result() == f"{own},{expected}"


def test_the_command_sets_the_allocator_options_before_polars_is_imported(tmp_path):
    """In a fresh `aiexport` process the options are set before Polars is first imported (set
    later, the allocator would never read them)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    code = (
        "import sys, os\n"
        "from aiexport import cli\n"
        "assert 'polars' not in sys.modules\n"
        "sys.argv = ['aiexport', 'classify', 'H100 SXM', '--format', 'json']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "assert 'polars' in sys.modules\n"
        "print(os.environ['_RJEM_MALLOC_CONF'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    from aiexport import MALLOC_CONF

    assert out.stdout.strip().splitlines()[-1].endswith("," + MALLOC_CONF)


def test_a_user_can_set_polars_own_allocator_options():
    """A user who sets exactly Polars' own options (to hand memory back sooner) keeps them: Polars
    appends a value the user set to its own."""
    import os
    import subprocess
    import sys

    own = "dirty_decay_ms:500,muzzy_decay_ms:1000"
    env = {**os.environ, "_RJEM_MALLOC_CONF": own}
    code = (
        "import sys, os\n"
        "from aiexport import cli\n"
        "sys.argv = ['aiexport', 'classify', 'H100 SXM', '--format', 'json']\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ['_RJEM_MALLOC_CONF'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == f"{own},{own}"


@pytest.mark.parametrize("posture", ["enforced", "codified"])
def test_a_pool_process_warms_up_with_the_plans_a_chunk_uses(posture):
    """``_warm`` (run by each pool process while the ids are read) builds the licence and reach
    plans that deciding a chunk over every epoch then finds built: deciding one afterwards builds
    none of them again, but the legal-reach subject stage's (which depends on the facts a book
    states)."""
    from aiexport.batch.core import decide_chunk
    from aiexport.batch.run import _warm
    from aiexport.engine import plan
    from aiexport.io.names import known_facts

    def plans() -> dict:
        return {key[0]: len(entries) for key, (_, entries) in plan._plans.items()}

    plan.clear()
    known_facts.cache_clear()
    _warm(posture)
    assert known_facts.cache_info().currsize == 1  # validating a chunk asks for them
    warmed = plans()
    assert any(k[0] == "license" for k in warmed) and ("reach", "summary", True) in warmed
    raw = generate(3_000, seed=4).with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    decide_chunk(raw, posture=posture, unscreened="no list")
    built = plans()
    # nothing built again but the subject stage's (it depends on the facts a book states)
    assert {k: n for k, n in built.items() if warmed.get(k) != n} == {
        k: n for k, n in built.items() if k[:2] == ("reach", "subject")}
    assert any(k[:2] == ("reach", "subject") for k in built)
