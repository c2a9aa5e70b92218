"""Standalone HTML reports (Jinja2, charts inline as SVG) and PDF (WeasyPrint) for an `explain`
memo, a `whatif` result, a `headroom` result and the models chart: documents to file, with the
date, the posture, the citations and the aiexport version."""

from __future__ import annotations

import datetime as dt
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from aiexport.law.decide import rule_info

_env = Environment(loader=PackageLoader("aiexport.report", "templates"), autoescape=select_autoescape(["html", "j2"]))


def aiexport_version() -> str:
    try:
        return version("aiexport")
    except PackageNotFoundError:
        return "unknown"


def _citations(rule_ids) -> list[tuple[str, str]]:
    out, seen = [], set()
    for rid in rule_ids:
        rid = re.sub(r"^[+-]", "", rid).split(": ")[0]
        if rid in seen:
            continue
        seen.add(rid)
        cite, text = rule_info(rid)
        if cite:
            out.append((rid, cite + (f" — {text}" if text else "")))
    return sorted(out)


def html_document(*, title: str, on: str, posture: str, sections: list[dict], citations: list[tuple[str, str]],
                  label: str | None = None, rule_set: str | None = None, footer: str = "") -> str:
    return _env.get_template("report.html.j2").render(
        title=title, on=on, posture=posture, sections=sections, citations=citations, label=label, rule_set=rule_set,
        version=aiexport_version(), generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), footer=footer,
    )


def write(html: str, out: Path) -> Path:
    """Write the report: ``.html`` as is, ``.pdf`` through WeasyPrint."""
    out = Path(out)
    if out.suffix.lower() == ".pdf":
        from weasyprint import HTML

        HTML(string=html).write_pdf(out)
    else:
        out.write_text(html, encoding="utf-8")
    return out


# ---- whatif ----------------------------------------------------------------------------------


def whatif_html(res: dict, chart_svg: str | None = None, models_svg: str | None = None) -> str:
    from aiexport.app.whatif import answer_text

    sections = [
        {"heading": "The reform", "text": res["rationale"].strip()},
        {"table": {"header": ["change", "what", "rationale", "source"],
                   "rows": [[c["name"], c["change"], c["rationale"].strip(), c["cite"] or "PROPOSAL (no legal source)"] for c in res["changes"]]}},
    ]
    if res.get("source"):
        sections.append({"text": f"Source of the reform: {res['source'].strip()}"})
    for kind, heading, section in (("chip", "Catalog classifications that flip", "chips"), ("order", "Order lines that flip", "orders"),
                                   ("model", "Models (4E091) that flip", "models")):
        if section not in res:
            continue
        rows = [[f["item"] + (f" — {f['what']}" if f.get("what") else ""), answer_text(f["baseline"]), answer_text(f["reform"]),
                 "; ".join(f["rules"]), "; ".join(f["changes"])] for f in res["flips"] if f["kind"] == kind]
        sections.append({"heading": f"{heading}: {res[section]['flipped']} of {res[section]['count']}",
                         "table": {"header": ["item", "baseline", "reform", "rules that made the difference", "caused by"], "rows": rows}})
        if kind == "order":
            sections.append({"text": "Order lines by destination and outcome (baseline → reform)",
                             "table": {"header": ["destination", "outcome", "baseline", "reform"],
                                       "rows": [[r["destination"], r["outcome"], r["baseline"], r["reform"]]
                                                for r in res["orders"]["by_destination_and_outcome"]]}})
    if chart_svg:
        sections.append({"heading": "The catalog under the reform", "svg": chart_svg,
                         "caption": "TPP × performance density with the reform's 3A090 regions; arrows to the nearest line."})
    if models_svg:
        sections.append({"heading": "Models against the reform's 4E091 lines", "svg": models_svg,
                         "caption": "Training operations by publication date; the 4E091 lines as the reform sets them; open-weight trend (an estimate)."})
    return html_document(
        title=f"What if: {res['reform']}", on=res["on"], posture=res["posture"], sections=sections, label=res.get("label"),
        rule_set=f"{res['baseline_rule_set']} (baseline) + the reform's changes",
        citations=_citations([r for f in res["flips"] for r in f["rules"]]),
        footer="A reform is a hypothetical layer over the bundled law; it never changes the law aiexport decides with.",
    )


