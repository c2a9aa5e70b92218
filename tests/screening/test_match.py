from __future__ import annotations

import pytest

from aiexport.screening.lists import Address, ListEntry
from aiexport.screening.match import THRESHOLD, Index
from aiexport.screening.normalize import normalize


def test_normalisation_legal_forms_scripts_and_abbreviations():
    assert normalize("Huawei Technologies Co., Ltd.").tokens == ("huawei", "technology")
    assert normalize("HUAWEI TECHNOLOGIES COMPANY LIMITED").tokens == ("huawei", "technology")
    assert normalize("ООО «Стройтехсервис»").tokens == ("stroytekhservis",)
    assert normalize("Bion Group Ic Ve Dis Ticaret Ltd. Şti.").tokens == ("bion", "group")
    assert normalize("Société Générale S.A.").tokens == ("societe", "generale")
    assert normalize("华为技术有限公司").tokens == ("hua", "wei", "ji", "shu")
    assert normalize("M.A.G. Tech").tokens == ("mag", "technology")
    assert normalize("LLC").tokens == ("llc",)  # a name that is only a legal form keeps it


def _idx():
    return Index(
        [
            ListEntry(
                "EL",
                "e1",
                "Huawei Technologies Dusseldorf GmbH",
                addresses=[Address("Dusseldorf, DE", "DE")],
            ),
            ListEntry(
                "EL",
                "e2",
                "Beijing Zhongke Xin Electronic Equipment",
                aliases=["Zhongkexin"],
                addresses=[Address("Beijing, CN", "CN")],
            ),
            ListEntry(
                "EL",
                "e3",
                "Semiconductor Manufacturing South China Corporation",
                addresses=[Address("Shenzhen, CN", "CN")],
            ),
            ListEntry(
                "SDN",
                "s1",
                "PETROV, Ivan Sergeyevich",
                entity_type="person",
                addresses=[Address("Moscow", "RU")],
            ),
            ListEntry(
                "EL",
                "e4",
                "Acme Electronics (HK) Co., Limited",
                addresses=[Address("Kowloon, Hong Kong, CN", "HK")],
            ),
        ]
    )


def test_match_explained_with_features_and_country_as_qualifier():
    ix = _idx()
    m = ix.screen("HUAWEI TECHNOLOGIES DUESSELDORF", "DE")[0]
    assert m.entry.uid == "e1" and m.score >= 0.95
    ex = m.explanation
    # the compared spellings (folded: ss -> s, w -> v after the first letter)
    assert {"query": "dueseldorf", "name": "duseldorf", "similarity": 0.947} in ex["agreed"]
    assert ex["country_evidence"]["reading"] == "agrees" and ex["features"]["country"] == 0.05
    # a different country lowers the score but never filters a strong name match out
    m2 = ix.screen("HUAWEI TECHNOLOGIES DUESSELDORF", "US")[0]
    base = max(m2.features["token_overlap"], m2.features["joined_similarity"])
    assert m2.entry.uid == "e1" and m2.features["country"] == -0.05
    assert m2.score == pytest.approx(base - 0.05, abs=1e-4) and m2.score < m.score
    assert m2.explanation["country_evidence"]["reading"] == "differs"
    # Hong Kong vs an address filed under China: related, not a mismatch
    hk = ix.screen("Acme Electronics Company Ltd", "CN")[0]
    assert hk.explanation["country_evidence"]["reading"].startswith("related")


def test_missing_spaces_word_order_acronym_and_person_order():
    ix = _idx()
    assert ix.screen("Zhong Ke Xin")[0].entry.uid == "e2"
    assert ix.screen("Electronic Equipment Beijing Zhongke Xin")[0].entry.uid == "e2"
    sms = ix.screen("SMSC")
    assert sms and sms[0].entry.uid == "e3" and sms[0].features["acronym"] == 0.9
    p = ix.screen("Ivan Sergeyevich Petrov")
    assert p and p[0].entry.uid == "s1" and p[0].score >= THRESHOLD


