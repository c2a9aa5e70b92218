"""Write one section of docs/performance.md, replacing the section with the same heading."""

from __future__ import annotations

import platform
import re
from pathlib import Path

import polars as pl

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def machine() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, polars {pl.__version__}, {os.cpu_count()} CPU cores, {platform.machine()}"


def write_section(heading: str, body: str) -> None:
    DOC.parent.mkdir(exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Performance\n\nEvery figure below is produced by a script in `bench/`, which runs its baseline in the same process and writes its own section here. Tests never assert timings.\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text.rstrip() + "\n")