# ---- headroom --------------------------------------------------------------------------------


def headroom_html(results: list[dict], chart_svg: str | None = None) -> str:
    from aiexport.app.headroom import change_text

    sections = []
    cites: dict[str, str] = {}
    for r in results:
        sections.append({"heading": f"{r['name']}",
                         "text": f"TPP {r['total_processing_performance']}, performance density {r['performance_density']}, die area "
                                 f"{r['applicable_die_area_mm2']} mm², I/O {r['interconnect_bandwidth_gbps']} GB/s, DRAM bandwidth "
                                 f"{r['memory_bandwidth_gbps']} GB/s."})
        for v in r["versions"]:
            rows = [[ln["line"], ln["threshold"], "?" if ln["value"] is None else ln["value"], "?" if ln["distance"] is None else ln["distance"],
                     ln["side"], ln.get("to_cross", "")] for ln in v["lines"]]
            for ln in v["lines"]:
                cites[ln["line"]] = ln["cite"]
            changes = [change_text(c) for c in v["change"]]
            free = v.get("largest_free_design") or {}
            if free.get("tpp_below") is not None:
                changes.append(f"Largest free design — {free['meaning']}: TPP < {free['tpp_below']} (dense FP8 < {free['dense_fp8_tflops_below']} TFLOPS)")
            sections.append({"heading": None, "text": f"{v['version']} — {v['title']} (since {v['since']}, measured on {v['as_of']}): {v['classification']}",
                             "table": {"header": ["line", "threshold", "value", "distance", "side", "to cross"], "rows": rows}})
            if changes:
                sections.append({"table": {"header": ["what changes the classification"], "rows": [[c] for c in changes]}})
    if chart_svg:
        sections.append({"heading": "The catalog on the TPP × performance-density plane", "svg": chart_svg,
                         "caption": "Regions of the Oct 2023 rule (shaded), the Oct 2022 TPP line and the 91 FR 1684 zone; arrows: the nearest crossing within 30 %."})
    first = results[0] if results else {"on": "", "posture": ""}
    return html_document(title="Headroom to the 3A090 lines: " + ", ".join(r["name"] for r in results)[:120], on=first["on"],
                         posture=first["posture"], sections=sections, citations=sorted(cites.items()),
                         footer="A line is met at or above its value: a part exactly on a line has headroom 0 on the controlled side.")


# ---- models ----------------------------------------------------------------------------------


def models_html(svg: str, trend: dict, on: str, posture: str) -> str:
    est = (f"{trend['label']}. Method: {trend['method']}. Slope {trend['slope_orders_of_magnitude_per_year']} orders of magnitude a year "
           f"(s.e. {trend['slope_standard_error']}; doubling every {trend['doubling_time_months']} months) over {trend['models']} open-weight models. "
           f"Estimated date the trend reaches {trend['threshold_operations']} operations: {trend['estimated_crossing_date']} "
           f"(95 % interval {trend['crossing_95_interval'][0]} to {trend['crossing_95_interval'][1] or 'no upper bound'}; "
           f"{trend['bootstrap_share_without_crossing']:.1%} of bootstrap resamples never cross).")
    sections = [{"heading": "Models against the 4E091 lines", "svg": svg,
                 "caption": "Training operations by publication date (Epoch AI estimates, CC BY 4.0); 10^26 line and the 2.5e25 fine-tune line."},
                {"heading": "Trend of open-weight models", "estimate": est}]
    return html_document(title="AI models against the 4E091 threshold over time", on=on, posture=posture, sections=sections,
                         citations=_citations(["4E091", "4E091.note.fine-tune", "4E091.note.published"]),
                         footer="Training compute figures are Epoch AI estimates; the trend is an extrapolation, not a prediction.")


