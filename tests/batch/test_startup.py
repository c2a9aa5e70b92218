"""Start-up: each command's module is imported only when it runs (aiexport.cli.COMMANDS)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import typer
from typer.testing import CliRunner

from aiexport.cli import COMMANDS, app


def test_the_table_names_every_command_its_module_registers():
    registered = {}
    for module in sorted(set(COMMANDS.values())):
        sub = typer.Typer()
        importlib.import_module(module).register(sub)
        registered |= {name: module for name in typer.main.get_group(sub).commands}
    assert registered == COMMANDS


def test_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_the_help_summaries_are_the_commands_own():
    from aiexport.cli import SUMMARIES, load_command

    assert set(SUMMARIES) == set(COMMANDS)
    for name in COMMANDS:
        assert SUMMARIES[name] == load_command(name).get_short_help_str(limit=150), name


def test_help_imports_no_command_module():
    loaded = _modules_after(["--help"])
    assert "typer" in loaded
    assert not {"polars", "sqlalchemy", "pydantic", "fastapi"} & loaded


def _modules_after(args: list[str], cwd: Path | None = None) -> set[str]:
    """The top-level modules imported by the CLI with ARGS, with no database anywhere (a fresh
    user data directory, no ./aiexport.db, no AIEXPORT_DATABASE_URL)."""
    cwd = cwd or Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if k != "AIEXPORT_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(cwd / "data")
    code = (
        "import sys\n"
        "from aiexport.cli import main\n"
        f"sys.argv = ['aiexport', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(m for m in sys.modules if '.' not in m)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)
    return set(done.stderr.split())


def test_version_imports_neither_polars_nor_sqlalchemy_nor_pydantic():
    loaded = _modules_after(["--version"])
    assert "typer" in loaded
    assert not {"polars", "sqlalchemy", "pydantic"} & loaded


def test_batch_does_not_import_sqlalchemy(tmp_path):
    from importlib import resources

    orders = str(resources.files("aiexport") / "examples" / "orders.csv")
    # without a database there are no lists to screen against: SQLAlchemy is not needed
    loaded = _modules_after(["batch", orders, "-o", str(tmp_path / "out.parquet")], cwd=tmp_path)
    assert (tmp_path / "out.parquet").exists()
    assert "polars" in loaded and "sqlalchemy" not in loaded
