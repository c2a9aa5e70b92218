"""Ledger burn-down as server-side SVG: the remaining amount of each licence, LPP quota and
Tier-2 allocation after every entry (steps over time), with a text alternative."""

from __future__ import annotations

from html import escape

W, H, L, R, T, B = 720, 300, 70, 20, 40, 40
COLORS = ("#1b5e9a", "#b03a2e", "#1e7b45", "#7d3c98", "#9a6b00", "#2c3e50")


def burn_down(series: list[dict]) -> str:
    """series: [{account, limit, points: [(iso time, remaining)]}] -> SVG."""
    title = "Ledger burn-down: remaining per account after each entry"
    desc = "; ".join(f"{s['account']}: limit {s['limit']}, remaining {s['points'][-1][1] if s['points'] else s['limit']}"
                     for s in series) or "no accounts"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" '
           f'aria-labelledby="bd-title bd-desc" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
           f'<title id="bd-title">{escape(title)}</title><desc id="bd-desc">{escape(desc)}</desc>',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#333"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="#333"/>',
           f'<text x="{L - 6}" y="{T + 4}" text-anchor="end">100%</text>',
           f'<text x="{L - 6}" y="{H - B}" text-anchor="end">0%</text>',
           f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">entries in time order (share of the limit remaining)</text>']
    times = sorted({p[0] for s in series for p in s["points"]})
    pos = {t: i for i, t in enumerate(times)}
    n = max(len(times), 1)
    for k, s in enumerate(series):
        limit = float(s["limit"]) or 1.0
        color = COLORS[k % len(COLORS)]
        x, y = L, T
        d = [f"M{x:.1f},{y:.1f}"]
        for t, rem in s["points"]:
            nx = L + (pos[t] + 1) / n * (W - L - R)
            ny = T + (1 - max(min(float(rem) / limit, 1), 0)) * (H - T - B)
            d += [f"H{nx:.1f}", f"V{ny:.1f}"]
        d.append(f"H{W - R}")
        out.append(f'<path d="{" ".join(d)}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{W - R - 4}" y="{T + 14 + 13 * k}" text-anchor="end" fill="{color}">{escape(s["account"])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def ledger_series(ledger) -> list[dict]:
    series = []
    for b in ledger.accounts():
        pts = [(h["created_at"], h["remaining_after"]) for h in ledger.history(b.account)]
        series.append({"account": b.account, "kind": b.kind, "limit": b.limit, "points": pts})
    return series