# ---- explain memo ----------------------------------------------------------------------------


def memo_html(body_html: str, row: dict, other: dict, posture: str) -> str:
    """The `explain` memo as a document: ``body_html`` is the memo as its face rendered it (the
    CLI records its own console output; see `aiexport.commands.report`)."""
    sections = [{"heading": "Determination memo", "html": body_html}]
    return html_document(title=f"Determination memo — {row['id']}", on=str(row["date"]), posture=posture, rule_set=row.get("rule_set"),
                         sections=sections, citations=_citations(list(row.get("rules") or []) + list(other.get("rules") or [])),
                         footer="Produced by `aiexport explain`; the same engine decides every order.")


def memo_data_html(memo: dict) -> str:
    """The memo as data (`aiexport.app.usecases.explain`) as a document: facts, classification,
    the tests tried, the exceptions considered, the outcome and its determining rules, and the
    other posture's answer (the HTTP face's `/v1/explain.html`)."""
    d, other, facts = memo["decision"], memo["other_posture"], memo["facts"]
    word = {True: "holds", False: "does not hold", None: "unknown"}
    summary = d["outcome"] + (f" under License Exception {d['license_exception']}" if d.get("license_exception") else "") + (
        f", review policy: {d['review_policy']}" if d.get("review_policy") else "")
    other_summary = other["outcome"] + (f" ({other['license_exception']})" if other.get("license_exception") else "") + (
        f" ({other['review_policy']})" if other.get("review_policy") else "")
    sections = [
        {"heading": "Facts", "table": {"header": ["fact", "value"], "rows": [[k, "" if v is None else str(v)] for k, v in facts.items()]}},
        {"heading": "Assumptions this memo rests on", "table": {"header": ["assumption"], "rows": [[a] for a in memo["assumptions"]]}},
        {"heading": "1. Classification of the item", "table": {
            "header": ["rule", "citation", "", "detail"],
            "rows": [[r["rule"], r.get("citation") or "", word.get(r.get("held"), "unknown"), r.get("detail") or ""]
                     for r in memo["classification"]]},
         "text": f"ECCN {d.get('eccn') or 'none'}"},
        {"heading": "2-3. License requirements and exceptions tried", "table": {
            "header": ["test", "", ""],
            "rows": [[x["test"], "in force" if x["in_force"] else "not in force", word.get(x["holds"], "unknown") if x["in_force"] else ""]
                     for x in memo["tests"]]}},
    ]
    if memo["exceptions"]:
        sections.append({"heading": "License exceptions considered", "table": {
            "header": ["exception", "", "condition"], "rows": [[e["exception"], e["status"], e["why"]] for e in memo["exceptions"]]}})
    sections.append({"heading": f"Outcome: {summary}", "table": {
        "header": ["determining rule", "role", "citation"],
        "rows": [[x["rule"], x["role"], x["citation"]] for x in memo["determining"]]},
        "text": "; ".join([*(f"obligation: {o}" for o in d.get("obligations") or []),
                           *(f"needs: {f['fact'] if isinstance(f, dict) else f}" for f in d.get("needs_facts") or [])]) or None})
    sections.append({"heading": "The other posture",
                     "text": f"Under the {other['posture']} posture ({other['rule_set']}) the answer would be: {other_summary}; "
                             f"rules: {', '.join(other['rules'])}"})
    return html_document(title=f"Determination memo — {d['id']}", on=str(d["date"]), posture=d["posture"], rule_set=d.get("rule_set"),
                         sections=sections, citations=_citations(list(d.get("rules") or []) + list(other.get("rules") or [])),
                         footer="Produced by aiexport's explain; the same engine decides every order.")
