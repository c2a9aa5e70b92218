"""Charts rendered to files and read back as XML; reports as HTML and PDF."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiexport.cli import app
from aiexport.commands.check import example_orders
from aiexport.engine.params import using_store
from aiexport.engine.reforms import load_reform
from aiexport.report.figures import chip_chart, model_chart
from aiexport.report.trend import fit

runner = CliRunner()
DAY = dt.date(2026, 12, 1)
NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(path: Path) -> ET.Element:
    assert path.stat().st_size > 1000
    return ET.parse(path).getroot()


def _group(root: ET.Element, gid: str) -> ET.Element:
    g = root.find(f".//s:g[@id='{gid}']", NS)
    assert g is not None, gid
    return g


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("charts")
    r = runner.invoke(app, ["report", "charts", "--out-dir", str(out), "--on", DAY.isoformat()])
    assert r.exit_code == 0, r.output
    return out


def test_the_chip_chart_has_the_catalog_regions_lines_and_arrows(charts):
    root = _svg(charts / "chips-tpp-pd.svg")
    chips = {c.get("data-name"): c for c in _group(root, "series-chips") if c.tag.endswith("circle")}
    assert len(chips) > 25  # the chips with a known TPP and die area
    assert chips["NVIDIA H20 HGX (SXM) 96GB"].get("data-category") == "free"
    assert chips["NVIDIA H100 SXM5 80GB"].get("data-category") == "3A090.a"
    assert chips["NVIDIA L40 PCIe"].get("data-category") == "3A090.b"
    regions = {r.get("data-rule") for r in _group(root, "regions-2023") if r.tag.endswith("rect")}
    assert regions == {"3A090.a.1", "3A090.a.2", "3A090.b.1", "3A090.b.2"}
    versions = {ln.get("data-version") for ln in _group(root, "lines-other-versions") if ln.tag.endswith("line")}
    assert versions == {"R1 (Oct 2022)", "R8 (91 FR 1684)"}
    arrows = {a.get("data-name"): a.get("data-becomes") for a in _group(root, "arrows")}
    assert arrows["NVIDIA H20 HGX (SXM) 96GB"] == "3A090.b.1"  # 32 TPP away
    assert "NVIDIA H100 SXM5 80GB" not in arrows  # far from every line


def test_the_chip_chart_under_a_reform_moves_the_regions():
    with using_store(load_reform("tpp-2400").store):
        root = ET.fromstring(chip_chart(DAY))
    rects = {r.get("data-rule"): r for r in _group(root, "regions-2023") if r.tag.endswith("rect")}
    assert "3A090.b.1" not in rects  # [2400, 2400): empty under the reform
    chips = {c.get("data-name"): c.get("data-category") for c in _group(root, "series-chips") if c.tag.endswith("circle")}
    assert chips["NVIDIA L40 PCIe"] == "3A090.a" and chips["NVIDIA H20 HGX (SXM) 96GB"] == "free"


def test_the_models_chart_has_both_lines_the_series_and_the_estimate(charts):
    root = _svg(charts / "models-4e091.svg")
    rules = {ln.get("data-rule"): ln.get("data-operations") for ln in _group(root, "lines-4E091") if ln.tag.endswith("line")}
    assert rules == {"threshold": "1e+26", "fine-tune": "2.5e+25"}
    open_ = {m.get("data-name"): m for m in _group(root, "series-open") if m.get("class") == "model"}
    closed = {m.get("data-name"): m for m in _group(root, "series-closed") if m.get("class") == "model"}
    assert "DeepSeek-V3" in open_ and open_["DeepSeek-V3"].get("data-country") == "CN"
    assert "GPT-4.5" in closed and "GPT-4.5" not in open_
    trend = _group(root, "series-trend")
    assert trend.find("s:polyline[@class='trend']", NS) is not None and trend.find("s:polygon[@class='trend-band']", NS) is not None
    crossing = trend.find("s:line[@class='crossing']", NS)
    _, f = model_chart(DAY)
    assert crossing.get("data-date") == f.crossing.isoformat()
    assert any("ESTIMATE" in (t.text or "") for t in trend.iter(f"{{{NS['s']}}}text"))


def test_the_trend_fit_recovers_a_known_line():
    # log10 ops = 24 + 0.5 per year from 2024-01-01: reaches 1e26 four years later
    pts = [(dt.date(2024 + k, 1, 1), 10 ** (24 + 0.5 * k)) for k in range(4)] + [(dt.date(2025, 7, 2), 10 ** 24.75)]
    f = fit(pts)
    assert abs(f.slope - 0.5) < 1e-3 and f.residual_sd < 1e-3
    assert abs((f.crossing - dt.date(2028, 1, 1)).days) <= 2
    assert f.crossing_low is not None and abs((f.crossing_low - f.crossing).days) <= 2
    flat = fit([(dt.date(2024, 1, 1), 1e24), (dt.date(2025, 1, 1), 1e24), (dt.date(2026, 1, 1), 1e24)])
    assert flat.crossing is None  # no growth: no crossing date is claimed


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    for args in (["whatif", "tpp-2400", "--chips", "--on", DAY.isoformat(), "--out", str(out / "whatif.pdf")],
                 ["whatif", "diffusion-enforced", "--models", "--on", DAY.isoformat(), "--out", str(out / "whatif.html")],
                 ["explain", str(example_orders()), "--id", "ORD-2026-010", "--out", str(out / "memo.pdf")],
                 ["explain", str(example_orders()), "--id", "ORD-2026-010", "--posture", "codified", "--out", str(out / "memo.html")],
                 ["headroom", "H20", "--on", DAY.isoformat(), "--out", str(out / "headroom.html")],
                 ["models", "--on", DAY.isoformat(), "--out", str(out / "models.pdf")]):
        r = runner.invoke(app, ["report", *args])
        assert r.exit_code == 0, (args, r.output)
    return out


def _pdf_text(path: Path) -> str | None:
    data = path.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 5000
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_reports_carry_title_date_posture_version_charts_and_citations(reports):
    from aiexport.report.render import aiexport_version

    html = (reports / "whatif.html").read_text()
    assert "What if: Diffusion rule enforced as written" in html and "2026-12-01" in html and "enforced" in html
    assert f"aiexport {aiexport_version()}" in html and "GPT-4.5" in html and "742.6(a)(13)" in html
    assert "series-open" in html and "Models against the reform" in html  # --models: the models chart
    html = (reports / "headroom.html").read_text()
    assert "<svg" in html and "series-chips" in html and "88 FR 73458" in html and "TPP &lt; 2400" in html
    memo = (reports / "memo.html").read_text()
    assert "Determination memo — ORD-2026-010" in memo and "codified" in memo and "742.6(b)(10)" in memo
    for name, title in (("whatif.pdf", "What if: Lower 3A090.a.1 line to TPP 2,400"), ("memo.pdf", "Determination memo"),
                        ("models.pdf", "AI models against the 4E091 threshold")):
        text = _pdf_text(reports / name)
        if text is not None:
            assert title in text and "aiexport" in text


def test_report_out_must_be_html_or_pdf(tmp_path):
    r = runner.invoke(app, ["report", "models", "--out", str(tmp_path / "x.docx")])
    assert r.exit_code == 2 and ".html or .pdf" in r.output
