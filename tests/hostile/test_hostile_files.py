"""Every file in tests/hostile/files: the exit code and the clear message (or the right answer)
listed in expected.yaml, and never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.hostile.helpers import run_main

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "expected.yaml").read_text(encoding="utf-8"))


def test_every_file_has_a_case():
    listed = {c["file"] for c in CASES}
    on_disk = {p.name for p in (HERE / "files").iterdir()}
    assert on_disk <= listed, sorted(on_disk - listed)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['file']}-{'-'.join(c['cmd'][1:2])}" for c in CASES])
def test_hostile_file(case):
    path = HERE / "files" / case["file"]
    args = [a.replace("{file}", str(path)) for a in case["cmd"]]
    code, out, err = run_main(args)
    assert "Traceback" not in err, err
    assert code == case["exit"], f"exit {code}\nstdout: {out}\nstderr: {err}"
    for s in case.get("says", []):
        assert s in " ".join(err.split()), f"{s!r} not in: {err}"
    for s in case.get("stdout", []):
        assert s in out, f"{s!r} not in: {out}"
