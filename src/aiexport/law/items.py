"""Items as users name them — a catalog chip, a specs row, or a server (ICs with counts) —
resolved to normalised rows and classified in one vectorised pass."""

from __future__ import annotations

import datetime as dt

import polars as pl

from aiexport.catalog import CatalogLookupError, accelerators, resolve
from aiexport.errors import InputError
from aiexport.io.specs import NORMALISED_SCHEMA, normalise, rows_to_frame
from aiexport.law.classify import classify_frame, classify_systems
from aiexport.law.metrics import DEFAULT_TF32_BITS

RESULT_COLUMNS = [
    "item",
    "name",
    "on",
    "rule_set",
    "tpp",
    "tpp_basis",
    "applicable_die_area",
    "system_tpp",
    "eccn",
    "paragraph",
    "nac_aca_eligible",
    "hbm_exception_eligible",
    "needs_facts",
    "rules",
    "reasons",
    "datacenter",
    "memory_bandwidth",
]
_NORM_COLS = list(NORMALISED_SCHEMA)


def _catalog_row(name: str, source: str, row: int | None, field: str) -> pl.DataFrame:
    try:
        i = resolve(name)
    except CatalogLookupError as exc:
        raise InputError(source, row, field, "a catalog chip name (see `aiexport chips`)", str(exc)) from None
    return accelerators()[i].select(_NORM_COLS)


def _specs_row(spec: dict, source: str, row: int | None, field: str) -> pl.DataFrame:
    if not isinstance(spec, dict):
        raise InputError(source, row, field, "a mapping of accelerators.csv columns", spec)
    result = normalise(rows_to_frame([spec]), source)
    if result.errors:
        e = result.errors[0]
        raise InputError(source, row, f"{field}.{e.column}", e.expected, e.got)
    return result.frame


def resolve_ic(ref: dict, source: str, row: int | None, field: str) -> pl.DataFrame:
    if not isinstance(ref, dict):
        raise InputError(source, row, field, "{chip: NAME} or {specs: {...}}", ref)
    if "chip" in ref:
        frame = _catalog_row(str(ref["chip"]), source, row, f"{field}.chip")
        overrides = {k: v for k, v in ref.items() if k not in ("chip", "count")}
        if overrides:  # user-stated facts override catalog cells (e.g. marketed_for_datacenter)
            base = accelerators().filter(pl.col("name") == frame["name"][0]).row(0, named=True)
            spec = {"name": base["name"], **_catalog_as_specs(frame), **overrides}
            frame = _specs_row(spec, source, row, field)
        return frame
    if "specs" in ref:
        return _specs_row(ref["specs"], source, row, f"{field}.specs")
    raise InputError(source, row, field, "{chip: NAME} or {specs: {...}}", ref)


def _catalog_as_specs(frame: pl.DataFrame) -> dict:
    from aiexport.io.specs import BOOLEAN_COLUMNS, NUMERIC_COLUMNS
    from aiexport.law.metrics import from_micro

    r = frame.row(0, named=True)
    spec = {src: ("" if r[dst] is None else str(from_micro(r[dst]))) for src, dst in NUMERIC_COLUMNS.items()}
    spec |= {src: ("" if r[dst] is None else ("yes" if r[dst] else "no")) for src, dst in BOOLEAN_COLUMNS.items()}
    spec["device_type"] = r["device_type"]
    return spec


