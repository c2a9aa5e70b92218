"""Run the real entry point (aiexport.cli.main) in-process, as a user's shell would: its exit
code, stdout and stderr, and whether a traceback escaped."""

from __future__ import annotations

import contextlib
import io
import sys
import traceback
from unittest import mock

from aiexport import cli


def run_main(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (mock.patch.object(sys, "argv", ["aiexport", *args]), contextlib.redirect_stdout(out),
          contextlib.redirect_stderr(err), mock.patch.dict("os.environ", {"COLUMNS": "200", **(env or {})})):
        from aiexport.commands import common

        common.console.file = out
        common.err_console.file = err
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - a traceback is the failure being tested for
            err.write(traceback.format_exc())
            code = -1
        finally:
            common.console.file = None
            common.err_console.file = None
    return code, out.getvalue(), err.getvalue()
