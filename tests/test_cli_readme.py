"""Every `aiexport` line of the README's console blocks runs, in order, in a fresh directory with
the example files, against a fresh ledger: the exit code is the one its comment states (else 0)
and no line ends in a traceback."""

from __future__ import annotations

import re
import shlex
import shutil
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.errors import InputError, InputErrors

README = Path(__file__).resolve().parents[1] / "README.md"
runner = CliRunner()


def console_blocks() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    out = []
    for b in blocks:
        lines = []
        for line in b.splitlines():
            line = line.strip()
            if not line.startswith("$ "):
                continue
            for part in line[2:].split("&&"):
                if part.strip().startswith("aiexport "):
                    lines.append(part.strip())
        if lines:
            out.append(lines)
    return out


def expected_exit(line: str) -> int:
    m = re.search(r"#.*?\bexit (\d)\b", line)
    return int(m.group(1)) if m else 0


def invoke(args: list[str], env: dict) -> tuple[int, str]:
    r = runner.invoke(app, args, env=env)
    if isinstance(r.exception, InputError | InputErrors):
        return 2, r.output
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise AssertionError(f"{args}: {r.exception!r}\n{r.output}") from r.exception
    return r.exit_code, r.output


BLOCKS = console_blocks()


def test_the_readme_has_examples():
    assert sum(len(b) for b in BLOCKS) >= 20


@pytest.mark.parametrize("block", BLOCKS, ids=[b[0][:40] for b in BLOCKS])
def test_readme_block_runs(block, tmp_path, monkeypatch):
    examples = Path(str(resources.files("aiexport") / "examples"))
    for f in ("orders.yaml", "orders.csv", "my_chips.csv"):
        shutil.copy(examples / f, tmp_path / f)
    (tmp_path / "src" / "aiexport").mkdir(parents=True)
    shutil.copytree(examples, tmp_path / "src" / "aiexport" / "examples")
    monkeypatch.chdir(tmp_path)
    env = {"AIEXPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}", "AIEXPORT_ACTOR": "clerk",
           "COLUMNS": "120"}
    for line in block:
        args = shlex.split(line, comments=True)[1:]
        code, output = invoke(args, env)
        assert code == expected_exit(line), f"{line}\n{output}"
