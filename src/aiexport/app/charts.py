"""Ledger burn-down as server-side SVG: the remaining amount of each licence, LPP quota and
Tier-2 allocation after every entry (steps over time), with a text alternative."""

from __future__ import annotations

from html import escape

W, H, L, R, T, B = 720, 300, 70, 20, 40, 40
COLORS = ("#1b5e9a", "#b03a2e", "#1e7b45", "#7d3c98", "#9a6b00", "#2c3e50")


def burn_down(series: list[dict]) -> str:
    """series: [{account, limit, points: [(ISO date, remaining)]}] -> SVG, x = the date."""
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
           f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">date of each entry (share of the limit remaining)</text>']
    import datetime as dt

    days = sorted({p[0] for s in series for p in s["points"]})
    lo = dt.date.fromisoformat(days[0]) if days else dt.date.today()
    hi = dt.date.fromisoformat(days[-1]) if days else lo
    span = max((hi - lo).days, 1)

    def x_of(day: str) -> float:
        return L + 20 + (dt.date.fromisoformat(day) - lo).days / span * (W - L - R - 40)

    if days:
        out.append(f'<text x="{x_of(days[0]):.1f}" y="{H - B + 14}" text-anchor="middle">{lo.isoformat()}</text>')
        if hi != lo:
            out.append(f'<text x="{x_of(days[-1]):.1f}" y="{H - B + 14}" text-anchor="middle">{hi.isoformat()}</text>')
    for k, s in enumerate(series):
        limit = float(s["limit"]) or 1.0
        color = COLORS[k % len(COLORS)]
        d = [f"M{L:.1f},{T:.1f}"]
        for day, rem in s["points"]:
            ny = T + (1 - max(min(float(rem) / limit, 1), 0)) * (H - T - B)
            d += [f"H{x_of(day):.1f}", f"V{ny:.1f}"]
        d.append(f"H{W - R}")
        out.append(f'<path d="{" ".join(d)}" fill="none" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{W - R - 4}" y="{T + 14 + 13 * k}" text-anchor="end" fill="{color}">{escape(s["account"])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def ledger_series(ledger) -> list[dict]:
    series = []
    for b in ledger.accounts():
        hist = sorted(ledger.history(b.account), key=lambda h: (str(h["on"]), h["id"]))
        pts, drawn = [], 0
        for h in hist:  # remaining after each entry, in the order of the dates the entries apply to
            drawn += h["amount"]
            pts.append((str(h["on"]), b.limit - drawn))
        series.append({"account": b.account, "kind": b.kind, "limit": b.limit, "points": pts})
    return series
