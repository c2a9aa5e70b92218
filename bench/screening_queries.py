"""Purchase-order style party names for screening evaluation and benchmarks (deterministic).

``make_queries(entries, n, seed)`` returns (query, country, expected entry name or "", kind):
variations of listed names as they arrive on purchase orders (legal-form rewrites, upper case,
typos, word order, missing spaces, city/country tails, given/family order for people) and hard
negatives (a listed name with its most distinctive token replaced by another company's, and real
companies that are not listed). The committed fixture ``tests/screening/fixtures/po_queries.csv``
was written by this module (``python bench/screening_queries.py``) and then read by eye.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from aiexport.screening.normalize import normalize

NOT_LISTED = [
    ("Lenovo Group Limited", "CN"), ("Xiaomi Corporation", "CN"), ("Tencent Holdings Ltd.", "CN"),
    ("BYD Company Limited", "CN"), ("Shenzhen Mindray Bio-Medical Electronics Co., Ltd.", "CN"),
    ("Samsung Electronics Co., Ltd.", "KR"), ("Taiwan Semiconductor Manufacturing Company", "TW"),
    ("Hon Hai Precision Industry Co., Ltd.", "TW"), ("Quanta Computer Inc.", "TW"), ("Wistron Corporation", "TW"),
    ("Inventec Corporation", "TW"), ("Super Micro Computer, Inc.", "US"), ("Dell Technologies Inc.", "US"),
    ("Hewlett Packard Enterprise", "US"), ("Siemens AG", "DE"), ("Robert Bosch GmbH", "DE"), ("Nokia Oyj", "FI"),
    ("Telefonaktiebolaget LM Ericsson", "SE"), ("Sony Group Corporation", "JP"), ("Toshiba Corporation", "JP"),
    ("Hitachi, Ltd.", "JP"), ("Infosys Limited", "IN"), ("Tata Consultancy Services", "IN"), ("SAP SE", "DE"),
    ("Accenture plc", "IE"), ("Capgemini SE", "FR"), ("Atos SE", "FR"), ("Nordic Semiconductor ASA", "NO"),
    ("ASML Holding N.V.", "NL"), ("Infineon Technologies AG", "DE"), ("STMicroelectronics N.V.", "CH"),
    ("G42 Cloud", "AE"), ("Emirates Telecommunications Group", "AE"), ("Turkcell Iletisim Hizmetleri A.S.", "TR"),
    ("Aselsan Elektronik Sanayi ve Ticaret A.S.", "TR"), ("Yandex N.V.", "NL"),
    # ("Kaspersky Lab UK Ltd", "GB") was here by mistake: Kaspersky Labs Limited (London) is on the
    # Entity List (89 FR 52363); the committed fixture row PO-0301 was relabelled by hand.
    ("Shenzhen Transsion Holdings", "CN"), ("Beijing Kingsoft Cloud Network Technology", "CN"),
    ("Shanghai Pudong Development Bank", "CN"), ("Hangzhou Hikrobot Technology", "CN"),
    ("Zhejiang Dahua Trading Co., Ltd.", "CN"), ("Alibaba Cloud Computing Ltd.", "CN"), ("Baidu Online Network Technology", "CN"),
    ("NetEase Hangzhou Network Co., Ltd.", "CN"), ("Meituan", "CN"), ("JD.com, Inc.", "CN"), ("Pinduoduo Inc.", "CN"),
    ("Kuaishou Technology", "CN"), ("Hua Hong Semiconductor", "CN"),
]
LEGAL = [("Co., Ltd.", "Company Limited"), ("Co., Ltd.", "CO LTD"), ("Ltd.", "Limited"), ("LLC", "L.L.C."),
         ("Limited Liability Company", "LLC"), ("Joint Stock Company", "JSC"), ("Corporation", "Corp."),
         ("Company Limited", "Co. Ltd")]
CITIES = {"CN": "Shenzhen, China", "HK": "Kowloon, Hong Kong", "RU": "Moscow, Russia", "AE": "Dubai, UAE",
          "TR": "Istanbul, Turkey", "IR": "Tehran, Iran", "DE": "Berlin, Germany"}


def _typo(name: str, rnd: random.Random) -> str:
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 6:
        return name
    j = rnd.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rnd.random() < 0.5 else w[:j] + w[j + 1 :]
    return " ".join(words)


def variant(name: str, kind: str, person: bool, cc: str | None, rnd: random.Random) -> str:
    if kind == "legal":
        for a, b in LEGAL:
            if a in name:
                return name.replace(a, b)
        return name + " Ltd."
    if kind == "upper":
        return name.upper()
    if kind == "typo":
        return _typo(name, rnd)
    if kind == "order":
        if person and "," in name:
            fam, given = name.split(",", 1)
            return f"{given.strip()} {fam.strip().title()}"
        words = name.split()
        return " ".join(words[1:] + words[:1]) if len(words) > 1 else name
    if kind == "nospace":
        words = name.split()
        if len(words) >= 2:
            k = rnd.randrange(len(words) - 1)
            return " ".join(words[:k] + [words[k] + words[k + 1]] + words[k + 2 :])
        return name
    if kind == "place":
        return f"{name}, {CITIES.get(cc or '', 'Dubai, UAE')}"
    return name


def make_queries(entries, n: int, seed: int = 8, negatives: float = 0.3):
    rnd = random.Random(seed)
    pool = [e for e in entries if len(normalize(e.name).tokens) >= 1]
    listed = {normalize(x).tokens for e in entries for x in [e.name, *e.aliases]}
    vocab = [t for e in pool for t in normalize(e.name).tokens if len(t) >= 6]
    kinds = ["legal", "upper", "typo", "order", "nospace", "place", "exact"]
    out = []
    while len(out) < n:
        if rnd.random() < negatives:
            if rnd.random() < 0.25:
                name, cc = rnd.choice(NOT_LISTED)
                out.append((name, cc, "", "not-listed"))
                continue
            e = rnd.choice(pool)
            toks = e.name.split()
            if len(toks) < 2:
                continue
            norm = normalize(e.name).tokens
            distinct = max(norm, key=len)
            repl = rnd.choice(vocab).title()
            new = " ".join(repl if normalize(t).tokens == (distinct,) else t for t in toks)
            famous = {"huawei", "hisilicon", "sophgo", "inspur", "sugon", "cambricon", "biren", "zhipu", "smic"}
            if new == e.name or normalize(new).tokens in listed or famous & set(normalize(new).tokens):
                continue  # a "Huawei <anything>" is a real candidate affiliate, not a negative
            if len(normalize(new).tokens) < 2:
                continue
            out.append((new, (e.countries or [None])[0], "", "hard-negative"))
            continue
        e = rnd.choice(pool)
        kind = rnd.choice(kinds)
        cc = (e.countries or [None])[0]
        q = variant(e.name, kind, e.entity_type == "person", cc, rnd)
        out.append((q, cc if rnd.random() < 0.7 else None, e.name, kind))
    return out


SPLIT_SEED = 20261201


def split(rows: list[dict], seed: int = SPLIT_SEED) -> tuple[list[dict], list[dict]]:
    """(tuning half, held-out half) of the purchase-order rows: a fixed seed, stratified by label
    (listed / not listed) and by variation kind, so both halves hold the same mix. Thresholds and
    weights are tuned on the first half only; the second is for reporting."""
    rnd = random.Random(seed)
    groups: dict[tuple[bool, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((bool(r["expected"]), r["kind"]), []).append(r)
    tune: list[dict] = []
    held: list[dict] = []
    for key in sorted(groups):
        g = list(groups[key])
        rnd.shuffle(g)
        half = (len(g) + rnd.randrange(2)) // 2
        tune += g[:half]
        held += g[half:]
    order = {r["id"]: k for k, r in enumerate(rows)}
    return sorted(tune, key=lambda r: order[r["id"]]), sorted(held, key=lambda r: order[r["id"]])


def main() -> None:
    from aiexport.screening.lists import load_list

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lists"
    el = load_list(shared / "csl_bis_2026-07-09.csv").entries
    sdn = load_list(shared / "ofac_sdn_2024-05-03.csv").entries
    rnd = random.Random(3)
    ai = [e for e in el if any(k in e.name for k in ("Huawei", "Sophgo", "Inspur", "Sugon", "Cambricon", "Biren",
                                                     "Moore Thread", "Zhipu", "Semiconductor Manufacturing International"))]
    entries = ai * 3 + rnd.sample(el, 400) + rnd.sample(sdn, 150)
    rows = make_queries(entries, int(sys.argv[1]) if len(sys.argv) > 1 else 400, seed=8)
    out = Path(__file__).resolve().parents[1] / "tests" / "screening" / "fixtures" / "po_queries.csv"
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "country", "expected", "kind"])
        for i, (q, cc, exp, kind) in enumerate(rows, start=1):
            w.writerow([f"PO-{i:04d}", q, cc or "", exp, kind])
    print(out, len(rows))


if __name__ == "__main__":
    main()