def test_clear_and_hard_negatives_stay_below_threshold():
    ix = _idx()
    assert ix.screen("Acme Widgets Inc") == []
    assert ix.screen("Beijing Zhongke Hua Electronic Equipment") == []
    assert ix.screen("Huawei Technologies Dusseldorf GmbH", threshold=0.0)[0].score == 1.0


def test_real_lists_ai_chip_parties(real_index):
    for q, cc, expected in [
        ("Sophgo Technologies Ltd.", "CN", "Sophgo Technologies Ltd."),
        ("Inspur Group", "CN", "Inspur Group Co., Ltd."),
        ("SMIC", None, "Semiconductor Manufacturing International Corporation (SMIC)"),
        ("Huawei Technologies Duesseldorf GmbH", "DE", "Huawei Technologies Dusseldorf GmbH"),
        ("BANCO NACIONAL DE CUBA", None, "BANCO NACIONAL DE CUBA"),
    ]:
        ms = real_index.screen(q, cc)
        assert ms and ms[0].entry.name == expected, (q, [(m.entry.name, m.score) for m in ms[:3]])
    assert real_index.screen("Acme Widgets Inc", "US") == []


def test_transliteration_variants_fold_to_one_spelling(real_index):
    # Aleksandr / Alexander, Sergeyevich / Sergeevich: one sound, two transliteration systems
    assert (
        real_index.pair_score(
            "Aleksandr Sergeyevich Petrov", "Alexander Sergeevich Petrov", person=True
        )
        >= 0.95
    )
    # a code without vowels is not folded (DMCC is not DMC); the first letter stays (ITEP's P-hysics)
    from aiexport.screening.normalize import fold_token

    assert fold_token("dmcc") == "dmcc" and fold_token("mohammed") == "mohamed"
    assert fold_token("physics") == "phisics" and fold_token("khalil") == "khalil"


def test_a_folded_spelling_is_a_potential_match_not_an_exact_one(real_index):
    from aiexport.screening.store import is_exact

    # a tripled letter folds to the listed spelling: the same tokens compared, not the same words
    m = real_index.screen("Huawei Technologies Dussseldorf GmbH", "DE")[0]
    assert (
        all(a["similarity"] == 1.0 for a in m.explanation["agreed"])
        and not m.explanation["name_only"]
    )
    assert m.explanation["same_spelling"] is False and not is_exact(m)
    m = real_index.screen("Huawei Technologies Dusseldorf GmbH", "DE")[0]
    assert m.explanation["same_spelling"] is True and is_exact(m)


def _prefilter_keeps_every_pair_that_can_reach(
    ix: Index, queries: list[str], floor: float
) -> tuple[int, int]:
    """Every (query, candidate) pair whose aligned score reaches ``floor`` survives ``_prefilter``;
    returns (pairs, pairs dropped) so a caller can check the filter did something."""
    from aiexport.screening.normalize import matchable

    qns = list(dict.fromkeys(q for q in (matchable(x) for x in queries) if q.tokens))
    cands = ix.candidates_many(qns, 0.0, True)  # no bound: every candidate the blocking finds
    kept = ix._prefilter(qns, cands, floor)
    pairs = dropped = 0
    for qn, cs, ks in zip(qns, cands, kept, strict=True):
        q = qn.tokens
        wq = [ix.weight(t) for t in q]
        qcat = [(len(q[i]) + len(q[i + 1]), i, q[i] + q[i + 1]) for i in range(len(q) - 1)]
        ks = set(ks)
        for j in cs:
            pairs += 1
            dropped += j not in ks
            if j not in ks:
                score = ix._fast(q, wq, sum(wq), j, qcat)
                assert score < floor, (qn.tokens, ix.names[j].norm.tokens, score)
    return pairs, dropped