def build_frames(items: list[dict], dates: list[dt.date], source: str = "items", rows: list[int] | None = None):
    """(ic_frame, component_frame) with an ``item`` index and ``on`` date per row."""
    ics, comps = [], []
    comp_idx: list[int] = []
    comp_meta: list[tuple] = []
    catalog_names = accelerators()["name"].to_list()

    def row_of(i: int) -> int:
        return rows[i] if rows else i + 1

    def catalog_index(name: str, i: int, field: str) -> int:
        try:
            return resolve(name)
        except CatalogLookupError as exc:
            raise InputError(source, row_of(i), field, "a catalog chip name (see `aiexport chips`)", str(exc)) from None

    by_name: dict[str, int] = {}
    simple_items, simple_rows, simple_dates = [], [], []
    for i, (item, on) in enumerate(zip(items, dates, strict=True)):
        if isinstance(item, dict) and len(item) == 1 and isinstance(item.get("chip"), str):
            name = item["chip"]
            if name not in by_name:
                by_name[name] = catalog_index(name, i, "item.chip")
            simple_items.append(i)
            simple_rows.append(by_name[name])
            simple_dates.append(on)
            continue
        if not isinstance(item, dict):
            raise InputError(source, row_of(i), "item", "{chip: ...}, {specs: {...}} or {server: [...]}", item)
        if "server" in item:
            parts = item["server"]
            if not isinstance(parts, list) or not parts:
                raise InputError(source, row_of(i), "item.server", "a non-empty list of {chip|specs, count}", parts)
            labels = []
            fast = []
            slow = []
            for j, part in enumerate(parts):
                count = part.get("count", 1) if isinstance(part, dict) else None
                if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                    raise InputError(source, row_of(i), f"item.server[{j}].count", "a positive integer", count)
                if set(part) <= {"chip", "count"} and isinstance(part.get("chip"), str):
                    idx = catalog_index(part["chip"], i, f"item.server[{j}].chip")
                    fast.append((idx, count))
                    labels.append(f"{count} × {catalog_names[idx]}")
                else:
                    f = resolve_ic(part, source, row_of(i), f"item.server[{j}]")
                    slow.append((f, count))
                    labels.append(f"{count} × {f['name'][0]}")
            label = "server: " + " + ".join(labels)
            for idx, count in fast:
                comp_idx.append(idx)
                comp_meta.append((i, count, on, label))
            for f, count in slow:
                comps.append(f.with_columns(
                    pl.lit(i, pl.Int32).alias("system"), pl.lit(count, pl.Int64).alias("count"),
                    pl.lit(on).alias("on"), pl.lit(label).alias("system_name")))
            continue
        f = resolve_ic(item, source, row_of(i), "item")
        ics.append(f.with_columns(pl.lit(i, pl.Int32).alias("item"), pl.lit(on).alias("on")))
    if simple_items:  # one gather for every catalog chip named as-is
        ics.append(accelerators()[simple_rows].select(_NORM_COLS).with_columns(
            pl.Series("item", simple_items, dtype=pl.Int32), pl.Series("on", simple_dates, dtype=pl.Date)))
    ic_frame = pl.concat(ics, how="vertical_relaxed").sort("item") if ics else None
    if comp_idx:  # one gather for every catalog chip inside a server
        system, count, on_, label = zip(*comp_meta, strict=True)
        comps.append(accelerators()[comp_idx].select(_NORM_COLS).with_columns(
            pl.Series("system", system, dtype=pl.Int32), pl.Series("count", count, dtype=pl.Int64),
            pl.Series("on", on_, dtype=pl.Date), pl.Series("system_name", label, dtype=pl.String)))
    comp_frame = pl.concat(comps, how="vertical_relaxed").sort("system", maintain_order=True) if comps else None
    return ic_frame, comp_frame


def classify_item_frames(ic_frame, comp_frame, *, posture="enforced", tf32_bits=DEFAULT_TF32_BITS,
                         explain: bool = True) -> pl.DataFrame:
    out = []
    if ic_frame is not None:
        r = classify_frame(ic_frame, posture=posture, tf32_bits=tf32_bits, explain=explain)
        out.append(r.with_columns(pl.col("tpp").alias("system_tpp")).select(RESULT_COLUMNS))
    if comp_frame is not None:
        systems = classify_systems(comp_frame, posture=posture, tf32_bits=tf32_bits)  # small: always explained
        labels = comp_frame.group_by("system", maintain_order=True).agg(pl.col("system_name").first())
        systems = systems.join(labels, left_on="name", right_on="system", how="left")
        systems = systems.with_columns(pl.col("name").alias("item"), pl.col("system_name").alias("name"))
        out.append(systems.select(RESULT_COLUMNS))
    if not out:
        return pl.DataFrame()
    return pl.concat(out, how="vertical_relaxed").sort("item")


def classify_items(items: list[dict], on: dt.date | list[dt.date], *, posture: str = "enforced",
                   tf32_bits: int = DEFAULT_TF32_BITS, source: str = "items") -> pl.DataFrame:
    dates = on if isinstance(on, list) else [on] * len(items)
    ic_frame, comp_frame = build_frames(items, dates, source)
    return classify_item_frames(ic_frame, comp_frame, posture=posture, tf32_bits=tf32_bits)
