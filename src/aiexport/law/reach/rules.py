"""Rule ids of the legal-reach rules (each id is the paragraph), their citations and texts, and
small expression helpers shared by the reach modules."""

from __future__ import annotations

import polars as pl

from aiexport.law.license import Rule

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        # ---- subject to the EAR ----------------------------------------------------------------
        Rule(
            "734.3(a)(1)",
            "15 CFR 734.3(a)(1)",
            "subject to the EAR: the item is in the United States (it ships from the US)",
        ),
        Rule(
            "734.3(a)(2)",
            "15 CFR 734.3(a)(2)",
            "subject to the EAR: US-origin item, wherever located",
        ),
        Rule(
            "734.4(a)",
            "15 CFR 734.4(a)",
            "subject to the EAR: it incorporates US-origin content for which there is no de minimis level (stated)",
        ),
        Rule(
            "734.4(c)",
            "15 CFR 734.3(a)(3), 734.4(c); Supp. No. 2 to Part 734",
            "de minimis: 10 % level (destination in Country Group E:1 or E:2)",
        ),
        Rule(
            "734.4(d)",
            "15 CFR 734.3(a)(3), 734.4(d); Supp. No. 2 to Part 734",
            "de minimis: 25 % level (all other destinations)",
        ),
        Rule(
            "734.9(h)",
            "15 CFR 734.3(a)(4)-(5), 734.9(h) (87 FR 62186; 88 FR 2821; 88 FR 73458; 90 FR 4544)",
            "advanced-computing FDP rule: a 3A090/4A090/.z item that is the direct product of US-origin technology or software, or made by a plant that is such a direct product, within the rule's destination or end-user scope",
        ),
        Rule(
            "734.9(e)(1)",
            "15 CFR 734.9(e)(1); Supp. No. 4 to Part 744, footnote 1",
            "Entity List FDP rule: a footnote 1 entity is a party",
        ),
        Rule(
            "734.9(e)(2)",
            "15 CFR 734.9(e)(2); Supp. No. 4 to Part 744, footnote 4",
            "Entity List FDP rule: a footnote 4 entity is a party",
        ),
        Rule(
            "734.9(g)",
            "15 CFR 734.9(g); Supp. No. 4 to Part 744, footnote 3",
            "Russia/Belarus military end user FDP rule: a footnote 3 entity is a party",
        ),
        Rule(
            "734.9(i)",
            "15 CFR 734.9(i) (87 FR 62186; 88 FR 2821)",
            "supercomputer FDP rule: for a supercomputer located in or destined to the PRC or Macau",
        ),
        Rule(
            "734.3.not-subject",
            "15 CFR 734.1(a), 734.3(a)",
            "not subject to the EAR: not in the US, not US-origin, US controlled content at or below the de minimis level, and no foreign direct product rule reaches it — no EAR licence",
        ),
        # ---- end uses and end users ------------------------------------------------------------
        Rule(
            "744.23(a)(1)",
            "15 CFR 744.23(a)(1) (87 FR 62186; 88 FR 2821; 88 FR 73458)",
            "'supercomputer' end use in or destined to Macau or D:5 (the PRC in 2022); ICs in 3A001/3A991/4A994/5A002/5A004/5A992, computers in 4A003/4A004/4A994/5A002/5A004/5A992",
        ),
        Rule(
            "744.23(a)(2)",
            "15 CFR 744.23(a)(2)",
            "development or production of ICs at a facility in Macau or D:5 where advanced-node ICs are produced: any item subject to the EAR",
        ),
        Rule(
            "744.23(a)(4)",
            "15 CFR 744.23(a)(4) (88 FR 73424)",
            "development or production of semiconductor manufacturing equipment, to or within Macau or D:5: any CCL item",
        ),
        Rule(
            "744.21(a)(1)",
            "15 CFR 744.21(a)(1); Supp. No. 2 to Part 744",
            "military end use or end user in Burma, Cambodia, China, Nicaragua or Venezuela: items in Supp. No. 2 to Part 744",
        ),
        Rule(
            "744.21(a)(2)",
            "15 CFR 744.21(a)(2)",
            "military end use or end user in Russia or Belarus: any item subject to the EAR",
        ),
        Rule(
            "744.22",
            "15 CFR 744.22 (86 FR 4865)",
            "military-intelligence end use or end user in Belarus, Burma, Cambodia, China, Russia, Venezuela or E:1/E:2: any item subject to the EAR",
        ),
        Rule(
            "744.11(a)(2)(i)",
            "15 CFR 744.11(a)(2)(i); 734.9(e)(1)",
            "foreign-produced item subject to the EAR under the footnote 1 FDP rule, a footnote 1 entity a party: licence (licence exceptions available if §740.2 allows)",
        ),
        Rule(
            "744.11(a)(2)(ii)",
            "15 CFR 744.11(a)(2)(ii); 734.9(e)(2)",
            "foreign-produced item subject to the EAR under the footnote 4 FDP rule, a footnote 4 entity a party: licence",
        ),
        Rule(
            "746.8(a)(3)",
            "15 CFR 746.8(a)(3); 734.9(g)",
            "foreign-produced item subject to the EAR under the footnote 3 (Russia/Belarus military end user) FDP rule: licence to any destination",
        ),
        Rule(
            "744.11(a)(1)",
            "15 CFR 744.11(a)(1); 90 FR 47201 (eff. 2025-09-29; suspended 2025-11-10 to 2026-11-09 by 90 FR 50857)",
            "affiliates rule: the party is at least 50 % owned, directly or indirectly, individually or in aggregate, by listed parties",
        ),
        Rule(
            "guidance:2025-05-13.ai-training",
            "BIS policy statement of 2025-05-13 (guidance, not a rule)",
            "advanced ICs used to train AI models for or on behalf of parties headquartered in D:5 or Macau: a licence may be required under §744.6/§744.22/§744.23 with knowledge of a WMD or military-intelligence end use; apply the IaaS red flags and due diligence",
        ),
        # ---- embargoes -------------------------------------------------------------------------
        Rule(
            "746.2(a)",
            "15 CFR 746.2(a), (b)",
            "Cuba: licence for all items subject to the EAR; general policy of denial",
        ),
        Rule(
            "746.4(a)",
            "15 CFR 746.4(a), (b)",
            "North Korea: licence for any item subject to the EAR except EAR99 food and medicine",
        ),
        Rule(
            "746.6(a)",
            "15 CFR 746.6(a)(1)-(2), (b)",
            "Crimea, DNR, LNR regions of Ukraine: licence for any item subject to the EAR (food, medicine, communications software excepted); policy of denial",
        ),
        Rule(
            "746.7(a)(1)(i)",
            "15 CFR 746.7(a)(1)(i), (b); OFAC ITSR 31 CFR 560",
            "Iran: licence for CCL items with NS/RS/AT (and other listed) reasons; generally denied",
        ),
        Rule(
            "746.8(a)(1)",
            "15 CFR 746.8(a)(1), (b)(3)",
            "Russia or Belarus: licence for any item specified in an ECCN on the CCL; policy of denial",
        ),
        Rule(
            "746.9(a)",
            "15 CFR 746.9(a), (c)(1)",
            "Syria: licence for all items subject to the EAR except EAR99 food and medicine; general policy of denial",
        ),
        # ---- review policies ---------------------------------------------------------------------
        Rule(
            "744.23(d)(1)",
            "15 CFR 744.23(d)(1) (88 FR 73449; 89 FR 23886)",
            "presumption of denial: Macau/D:5, or an entity headquartered (or with an ultimate parent headquartered) there",
        ),
        Rule(
            "744.23(d)(2)",
            "15 CFR 744.23(d)(2) (88 FR 73449; 89 FR 23886)",
            "presumption of approval: end user headquartered in the US or A:5/A:6 and not majority-owned by a Macau/D:5-headquartered entity",
        ),
        Rule(
            "744.23(d)(3)",
            "15 CFR 744.23(d)(3)(i), (iii)",
            "case-by-case: advanced computing items other than datacenter 3A090.a, and all other applications",
        ),
        Rule(
            "744.23(d).2023.denial",
            "88 FR 73449 (eff. 2023-11-17, until 89 FR 23886 of 2024-04-04); 15 CFR 744.23(d) (2023 text)",
            "presumption of denial for Macau and destinations in Country Group D:5",
        ),
        Rule(
            "744.23(d).2023.approval",
            "88 FR 73449 (eff. 2023-11-17, until 89 FR 23886 of 2024-04-04); 15 CFR 744.23(d) (2023 text)",
            "presumption of approval: end user headquartered in the US or A:5/A:6, not majority-owned by an entity headquartered in Macau or D:5",
        ),
        Rule(
            "744.23(d).2023.case-by-case",
            "88 FR 73449 (eff. 2023-11-17, until 89 FR 23886 of 2024-04-04); 15 CFR 744.23(d) (2023 text)",
            "case-by-case: all other applications",
        ),
        Rule(
            "744.23(d).2022",
            "87 FR 62186; 15 CFR 744.23(d) as of 2022 (not read: aiexport default)",
            "presumption of denial",
        ),
        Rule("744.21(e)(1)", "15 CFR 744.21(e)(1)", "presumption of denial"),
        Rule("744.22(e)", "15 CFR 744.22(e)", "presumption of denial"),
        Rule(
            "744.11(a)(1).owner-entry",
            "90 FR 47201; 15 CFR 744.11(a)(1) (most restrictive owner); aiexport default",
            "the review policy of the listed owner's entry (aiexport default: presumption of denial)",
        ),
        Rule("746.2(b)", "15 CFR 746.2(b)", "general policy of denial"),
        Rule(
            "746.4(b)",
            "15 CFR 746.4(b) (introductory text)",
            "items requiring a licence to North Korea are reviewed case-by-case (an EAR99 item, outside §746.4(b)(1)-(5))",
        ),
        Rule(
            "742.19(b)(1)",
            "15 CFR 746.4(b)(5); 742.19(b)(1)(xviii)-(xix) (as amended through 75 FR 14340)",
            "'will generally be denied' to all end users in North Korea: digital computers with an APP above 0.0004 WT and microprocessors of 0.5 GFLOPS or more (every chip and computer on the CCL that aiexport classifies)",
        ),
        Rule("746.6(b)", "15 CFR 746.6(b)", "policy of denial"),
        Rule(
            "746.7(b)",
            "15 CFR 746.7(b)",
            "licences for other than humanitarian or civil-aviation-safety purposes generally will be denied",
        ),
        Rule("746.8(b)(3)", "15 CFR 746.8(b)(3)", "policy of denial"),
        Rule("746.8(b)(1)", "15 CFR 746.8(b)(1)", "policy of denial in all cases"),
        Rule(
            "744.11(a)(2).entry",
            "15 CFR 744.11(a)(2); Supp. No. 4 to Part 744 (the entity's entry; aiexport default)",
            "the review policy of the footnoted entity's Entity List entry (aiexport default: presumption of denial)",
        ),
        Rule("746.9(c)(1)", "15 CFR 746.9(c)(1)", "general policy of denial"),
        # ---- validated end users ---------------------------------------------------------------
        Rule(
            "748.15",
            "15 CFR 748.15; Supp. No. 7 to Part 748",
            "authorized under a validated end-user authorization",
        ),
        Rule("748.15.general", "15 CFR 748.15(b)(1)", "General VEU (PRC, India)"),
        Rule("748.15.data-center", "89 FR 80080; 15 CFR 748.15", "Data Center VEU"),
        Rule(
            "748.15(a)(2)(ii).UVEU",
            "90 FR 4544; 15 CFR 748.15(a)(2)(ii), (b)(2)(i)",
            "Data Center VEU, universal (UVEU)",
        ),
        Rule(
            "748.15(a)(2)(iii).NVEU",
            "90 FR 4544; 15 CFR 748.15(a)(2)(iii), (b)(2)(ii)",
            "Data Center VEU, national (NVEU)",
        ),
        Rule(
            "748.15.unknown-authorization",
            "15 CFR 748.15(a)(1); Supp. No. 7 to Part 748",
            "no such VEU authorization on record",
        ),
        Rule(
            "748.15.not-in-force",
            "89 FR 80080; 90 FR 4544",
            "this kind of VEU authorization does not exist on the date",
        ),
        Rule(
            "748.15.not-valid-on-date",
            "15 CFR 748.15(a)(4)",
            "the VEU authorization is not valid on the date (not yet granted, expired, revoked or removed)",
        ),
        Rule(
            "748.15(b)(2).site",
            "15 CFR 748.15(b)(2), (d)(2)(i)",
            "the destination is not an authorized site of this VEU",
        ),
        Rule(
            "748.15(b)(2).D5-Macau",
            "15 CFR 748.15(b)(2)",
            "Data Center VEU sites may not be in Macau or Country Group D:5",
        ),
        Rule(
            "748.15(c).item", "15 CFR 748.15(c)", "the item is not among the VEU's eligible items"
        ),
        Rule(
            "748.15(d)(2)(iii).transfer",
            "15 CFR 748.15(d)(1)(iii), (d)(2)(iii)",
            "in-country transfer not permitted under this VEU authorization",
        ),
        Rule(
            "748.15.holder",
            "15 CFR 748.15(a)(1)",
            "the consignee or end user is not the validated end user",
        ),
        Rule(
            "748.15(a)(2)(ii)(B).allocation",
            "15 CFR 748.15(a)(2)(ii)(B); Supp. No. 10 to Part 748 para 6 (percentages secondary)",
            "UVEU geographic allocation exceeded (outside Tier 1, one Tier-2 country, or the US share of a US-headquartered UVEU)",
        ),
        Rule(
            "748.15(a)(2)(iii)(B).allocation",
            "15 CFR 748.15(a)(2)(iii)(B)",
            "NVEU installed-base allocation for the country exceeded",
        ),
    ]
}