def test_prefilter_bound_is_never_below_the_aligned_score():
    ix = Index(
        [
            *_idx().entries,
            ListEntry("SDN", "s2", "KUZNETSOV, Aleksandr Vladimirovich", entity_type="person"),
            ListEntry("EL", "e5", "Zhong Ke Tian Long Photonics Holding"),
            ListEntry("EL", "e6", "Novosibirsk Aviation Plant Chkalov"),
        ]
    )
    queries = [
        "Zhongkexin",
        "ZhongKe Xin Electronic",
        "Zhong Ke Xin",
        "A. V. Kuznetsov",
        "Alex Kuznetsov",
        "Kuznetsov Aleksandr",
        "Al Kuz",
        "TianLong Photonics",
        "Zhongke Tianlong Photonics",
        "SMSC",
        "Huawei Dusseldorf",
        "Huawei Technologies Duesseldorf",
        "Acme Electronic",
        "Novosibirskaviation Plant",
        "Novosibirsk Aviationplant Chkalov",
        "Petrov Ivan",
        "I. Petrov",
    ]
    for floor in (0.75, 0.6, 0.4):
        pairs, dropped = _prefilter_keeps_every_pair_that_can_reach(ix, queries, floor)
    assert pairs > 20 and dropped > 0


def test_prefilter_bound_on_the_real_lists(real_index):
    import csv

    from .conftest import FIXTURES

    names = [r["name"] for r in csv.DictReader((FIXTURES / "po_queries.csv").open())]
    pairs, dropped = _prefilter_keeps_every_pair_that_can_reach(real_index, names, 0.75)
    assert pairs > 1000 and dropped > pairs // 2


def test_institutional_phrases_are_read_before_the_spelling_variants():
    # 'scientific' is also a spelling variant ('science'): the phrase must be recognised first
    want = ("npp", "polyot")
    assert (
        normalize("JOINT STOCK COMPANY SCIENTIFIC AND PRODUCTION ENTERPRISE POLYOT").tokens == want
    )
    assert normalize("Nauchno-Proizvodstvennoe Predpriyatie Polyot").tokens == want
    assert normalize("NPP Polyot").tokens == want
    assert normalize("Institute of Chinese Academy of Sciences").tokens == ("institute", "cas")
    assert normalize("Scientific Instruments").tokens == (
        "science",
        "instruments",
    )  # the variant still applies


def test_folds_reach_the_letters_of_a_token_with_digits():
    from aiexport.screening.normalize import fold_token, matchable

    assert fold_token("address05") == "adres05"
    assert matchable("Address05").tokens == (matchable("Address 05").joined,)
    assert (
        fold_token("1100") == "1100" and fold_token("dmcc7") == "dmcc7"
    )  # digits and codes as written


def test_a_glued_company_or_corporation_is_a_legal_form():
    from aiexport.screening.normalize import matchable

    assert matchable("ALCARDINAL PETROLEUMCOMPANY LIMITED").tokens == ("alcardinal", "petroleum")
    assert matchable("Zenith HoldingCorporation").tokens == ("zenith", "holding")
    assert matchable("Company").raw == ("company",)  # a name that is only the legal form keeps it


def test_three_letter_acronym_needs_an_agreeing_country():
    ix = Index(
        [
            ListEntry("EL", "a1", "Sanatorium Ay Petri", addresses=[Address("Yalta", "UA")]),
            ListEntry(
                "EL",
                "a2",
                "Moscow Aviation Institute Kuznetsov",
                addresses=[Address("Moscow", "RU")],
            ),
        ]
    )
    assert ix.screen("SAP") == [] and ix.screen("SAP", "DE") == []
    m = ix.screen("SAP", "UA")
    assert m and m[0].entry.uid == "a1" and m[0].features["acronym"] == 0.78
    assert ix.screen("MAIK")[0].entry.uid == "a2"  # four letters: enough by itself


def test_only_common_words_and_countries_agreeing_is_not_a_match(real_index):
    # 'technology' is in many names and leads few; 'russia' is a country: neither says which entity
    assert "technologi" in real_index.weak and "rusia" in real_index.weak
    assert (
        "huavei" not in real_index.weak
    )  # in many names too, but it leads them: a name, not a kind
    assert real_index.screen("Technology Russia", "RU") == []
    from aiexport.screening.normalize import matchable

    radio = next(
        n
        for n in real_index.names
        if n.text.startswith("OAO All-Russia Research Institute of Radio")
    )
    m = real_index.score(matchable("Technology Russia"), radio, {"RU"}, explain=True)
    cq, cc = m.explanation["coverage"]["query"], m.explanation["coverage"]["name"]
    assert m.explanation["only_common_words_agree"] and cq > cc
    assert (
        m.features["token_overlap"] == pytest.approx(0.35 * cq + 0.65 * cc, abs=1e-3)
        and m.score < THRESHOLD
    )
    assert real_index.screen(
        "Huawei Technologies Russia", "RU"
    )  # a leading distinctive word agrees


