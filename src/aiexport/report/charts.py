"""Charts as SVG text, built from data (no plotting library): the catalog on the TPP x performance
density plane with each rule version's regions and arrows to the nearest line, and the models'
training compute over time against the 4E091 lines with the open-weight trend.

Every series is a ``<g>`` with an ``id`` and every mark carries ``data-*`` attributes, so tests
(and the web pages) can read the chart back as XML.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from aiexport.report.trend import Fit, year_fraction

W, H = 900, 560
M = {"l": 70, "r": 200, "t": 40, "b": 60}
COLOURS = {"3A090.a": "#c0392b", "3A090.b": "#e67e22", "free": "#27ae60", "needs": "#8e44ad"}


def _a(**kw) -> str:
    return " ".join(f"{k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in kw.items() if v is not None)


class _Svg:
    def __init__(self, title: str, desc: str):
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
            f'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
            '<defs><marker id="arrowhead" markerWidth="8" markerHeight="6" refX="7" refY="3" orient="auto">'
            '<path d="M0,0 L8,3 L0,6 z" fill="#333"/></marker></defs>',
            f'<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>',
            f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
        ]

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x, y, s, **kw) -> None:
        self.add(f'<text {_a(x=round(x, 1), y=round(y, 1), **kw)}>{escape(s)}</text>')

    def done(self) -> str:
        return "\n".join(self.parts + ["</svg>"]) + "\n"


# ---- TPP x performance density ---------------------------------------------------------------

X0, X1 = math.log10(500), math.log10(120000)
Y1 = 25.0


def _px(tpp: float) -> float:
    t = min(max(tpp, 10 ** X0), 10 ** X1)
    return M["l"] + (math.log10(t) - X0) / (X1 - X0) * (W - M["l"] - M["r"])


def _py(pd: float) -> float:
    return H - M["b"] - min(max(pd, 0), Y1) / Y1 * (H - M["t"] - M["b"])


def _category(paragraph: str | None, needs: bool) -> str:
    if needs:
        return "needs"
    if paragraph and paragraph.startswith("3A090.a"):
        return "3A090.a"
    if paragraph and paragraph.startswith("3A090.b"):
        return "3A090.b"
    return "free"


def tpp_pd_chart(chips: list[dict], lines: dict, arrows: list[dict] | None = None, *, title: str | None = None) -> str:
    """``chips``: {name, tpp, pd, paragraph, needs}; ``lines``: the thresholds of each version
    ({"2023": {tpp_a1, tpp_a2, tpp_b1, tpp_b2, pd_a2, pd_b1, pd_b2}, "2022": {tpp}, "zone": {tpp}});
    ``arrows``: {name, from: (tpp, pd), to: (tpp, pd), becomes}."""
    title = title or "The catalog on the TPP x performance-density plane (3A090)"
    svg = _Svg(title, "Accelerators by total processing performance (log scale) and performance density, "
                      "with the regions of the Oct 2023 rule, the Oct 2022 TPP line and the 91 FR 1684 zone.")
    v = lines.get("2023")
    # regions of the Oct 2023 rule (drawn first, under the points)
    svg.add('<g id="regions-2023">')
    if v:
        a1, a2, b1, b2 = v["tpp_a1"], v["tpp_a2"], v["tpp_b1"], v["tpp_b2"]
        pa, pb1, pb2 = v["pd_a2"], v["pd_b1"], v["pd_b2"]
        regions = [
            ("3A090.a.1", a1, 10 ** X1, 0, Y1, COLOURS["3A090.a"], 0.16),
            ("3A090.a.2", a2, a1, pa, Y1, COLOURS["3A090.a"], 0.10),
            ("3A090.b.1", b1, a1, pb1, pa, COLOURS["3A090.b"], 0.14),
            ("3A090.b.2", b2, a1, pb2, pa, COLOURS["3A090.b"], 0.10),
        ]
        for rule, x0, x1, y0, y1, colour, alpha in regions:
            if x0 >= x1:
                continue
            x, y = _px(x0), _py(y1)
            svg.add(f'<rect {_a(class_="region", data_rule=rule, x=round(x, 1), y=round(y, 1), width=round(_px(x1) - x, 1), height=round(_py(y0) - y, 1), fill=colour, fill_opacity=alpha)}/>')
            ly = _py(y0) - 4 if rule == "3A090.b.1" else y + 12  # b.1 and b.2 share their top edge
            svg.text(x + 3, ly, rule, fill=colour, font_weight="bold", class_="region-label")
    svg.add("</g>")
    # axes
    x_axis, y_axis = H - M["b"], M["l"]
    svg.add(f'<g id="axes" stroke="#555"><line x1="{M["l"]}" y1="{x_axis}" x2="{W - M["r"]}" y2="{x_axis}"/>'
            f'<line x1="{y_axis}" y1="{M["t"]}" x2="{y_axis}" y2="{x_axis}"/></g>')
    for t in (500, 1000, 1600, 2400, 4800, 10000, 21000, 50000, 100000):
        svg.add(f'<line x1="{_px(t):.1f}" y1="{x_axis}" x2="{_px(t):.1f}" y2="{x_axis + 4}" stroke="#555"/>')
        svg.text(_px(t), x_axis + 16, f"{t:,}", text_anchor="middle")
    for p in (0, 1.6, 3.2, 5.92, 10, 15, 20, 25):
        svg.add(f'<line x1="{y_axis - 4}" y1="{_py(p):.1f}" x2="{y_axis}" y2="{_py(p):.1f}" stroke="#555"/>')
        svg.text(y_axis - 7, _py(p) + 4, f"{p:g}", text_anchor="end")
    svg.text((M["l"] + W - M["r"]) / 2, H - 18, "total processing performance (TPP, log scale)", text_anchor="middle")
    svg.text(18, (M["t"] + H - M["b"]) / 2, "performance density (TPP / mm²)", text_anchor="middle",
             transform=f"rotate(-90 18 {(M['t'] + H - M['b']) / 2})")
    # the other versions' lines
    svg.add('<g id="lines-other-versions">')
    if lines.get("2022"):
        t = lines["2022"]["tpp"]
        svg.add(f'<line {_a(class_="version-line", data_version="R1 (Oct 2022)", x1=round(_px(t), 1), y1=M["t"], x2=round(_px(t), 1), y2=x_axis, stroke="#2c3e50", stroke_dasharray="6,4")}/>')
        svg.text(_px(t) + 3, H - M["b"] - 8, f"Oct 2022: TPP ≥ {t:,g} and I/O ≥ 600 GB/s", fill="#2c3e50")
    if lines.get("zone"):
        t = lines["zone"]["tpp"]
        svg.add(f'<line {_a(class_="version-line", data_version="R8 (91 FR 1684)", x1=round(_px(t), 1), y1=M["t"], x2=round(_px(t), 1), y2=x_axis, stroke="#2980b9", stroke_dasharray="2,3")}/>')
        svg.text(_px(t) + 3, M["t"] + 28, f"91 FR 1684 zone: TPP < {t:,g}", fill="#2980b9")
    svg.add("</g>")
    # arrows to the nearest line
    svg.add('<g id="arrows">')
    for ar in arrows or []:
        (t0, p0), (t1, p1) = ar["from"], ar["to"]
        svg.add(f'<line {_a(class_="arrow", data_name=ar["name"], data_becomes=ar.get("becomes"), x1=round(_px(t0), 1), y1=round(_py(p0), 1), x2=round(_px(t1), 1), y2=round(_py(p1), 1), stroke="#333", stroke_width=1.2, marker_end="url(#arrowhead)")}/>')
    svg.add("</g>")
    # the chips
    svg.add('<g id="series-chips">')
    for c in chips:
        if c.get("tpp") is None or c.get("pd") is None:
            continue
        cat = _category(c.get("paragraph"), bool(c.get("needs")))
        svg.add(f'<circle {_a(class_="chip", data_name=c["name"], data_category=cat, data_tpp=c["tpp"], data_pd=c["pd"], cx=round(_px(c["tpp"]), 1), cy=round(_py(c["pd"]), 1), r=4, fill=COLOURS[cat], stroke="white", stroke_width=0.8)}/>')
        if c.get("label"):
            svg.text(_px(c["tpp"]) + 6, _py(c["pd"]) - 5, c["label"], font_size=9, class_="chip-label")
    svg.add("</g>")
    # legend
    lx = W - M["r"] + 15
    svg.add('<g id="legend">')
    for i, (cat, text) in enumerate((("3A090.a", "3A090.a"), ("3A090.b", "3A090.b"), ("free", "outside 3A090"), ("needs", "needs facts"))):
        svg.add(f'<circle cx="{lx + 5}" cy="{M["t"] + 20 + 18 * i}" r="4" fill="{COLOURS[cat]}"/>')
        svg.text(lx + 14, M["t"] + 24 + 18 * i, text)
    svg.text(lx, M["t"] + 110, "shaded: Oct 2023 rule regions", fill="#555")
    svg.text(lx, M["t"] + 126, "arrow: nearest line crossing", fill="#555")
    svg.text(lx, M["t"] + 142, "(TPP at fixed die area, or", fill="#555")
    svg.text(lx, M["t"] + 156, " density at fixed TPP)", fill="#555")
    svg.add("</g>")
    return svg.done()


# ---- models against the 4E091 lines over time ------------------------------------------------

MX0, MX1 = 2020.0, 2034.0
MY0, MY1 = 22.5, 27.5
COUNTRY = {"United States of America": ("US", "#2c3e50"), "China": ("CN", "#c0392b")}


def _mx(year: float) -> float:
    return M["l"] + (min(max(year, MX0), MX1) - MX0) / (MX1 - MX0) * (W - M["l"] - M["r"])


def _my(log10ops: float) -> float:
    return H - M["b"] - (min(max(log10ops, MY0), MY1) - MY0) / (MY1 - MY0) * (H - M["t"] - M["b"])


def models_chart(models: list[dict], fit: Fit | None, *, threshold: float = 1e26, fine_tune: float = 2.5e25,
                 title: str | None = None) -> str:
    """``models``: {name, released (date), operations (float), published (bool|None), country}."""
    title = title or "AI models' training compute against the 4E091 line, with the open-weight trend"
    svg = _Svg(title, "Training operations (log scale) by publication date; open vs closed weights; developer country; "
                      "the 10^26 line and the 2.5e25 fine-tune line of 4E091; the trend of open-weight models (an estimate).")
    x_axis = H - M["b"]
    svg.add(f'<g id="axes" stroke="#555"><line x1="{M["l"]}" y1="{x_axis}" x2="{W - M["r"]}" y2="{x_axis}"/>'
            f'<line x1="{M["l"]}" y1="{M["t"]}" x2="{M["l"]}" y2="{x_axis}"/></g>')
    for y in range(int(MX0), int(MX1) + 1, 2):
        svg.add(f'<line x1="{_mx(y):.1f}" y1="{x_axis}" x2="{_mx(y):.1f}" y2="{x_axis + 4}" stroke="#555"/>')
        svg.text(_mx(y), x_axis + 16, str(y), text_anchor="middle")
    for e in (23, 24, 25, 26, 27):
        svg.add(f'<line x1="{M["l"] - 4}" y1="{_my(e):.1f}" x2="{M["l"]}" y2="{_my(e):.1f}" stroke="#555"/>')
        svg.text(M["l"] - 7, _my(e) + 4, f"1e{e}", text_anchor="end")
    svg.text((M["l"] + W - M["r"]) / 2, H - 18, "publication date", text_anchor="middle")
    svg.text(18, (M["t"] + H - M["b"]) / 2, "training operations (log scale)", text_anchor="middle",
             transform=f"rotate(-90 18 {(M['t'] + H - M['b']) / 2})")
    # the 4E091 lines
    svg.add('<g id="lines-4E091">')
    for cls, value, colour, label in (("threshold", threshold, "#c0392b", "4E091: 10^26 operations"),
                                      ("fine-tune", fine_tune, "#e67e22", "4E091 Note 1: fine-tune > 2.5e25 additional operations")):
        y = _my(math.log10(value))
        svg.add(f'<line {_a(class_="rule-line", data_rule=cls, data_operations=f"{value:g}", x1=M["l"], y1=round(y, 1), x2=W - M["r"], y2=round(y, 1), stroke=colour, stroke_dasharray="6,4", stroke_width=1.5)}/>')
        svg.text(M["l"] + 4, y - 4, label, fill=colour)
    svg.add("</g>")
    # the trend with its band
    svg.add('<g id="series-trend">')
    if fit is not None:
        xs = [MX0 + i * (MX1 - MX0) / 60 for i in range(61)]
        lo = [fit.band(x)[0] for x in xs]
        hi = [fit.band(x)[1] for x in xs]
        pts = " ".join(f"{_mx(x):.1f},{_my(y):.1f}" for x, y in zip(xs + xs[::-1], hi + lo[::-1], strict=True))
        svg.add(f'<polygon {_a(class_="trend-band", points=pts, fill="#3498db", fill_opacity=0.15)}/>')
        line = " ".join(f"{_mx(x):.1f},{_my(fit.at(x)):.1f}" for x in xs)
        svg.add(f'<polyline {_a(class_="trend", data_slope=round(fit.slope, 4), points=line, fill="none", stroke="#2980b9", stroke_width=2)}/>')
        if fit.crossing:
            cx = year_fraction(fit.crossing)
            svg.add(f'<line {_a(class_="crossing", data_date=fit.crossing.isoformat(), x1=round(_mx(cx), 1), y1=M["t"], x2=round(_mx(cx), 1), y2=x_axis, stroke="#2980b9", stroke_dasharray="2,3")}/>')
            hi_text = fit.crossing_high.isoformat() if fit.crossing_high else "no upper bound"
            lo_text = fit.crossing_low.isoformat() if fit.crossing_low else "?"
            svg.text(_mx(cx) - 4, M["t"] + 14, f"ESTIMATE: open-weight trend reaches 1e26 on {fit.crossing.isoformat()}",
                     fill="#2980b9", text_anchor="end", class_="crossing-label")
            svg.text(_mx(cx) - 4, M["t"] + 28, f"95 % interval {lo_text} to {hi_text} (OLS, bootstrap)",
                     fill="#2980b9", text_anchor="end")
    svg.add("</g>")
    # the models
    for published, gid in ((True, "series-open"), (False, "series-closed")):
        svg.add(f'<g id="{gid}">')
        for m in models:
            if m.get("operations") is None or bool(m.get("published")) is not published:
                continue
            x, y = _mx(year_fraction(m["released"])), _my(math.log10(m["operations"]))
            code, colour = COUNTRY.get(m.get("country") or "", ("other", "#16a085"))
            attrs = _a(class_="model", data_name=m["name"], data_country=code, data_operations=f"{m['operations']:g}",
                       data_released=m["released"].isoformat())
            if published:
                svg.add(f'<circle {attrs} cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
            else:
                svg.add(f'<rect {attrs} x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="white" stroke="{colour}" stroke-width="1.5"/>')
            if m.get("label"):
                svg.text(x + 6, y - 5, m["name"], font_size=9, class_="model-label")
        svg.add("</g>")
    lx = W - M["r"] + 15
    svg.add('<g id="legend">')
    svg.add(f'<circle cx="{lx + 5}" cy="{M["t"] + 20}" r="4" fill="#555"/>')
    svg.text(lx + 14, M["t"] + 24, "open weights (published)")
    svg.add(f'<rect x="{lx + 1}" y="{M["t"] + 34}" width="8" height="8" fill="white" stroke="#555" stroke-width="1.5"/>')
    svg.text(lx + 14, M["t"] + 42, "closed weights")
    for i, (code, colour) in enumerate((("United States", "#2c3e50"), ("China", "#c0392b"), ("other", "#16a085"))):
        svg.add(f'<rect x="{lx + 1}" y="{M["t"] + 54 + 16 * i}" width="8" height="8" fill="{colour}"/>')
        svg.text(lx + 14, M["t"] + 62 + 16 * i, f"developer: {code}")
    svg.add(f'<rect x="{lx + 1}" y="{M["t"] + 108}" width="8" height="8" fill="#3498db" fill-opacity="0.3"/>')
    svg.text(lx + 14, M["t"] + 116, "open-weight trend, 95 % band")
    svg.add("</g>")
    return svg.done()