REQUIREMENTS = [
    "744.23(a)(1)",
    "744.23(a)(2)",
    "744.23(a)(4)",
    "744.21(a)(1)",
    "744.21(a)(2)",
    "744.22",
    "744.11(a)(1)",
    "744.11(a)(2)(i)",
    "744.11(a)(2)(ii)",
    "746.2(a)",
    "746.4(a)",
    "746.6(a)",
    "746.7(a)(1)(i)",
    "746.8(a)(1)",
    "746.8(a)(3)",
    "746.9(a)",
]
POLICY_RANK = {"denial": 3, "case-by-case": 2, "approval": 1}
# the paragraph that states the review policy of each requirement (744.23 is decided per row)
POLICY_RULE = {
    "744.21(a)(1)": "744.21(e)(1)",
    "744.21(a)(2)": "744.21(e)(1)",
    "744.22": "744.22(e)",
    "744.11(a)(1)": "744.11(a)(1).owner-entry",
    "744.11(a)(2)(i)": "744.11(a)(2).entry",
    "744.11(a)(2)(ii)": "744.11(a)(2).entry",
    "746.8(a)(3)": "746.8(b)(1)",
    "746.2(a)": "746.2(b)",
    "746.4(a)": "742.19(b)(1)",
    "746.6(a)": "746.6(b)",
    "746.7(a)(1)(i)": "746.7(b)",
    "746.8(a)(1)": "746.8(b)(3)",
    "746.9(a)": "746.9(c)(1)",
    "746.4(a).EAR99": "746.4(b)",  # North Korea, an EAR99 item: decided per row (``north_korea_policy``)
}