def test_misspelt_institutional_phrases_and_the_long_form_of_a_listed_name():
    assert normalize("JOINT STOCK COMPANY SCEINTIFIC AND PRODUCTION ENTERPRISE POLYOT").tokens == (
        "npp",
        "polyot",
    )
    assert normalize("LLC Scientific and Production Asscociation Naukasoft").tokens == (
        "npo",
        "naukasoft",
    )
    assert normalize("Scientific Industry Enterprise Kontakt").tokens == (
        "science",
        "industry",
        "enterprise",
        "kontakt",
    )
    ix = Index(
        [
            ListEntry(
                "EL",
                "n1",
                "Scientific-Production Enterprise Salyut JSC",
                addresses=[Address("Moscow", "RU")],
            ),
            ListEntry("EL", "n2", "Salyut Trading House", addresses=[Address("Moscow", "RU")]),
        ]
    )
    for q in (
        "NPP Salyut",
        "Scientific Production Enterprise Salyut",
        "Scientific-Production EnterpriseSalyut JSC",
        "Enterprise Scientific-Production Salyut",
    ):  # abbreviated, as listed, glued, reordered
        hits = ix.screen(q, "RU")
        assert hits and hits[0].entry.uid == "n1", q
    assert (
        ix.pair_score(
            "Scientific-Production EnterpriseSalyut", "Scientific-Production Enterprise Salyut JSC"
        )
        >= THRESHOLD
    )


def test_what_follows_a_legal_form_is_a_place_only_without_digits_or_parentheses(real_index):
    from aiexport.screening.match import strip_after_legal_form

    assert strip_after_legal_form("REXFORD LTD., Dubai") == "REXFORD LTD."
    cetc = "China Electronics Technology Group Corp., 7th Research Institute (CETC-7)"
    assert strip_after_legal_form(cetc) == cetc
    hits = real_index.screen(cetc, "CN")
    assert hits and "7th Research Institute" in hits[0].entry.name


def test_an_ordinal_starts_an_address_only_before_an_address_word():
    from aiexport.screening.normalize import strip_address

    assert strip_address("Alexander Ivjenko, 7150 Rue Chouinard, Montreal") == "Alexander Ivjenko"
    assert strip_address("Acme Ltd., 17th Floor, Tower 2, Kowloon") == "Acme Ltd"
    keep = "China Electronics Technology Group Corp., 7th Research Institute (CETC-7)"
    assert strip_address(keep) == keep


def test_a_quoted_or_long_part_after_a_legal_form_is_name_not_place(real_index):
    from aiexport.screening.match import strip_after_legal_form

    tmc = "Tactical Missile Corp., “Central Design Bureau of Automation”"
    assert strip_after_legal_form(tmc) == tmc
    assert strip_after_legal_form("ABC LLC, Sergiev Posad, Moscow Oblast") == "ABC LLC"
    assert strip_after_legal_form("Foo Co., Ltd., Xi'an") == "Foo Co., Ltd."  # ' is not a quote
    hits = real_index.screen(tmc, "RU")
    # the subsidiary named in quotes ranks first, not its parent (which the query also names)
    assert hits[0].entry.name == "Tactical Missile Corporation, “Central Design Bureau of Automation”"


