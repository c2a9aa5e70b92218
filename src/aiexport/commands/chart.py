"""A terminal chart of the 3A090 lines: TPP (log scale) against performance density."""

from __future__ import annotations

import math

from rich.text import Text

X_MIN, X_MAX = math.log10(1000), math.log10(80000)
Y_MAX = 24.0
STYLE = {"3A090.a": "bold red", "3A090.b": "bold yellow", None: "bold green"}


def tpp_pd_chart(recs: list[dict], width: int = 72, height: int = 18) -> Text:
    """Chips with a known TPP and PD as points; the 3A090.a/.b lines of the Oct 2023 rule drawn in."""

    def col(tpp: float) -> int:
        return round((math.log10(tpp) - X_MIN) / (X_MAX - X_MIN) * (width - 1))

    def row(pd: float) -> int:
        return height - 1 - round(min(pd, Y_MAX) / Y_MAX * (height - 1))

    grid = [[(" ", "")] * width for _ in range(height)]
    for tpp_line in (1600, 2400, 4800):  # vertical lines
        c = col(tpp_line)
        for r in range(height):
            grid[r][c] = ("│", "dim")
    for pd_line, start in ((5.92, 1600), (3.2, 1600), (1.6, 2400)):  # horizontal lines from their TPP floor
        r = row(pd_line)
        for c in range(col(start), col(4800)):
            grid[r][c] = ("┼" if grid[r][c][0] == "│" else "─", "dim")
    placed = []
    for rec in recs:
        tpp, pd = rec["total_processing_performance"], rec["performance_density"]
        if tpp is None or pd is None or tpp < 1000:
            continue
        r, c = row(pd), min(col(min(tpp, 80000)), width - 1)
        grid[r][c] = ("●", STYLE.get(rec["eccn"], "bold magenta"))
        placed.append(rec)
    text = Text()
    labels = {0: f"PD {Y_MAX:g}", row(5.92): "PD 5.92", row(3.2): "PD 3.2", row(1.6): "PD 1.6", height - 1: "PD 0"}
    for r in range(height):
        text.append(f"{labels.get(r, ''):>8} ")
        for ch, style in grid[r]:
            text.append(ch, style=style)
        text.append("\n")
    axis = [" "] * width
    for v in (1600, 2400, 4800, 16000, 64000):
        s = f"{v:,}"
        c = max(0, min(width - len(s), col(v) - len(s) // 2))
        axis[c:c + len(s)] = list(s)
    text.append(" " * 9 + "".join(axis) + "\n")
    text.append(" " * 9 + "TPP (log scale) — ", style="dim")
    text.append("● 3A090.a ", style=STYLE["3A090.a"])
    text.append("● 3A090.b ", style=STYLE["3A090.b"])
    text.append("● not 3A090 ", style=STYLE[None])
    text.append(f"({len(placed)} chips with a known die area)", style="dim")
    return text