def starts_with_any(col: pl.Expr, prefixes: list[str] | None) -> pl.Expr:
    """True if the ECCN column starts with one of the prefixes (null if the column is null)."""
    if not prefixes:
        return pl.when(col.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(pl.lit(False))
    return pl.any_horizontal([col.str.starts_with(p) for p in prefixes])


SEP = "\x1f"  # a separator no rule id contains


def labels(conds: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The ids whose condition holds (null counts as not holding), as a list column."""
    empty = pl.lit([], dtype=pl.List(pl.String))
    if not conds:
        return empty
    if len(conds) <= 16:
        # a bitmask of the conditions, and that row of a table of every combination built once
        # (law.classify.label_table): 10-15x cheaper than joining the ids as text and splitting
        from aiexport.law.classify import _labels

        mask = pl.sum_horizontal(
            [
                pl.when(c.fill_null(False))
                .then(pl.lit(1 << b, pl.Int64))
                .otherwise(pl.lit(0, pl.Int64))
                for b, (_, c) in enumerate(conds)
            ]
        )
        return _labels(mask, [i for i, _ in conds])
    # Joined as text and split once: 4-6x faster than concat_list(...).list.drop_nulls() in
    # Polars 2.1, whose list building dominated the whole reach step on large batches.
    assert not any(SEP in i for i, _ in conds)
    text = pl.concat_str(
        [pl.when(c.fill_null(False)).then(pl.lit(i + SEP)).otherwise(pl.lit("")) for i, c in conds]
    )
    return pl.when(text == "").then(empty).otherwise(text.str.strip_chars_end(SEP).str.split(SEP))


def hq_cols() -> list[pl.Expr]:
    return [pl.col(c) for c in ("c_hq", "c_phq", "e_hq", "e_phq")]