def test_query_repair_glued_words_and_misspelt_variant_words(real_index):
    # two list words without their space, a legal form glued on either side
    assert real_index.repair("SerkoLimited") == "serko limited"
    assert real_index.repair("PAOZVEZDA") == "pao zvezda"
    assert real_index.repair("SophgoTechnologies Pte. Ltd.").startswith("sophgo technologies")
    # one edit from a word the spelling variants rewrite (aviation → avia)
    assert real_index.repair("Qods Aviatoin Industry") == "qods aviation industry"
    # a word the lists use, or one that splits into no two list words, is left alone
    assert real_index.repair("Accenture plc") == "Accenture plc"
    assert real_index.repair("Mindray Medical") == "Mindray Medical"
    for q, cc, name in (
        ("SerkoLimited", "HK", "Serko Limited"),
        ("PAOZVEZDA", None, "PAO ZVEZDA"),
        ("Qods AviationIndustry", "IR", "Qods Aviation Industry"),
        ("Qods Aviatoin Industry", "IR", "Qods Aviation Industry"),
        ("SophgoTechnologies Pte. Ltd.", "SG", "Sophgo Technologies Pte. Ltd."),
    ):
        assert name in {m.entry.name for m in real_index.screen(q, cc)}, q


def test_words_in_conflict_the_lesser_coverage_leads(real_index):
    from aiexport.screening.normalize import matchable

    moore = next(n for n in real_index.names if n.text.startswith("Moore Thread Intelligent"))
    # 'Thread' (rare) is replaced by 'Institute': each side keeps a word the other lacks
    q = matchable(real_index.repair("Moore Institute Intelligent Technology Co., Ltd."))
    m = real_index.score(q, moore, {"CN"}, explain=True)
    cq, cc = m.explanation["coverage"]["query"], m.explanation["coverage"]["name"]
    assert m.explanation["words_in_conflict"] and cq > cc
    assert m.features["token_overlap"] == pytest.approx(0.35 * cq + 0.65 * cc, abs=1e-3)
    assert m.score < THRESHOLD
    assert not real_index.screen("Moore Institute Intelligent Technology Co., Ltd.", "CN")
    # the other side: an extra word that is a place is no conflict, nor is a query inside the name
    for ok in ("Moore Thread Intelligent Technology Beijing", "Moore Thread Intelligent Technology"):
        hits = real_index.screen(ok, "CN")
        assert hits and hits[0].entry.name.startswith("Moore Thread"), ok
        assert not hits[0].explanation["words_in_conflict"]
    assert "beijing" in real_index.places and "huavei" not in real_index.places


def test_a_persons_one_word_name_matches_the_whole_query_only(real_index):
    # 'HUSSEIN' is an alias of several SDN persons: not a hit for every name holding the word
    assert not real_index.screen("Beijing Hussein", "CN")
    assert any(m.matched_name == "HUSSEIN" for m in real_index.screen("Hussein"))


def test_polish_and_south_asian_legal_forms_are_not_name_words(real_index):
    assert normalize("Doncoaltrade SP Z O O").tokens == ("doncoaltrade",)
    assert normalize("Doncoaltrade Sp. z o.o.").tokens == ("doncoaltrade",)
    # '(Private)' in '… (Private) Limited' is a legal form, not a name of its own
    assert not any(
        n.kind == "abbreviation" and n.text == "Private" for n in real_index.names
    ), "a parenthetical of legal-form words was indexed as a name"
    assert not real_index.screen("Private Tech", "PK")
    hits = real_index.screen("Huawei Technologies Pakistan (Private) Limited", "PK")
    assert hits and hits[0].entry.name == "Huawei Technologies Pakistan (Private) Limited"


def test_a_company_is_never_a_persons_one_word_name(real_index):
    # 'ABDULLAH' is a one-word alias of SDN persons: a company 'Abdullah Sp. z o.o.' is not them
    assert not real_index.screen("Abdullah Sp. z o.o.", "PL")
    assert any(m.matched_name == "ABDULLAH" for m in real_index.screen("Abdullah"))


def test_the_collector_is_paused_on_the_main_thread_only():
    import gc
    import threading

    from aiexport.screening.match import gc_paused

    assert gc.isenabled()
    with gc_paused(True):
        assert not gc.isenabled()  # a CLI run or a batch process: its own process
    assert gc.isenabled()
    seen = []

    def request():
        with gc_paused(True):
            seen.append(gc.isenabled())  # a server's request thread: never paused

    t = threading.Thread(target=request)
    t.start()
    t.join()
    assert seen == [True] and gc.isenabled()
