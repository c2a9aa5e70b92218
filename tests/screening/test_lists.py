from __future__ import annotations

import pytest

from aiexport.errors import InputError
from aiexport.screening.lists import clean_alias, detect_format, footnotes_of, load_list

from .conftest import CSL_BIS, SAMPLES, SDN, need


def test_csl_29_columns_counts_footnotes_and_hong_kong():
    f = load_list(need(CSL_BIS))
    assert f.counts() == {"DPL": 564, "EL": 3409, "MEU": 70}
    assert f.published == "2026-07-09" and len(f.sha256) == 64
    huawei = next(e for e in f.entries if e.name == "Huawei Tech Investment Co., Ltd.")
    assert huawei.footnotes == ["1", "2"] and huawei.fdp_footnotes == ["1"]
    assert huawei.countries == ["AR"] and huawei.federal_register == "84 FR 43495, 8/21/19"
    hk = next(e for e in f.entries if e.name == "3HC Semiconductors (HK) Co., Ltd.")
    assert hk.countries == ["HK"]  # filed under CN, the address is in Hong Kong
    mixed = next(e for e in f.entries if e.name == "3-K Electronics Limited")
    assert mixed.countries == ["CN", "HK"]
    # duplicate names with different addresses stay separate entries
    assert sum(e.name == "Novax Group S.A." for e in f.entries) == 5
    # parse-artefact aliases are dropped (kept in dropped_aliases, never silently)
    aliases = [a for e in f.entries for a in e.aliases]
    assert "and" not in aliases
    assert not any(a.startswith("and 26 Generala Belova") for a in aliases)
    assert any("and" == d for e in f.entries for d in e.dropped_aliases)
    bell = next(e for e in f.entries if "BellHuawei Technologies LLC" in e.aliases)
    assert bell.aliases == ["BellHuawei Technologies LLC"]


def test_csl_28_columns_and_list_codes():
    f = load_list(need(SAMPLES / "test_testdata_csl.csv"))
    c = f.counts()
    assert c["EL"] == 22 and c["UVL"] == 4 and c["SDN"] == 28 and c["DPL"] == 8
    assert len({e.uid for e in f.entries}) == len(f.entries)


def test_ofac_sdn_with_add_alt_and_remarks_aliases():
    f = load_list(need(SAMPLES / "test_testdata_bench_sdn.csv"))
    bnc = next(e for e in f.entries if e.uid == "SDN:306")
    assert bnc.name == "BANCO NACIONAL DE CUBA"
    assert set(bnc.aliases) == {"NATIONAL BANK OF CUBA", "BNC"}  # alt.csv + Remarks a.k.a.
    assert "CH" in bnc.countries and "JP" in bnc.countries  # add.csv
    g = load_list(need(SDN))
    assert g.counts() == {"SDN": 14965}
    assert next(e for e in g.entries if e.uid == "SDN:306").aliases == ["BNC"]  # no add/alt beside it


def test_csl_json_envelope_and_sdn_xml(tmp_path):
    j = tmp_path / "csl.json"
    j.write_text('{"total": 1, "results": [{"id": "x1", "source": "Entity List (EL) - Bureau of Industry and Security",'
                 ' "name": "Acme HK Ltd.", "alt_names": ["Acme"], "addresses": [{"address": "1 Road", "city": "Kowloon, Hong Kong",'
                 ' "country": "CN"}], "license_requirement": "For all items subject to the EAR. (See §§ 734.9(e)(2) and 744.11 of the EAR) 4",'
                 ' "federal_register_notice": "89 FR 1, 1/1/24"}]}')
    e = load_list(j).entries[0]
    assert (e.list_code, e.uid, e.aliases, e.countries, e.footnotes) == ("EL", "x1", ["Acme"], ["HK"], ["4"])
    x = tmp_path / "sdn.xml"
    x.write_text('<sdnList xmlns="http://tempuri.org/sdnList.xsd"><publshInformation><Publish_Date>05/03/2024</Publish_Date>'
                 '</publshInformation><sdnEntry><uid>42</uid><lastName>PETROV</lastName><firstName>Ivan</firstName>'
                 '<sdnType>Individual</sdnType><programList><program>RUSSIA-EO14024</program></programList>'
                 '<akaList><aka><lastName>PETROFF</lastName><firstName>Ivan</firstName></aka></akaList>'
                 '<addressList><address><city>Moscow</city><country>Russia</country></address></addressList></sdnEntry></sdnList>')
    f = load_list(x)
    e = f.entries[0]
    assert f.published == "2024-05-03"
    assert (e.uid, e.name, e.entity_type, e.aliases, e.countries) == ("SDN:42", "PETROV, Ivan", "person", ["PETROFF, Ivan"], ["RU"])


def test_bad_list_files_name_file_row_field(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputError) as ei:
        detect_format(bad)
    assert "bad.csv" in str(ei.value)
    short = tmp_path / "csl.csv"
    header = open(need(CSL_BIS)).readline()
    short.write_text(header + '"x","Entity List (EL)","a"\n')
    with pytest.raises(InputError) as ei:
        load_list(short)
    assert ei.value.row == 1 and "29 columns" in ei.value.expected
    noname = tmp_path / "noname.csv"
    noname.write_text(header + ",".join(['"x"', '"Entity List (EL) - BIS"'] + ['""'] * 27) + "\n")
    with pytest.raises(InputError) as ei:
        load_list(noname)
    assert (ei.value.row, ei.value.column) == (1, "name")


def test_footnotes_and_alias_cleaning_units():
    assert footnotes_of("For all items subject to the EAR. (See §§ 734.9(g),3 746.8(a)(3), and 744.21(b) of the EAR)") == ["3"]
    assert footnotes_of("For all items subject to the EAR. (See § 744.11 of the EAR)") == []
    assert footnotes_of("For all items subject to the EAR. (See §§ 734.9(e)(3) and 744.11 of the EAR) 5") == ["5"]
    assert clean_alias("and", "X") is None
    assert clean_alias("and 10 Vokzalnaya Street, Sevastopol", "X") is None
    assert clean_alias("M.A.G. Tech, 5762 Royalmount Ave, Montreal", "X") == "M.A.G. Tech"
    assert clean_alias("Sophgo", "X") == "Sophgo"
