"""Start-up: each command's module is imported only when it runs (aiexport.cli.COMMANDS)."""

from __future__ import annotations

import importlib
import subprocess
import sys

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


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from aiexport.cli import main\n"
        f"sys.argv = ['aiexport', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(m for m in sys.modules if '.' not in m)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return set(done.stderr.split())


def test_version_imports_neither_polars_nor_sqlalchemy_nor_pydantic():
    loaded = _modules_after(["--version"])
    assert "typer" in loaded
    assert not {"polars", "sqlalchemy", "pydantic"} & loaded


def test_batch_does_not_import_sqlalchemy(tmp_path):
    from importlib import resources

    orders = str(resources.files("aiexport") / "examples" / "orders.csv")
    loaded = _modules_after(["batch", orders, "-o", str(tmp_path / "out.parquet")])
    assert (tmp_path / "out.parquet").exists()
    assert "polars" in loaded and "sqlalchemy" not in loaded
