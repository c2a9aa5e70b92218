"""Loaders for the official restricted-party list formats, and the cleaning the best screeners do.

Formats:

* trade.gov Consolidated Screening List CSV — the 29-column layout (first column ``_id``) and the
  older 28-column one (no ``_id``); multi-valued cells are joined by ``"; "``; every address ends
  in its ISO-2 country code.
* the CSL JSON envelope (``{"total": n, "results": [...]}``, the API's shape).
* OFAC's legacy ``sdn.csv`` (12 columns, no header, nulls are ``-0-``) with ``add.csv`` and
  ``alt.csv`` beside it when present; aliases also sit in Remarks as ``a.k.a. '…'``.
* OFAC ``sdn.xml`` (the legacy XML: ``sdnEntry`` with ``akaList`` and ``addressList``).

Every loader returns a :class:`ListFile` of :class:`ListEntry`; nothing is dropped silently: a
row that cannot be read raises :class:`~aiexport.errors.InputError` naming file, row and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pycountry

from aiexport.errors import InputError

# The CSL "source" column -> list code.
SOURCE_CODES = {
    "entity list": "EL",
    "denied persons list": "DPL",
    "military end user": "MEU",
    "unverified list": "UVL",
    "specially designated nationals": "SDN",
    "nonproliferation sanctions": "ISN",
    "foreign sanctions evaders": "FSE",
    "sectoral sanctions identifications": "SSI",
    "non-sdn menu-based sanctions": "MBS",
    "non-sdn chinese military-industrial complex": "CMIC",
    "capta list": "CAP",
    "itar debarred": "DTC",
    "non-sdn palestinian legislative council": "PLC",
}
CSL_COLUMNS_28 = [
    "source",
    "entity_number",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "federal_register_notice",
    "start_date",
    "end_date",
    "standard_order",
    "license_requirement",
    "license_policy",
    "call_sign",
    "vessel_type",
    "gross_tonnage",
    "gross_registered_tonnage",
    "vessel_flag",
    "vessel_owner",
    "remarks",
    "source_list_url",
    "alt_names",
    "citizenships",
    "dates_of_birth",
    "nationalities",
    "places_of_birth",
    "source_information_url",
    "ids",
]
CSL_COLUMNS_29 = ["_id", *CSL_COLUMNS_28]
SDN_COLUMNS = [
    "ent_num",
    "sdn_name",
    "sdn_type",
    "program",
    "title",
    "call_sign",
    "vess_type",
    "tonnage",
    "grt",
    "vess_flag",
    "vess_owner",
    "remarks",
]
OFAC_NULL = "-0-"
PERSON_TYPES = {"individual", "person"}

# Entity List footnotes (Supp. 4 to Part 744): 1 = §734.9(e)(1) Huawei FDP; 3 = §734.9(g) Russia/
# Belarus MEU FDP; 4 = §734.9(e)(2) advanced-computing/supercomputer FDP; 5 = §734.9(e)(3) (the
# 2024 semiconductor-manufacturing FDP). They appear as bare digits after a § reference.
FOOTNOTES = {
    "1": "§734.9(e)(1): foreign-direct-product rule for Entity List footnote 1 (Huawei and affiliates)",
    "2": "footnote 2: §744.11(a)(2)(ii) scope note (items subject to the EAR via footnote 1)",
    "3": "§734.9(g): Russia/Belarus military end-user foreign-direct-product rule (footnote 3)",
    "4": "§734.9(e)(2): advanced-computing / supercomputer foreign-direct-product rule (footnote 4)",
    "5": "§734.9(e)(3): foreign-direct-product rule for footnote 5 entities (advanced-node IC production)",
}
FDP_FOOTNOTES = {"1", "3", "4", "5"}
_FOOTNOTE_RE = re.compile(r"(?:(?<=[\),])|(?<=\)\s)|(?<=[A-Za-z]\s))([1-5])(?=\s|$|,|\)|\.)")
_COUNTRY_TAIL = re.compile(r",\s*([A-Z]{2})\s*$")
_ADDRESS_WORDS = re.compile(
    r"\b(street|st|road|rd|avenue|ave|office|unit|apt|ulitsa|ul|building|bldg|floor|room|rm\.|district|suite|box|"
    r"no\.|lane|blvd|boulevard|province|city|industrial|park|tower)(?!\w)",
    re.I,
)
_AKA_RE = re.compile(r"""\b(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*['‘’"]([^'’"]+)['’"]""", re.I)


@dataclass
class Address:
    text: str
    country: str | None  # ISO alpha-2


@dataclass
class ListEntry:
    list_code: str
    uid: str
    name: str
    aliases: list[str] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    entity_type: str = "organization"  # "person" | "organization" | "vessel" | "aircraft"
    programs: list[str] = field(default_factory=list)
    federal_register: str = ""
    license_requirement: str = ""
    license_policy: str = ""
    footnotes: list[str] = field(default_factory=list)
    start_date: str = ""
    remarks: str = ""
    source_url: str = ""
    dropped_aliases: list[str] = field(default_factory=list)

    @property
    def countries(self) -> list[str]:
        out: list[str] = []
        for a in self.addresses:
            if a.country and a.country not in out:
                out.append(a.country)
        return out

    @property
    def fdp_footnotes(self) -> list[str]:
        return [f for f in self.footnotes if f in FDP_FOOTNOTES]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["countries"] = self.countries
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ListEntry:
        d = {k: v for k, v in d.items() if k != "countries"}
        d["addresses"] = [Address(**a) for a in d.get("addresses", [])]
        return cls(**d)

    def content_hash(self) -> str:
        """The entry's version: what a disposition is tied to (any change brings the match back)."""
        d = self.as_dict()
        d.pop("uid", None)
        return hashlib.sha256(
            json.dumps(d, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()


@dataclass
class ListFile:
    source: str  # "csl" | "ofac-sdn" | ...
    path: str
    sha256: str
    published: str | None
    entries: list[ListEntry]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.list_code] = out.get(e.list_code, 0) + 1
        return dict(sorted(out.items()))


# ----------------------------------------------------------------------------- helpers


def sha256_file(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def _date_in_name(path: Path) -> str | None:
    m = re.search(r"(20\d\d)-?(\d\d)-?(\d\d)", path.name)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    return None


def file_date(path: Path) -> str:
    """Publication date from the file name (``…_2026-07-09.csv``), else the file's mtime date."""
    return _date_in_name(path) or dt.date.fromtimestamp(path.stat().st_mtime).isoformat()


def list_code(source: str) -> str:
    s = source.lower()
    for key, code in SOURCE_CODES.items():
        if key in s:
            return code
    m = re.search(r"\(([A-Z0-9]{2,6})\)", source)
    return m[1] if m else source.strip()[:10].upper()


_COUNTRY_NAMES: dict[str, str] = {}
_COUNTRY_LOOKUP: dict[str, str] = {}


@lru_cache(maxsize=100_000)
def country_code(text: str | None) -> str | None:
    """ISO alpha-2 for a code or a country name (pycountry, with the usual OFAC spellings)."""
    if not text:
        return None
    t = text.strip().strip(".")
    if not t:
        return None
    if len(t) == 2 and t.isalpha():
        return t.upper()
    if not _COUNTRY_NAMES:
        for c in pycountry.countries:
            for n in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)):
                if n:
                    _COUNTRY_NAMES[n.lower()] = c.alpha_2
        _COUNTRY_NAMES.update(
            {
                "russia": "RU",
                "iran": "IR",
                "syria": "SY",
                "burma": "MM",
                "north korea": "KP",
                "korea, north": "KP",
                "korea, south": "KR",
                "south korea": "KR",
                "vietnam": "VN",
                "taiwan": "TW",
                "venezuela": "VE",
                "bolivia": "BO",
                "tanzania": "TZ",
                "laos": "LA",
                "moldova": "MD",
                "macau": "MO",
                "macao": "MO",
                "hong kong": "HK",
                "czech republic": "CZ",
                "the netherlands": "NL",
                "turkey": "TR",
                "congo, democratic republic of the": "CD",
                "west bank": "PS",
                "gaza": "PS",
                "palestinian": "PS",
                "kosovo": "XK",
                "region: crimea": "UA",
                "united kingdom": "GB",
                "uk": "GB",
                "united states": "US",
                "usa": "US",
                "uae": "AE",
                "brunei": "BN",
                "cote d'ivoire": "CI",
                "ivory coast": "CI",
                "cape verde": "CV",
            }
        )
        # what pycountry.countries.lookup matches (every indexed field, then the non-indexed ones,
        # case-insensitive, first hit wins) as one dict: a miss costs a dict probe, not a scan
        db = pycountry.countries
        db.lookup("us")  # loads the database and its indices
        for key in db.indices:
            for value, obj in db.indices[key].items():
                _COUNTRY_LOOKUP.setdefault(value, obj.alpha_2)
        for obj in db:
            for k in getattr(db, "no_index", ()):
                v = obj._fields.get(k)
                if v is not None:
                    _COUNTRY_LOOKUP.setdefault(v.lower(), obj.alpha_2)
    low = t.lower()
    if low in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[low]
    return _COUNTRY_LOOKUP.get(low)


def fix_hong_kong(text: str, country: str | None) -> str | None:
    """Hong Kong (and Macau) addresses are filed under China (CN) on the Entity List: the address
    says where the party is, and §740.2/§744 treat Hong Kong as part of China for the EAR while
    the screen's country evidence must still match a query that gives HK."""
    low = text.lower()
    if country in (None, "CN"):
        if "hong kong" in low or "kowloon" in low or "new territories" in low:
            return "HK"
        if "macau" in low or "macao" in low:
            return "MO"
    return country


def footnotes_of(requirement: str) -> list[str]:
    """Entity List footnote designations: the bare digits after a § reference
    ('§§ 734.9(e) 1 and 744.11 of the EAR 2' -> ['1', '2'])."""
    if not requirement:
        return []
    return sorted(set(_FOOTNOTE_RE.findall(requirement)))


def clean_alias(alias: str, primary: str) -> str | None:
    """Drop parse artefacts: an alias that is just 'and', an address, or the primary name again;
    cut an address glued onto a name ('M.A.G. Tech, 5762 Royalmount Ave, …' -> 'M.A.G. Tech')."""
    a = alias.strip().strip(";,").strip()
    if re.match(r"^(and|or|the|a\.k\.a\.?|aka|f\.k\.a\.?)$", a, re.I) or len(a) < 2:
        return None
    if re.match(r"^(and\s+)?\d", a) and _ADDRESS_WORDS.search(a):
        return None  # an address, not a name
    if re.match(r"^and\s", a, re.I) and (re.search(r"\d", a) or _ADDRESS_WORDS.search(a)):
        return None  # the tail of an address list ('and 5440 Queen Mary St, …')
    m = re.search(r"[.,]\s+\d+[\w-]*\s+\w", a)
    if m and _ADDRESS_WORDS.search(a[m.start() :]):
        a = a[: m.start()].strip(" ,.")
        if len(a) < 2:
            return None
    if a.casefold() == primary.casefold():
        return None
    return a


def _split_multi(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _csl_addresses(value: str) -> list[Address]:
    out = []
    for part in _split_multi(value):
        m = _COUNTRY_TAIL.search(part)
        cc = m[1] if m else country_code(part.rsplit(",", 1)[-1])
        out.append(Address(part, fix_hong_kong(part, cc)))
    return out


def _uid(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _entry_type(value: str) -> str:
    v = (value or "").strip().lower()
    if v in PERSON_TYPES:
        return "person"
    if v in ("vessel", "aircraft"):
        return v
    return "organization"


def _finish(e: ListEntry, raw_aliases: Iterable[str]) -> ListEntry:
    seen = {e.name.casefold()}
    for raw in raw_aliases:
        a = clean_alias(raw, e.name)
        if a is None or a.casefold() in seen:
            if a is None and raw.strip() and raw.strip().casefold() != e.name.casefold():
                e.dropped_aliases.append(raw.strip())
            continue
        seen.add(a.casefold())
        e.aliases.append(a)
    e.footnotes = footnotes_of(e.license_requirement)
    return e


# ----------------------------------------------------------------------------- CSL


def _csl_entry(rec: dict, file: str, row: int) -> ListEntry:
    name = (rec.get("name") or "").strip()
    source = (rec.get("source") or "").strip()
    if not name:
        raise InputError(file, row, "name", "a party name")
    if not source:
        raise InputError(
            file,
            row,
            "source",
            "the list's name (e.g. 'Entity List (EL) - Bureau of Industry and Security')",
        )
    code = list_code(source)
    addresses = rec.get("addresses") or ""
    if isinstance(addresses, list):  # the JSON envelope
        addrs = []
        for a in addresses:
            text = ", ".join(
                str(a.get(k)) for k in ("address", "city", "state", "postal_code") if a.get(k)
            )
            cc = country_code(a.get("country"))
            addrs.append(Address(text, fix_hong_kong(text, cc)))
    else:
        addrs = _csl_addresses(addresses)
    alt = rec.get("alt_names") or ""
    aliases = alt if isinstance(alt, list) else _split_multi(alt)
    programs = rec.get("programs") or ""
    programs = programs if isinstance(programs, list) else _split_multi(programs)
    uid = (
        (rec.get("_id") or rec.get("id") or "").strip()
        if isinstance(rec.get("_id") or rec.get("id") or "", str)
        else ""
    )
    if not uid:
        num = str(rec.get("entity_number") or "").strip()
        uid = (
            f"{code}:{num}"
            if num
            else _uid(
                code, name, addresses if isinstance(addresses, str) else json.dumps(addresses)
            )
        )
    e = ListEntry(
        list_code=code,
        uid=uid,
        name=name,
        addresses=addrs,
        entity_type=_entry_type(rec.get("type") or ""),
        programs=programs,
        federal_register=(rec.get("federal_register_notice") or "").strip(),
        license_requirement=(rec.get("license_requirement") or "").strip(),
        license_policy=(rec.get("license_policy") or "").strip(),
        start_date=(rec.get("start_date") or "").strip(),
        remarks=(rec.get("remarks") or "").strip(),
        source_url=(rec.get("source_list_url") or "").strip(),
    )
    return _finish(e, aliases)


def load_csl_csv(path: Path) -> ListFile:
    text = Path(path).read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(str(path), None, None, "a CSL CSV with a header row") from None
    header = [h.strip() for h in header]
    if header not in (CSL_COLUMNS_29, CSL_COLUMNS_28):
        missing = [c for c in CSL_COLUMNS_28 if c not in header]
        if missing:
            raise InputError(
                str(path),
                1,
                missing[0],
                "the trade.gov CSL header (29 columns with _id, or the older 28)",
                ",".join(header[:6]) + "…",
            )
    entries = []
    for i, row in enumerate(reader, start=1):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(str(path), i, None, f"{len(header)} columns", f"{len(row)} columns")
        entries.append(_csl_entry(dict(zip(header, row, strict=True)), str(path), i))
    return ListFile("csl", str(path), sha256_file(path), file_date(Path(path)), entries)


def load_csl_json(path: Path) -> ListFile:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            str(path), None, None, f"valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    results = doc.get("results") if isinstance(doc, dict) else doc
    if not isinstance(results, list):
        raise InputError(
            str(path), None, "results", 'the CSL JSON envelope {"total": n, "results": [...]}'
        )
    entries = []
    for i, rec in enumerate(results, start=1):
        if not isinstance(rec, dict):
            raise InputError(str(path), i, None, "an object per result")
        entries.append(_csl_entry(rec, str(path), i))
    published = None
    if isinstance(doc, dict):
        for k in ("sources_used", "search_performed_at"):
            v = doc.get(k)
            if isinstance(v, str) and re.match(r"\d{4}-\d\d-\d\d", v):
                published = v[:10]
    return ListFile(
        "csl", str(path), sha256_file(path), published or file_date(Path(path)), entries
    )


# ----------------------------------------------------------------------------- OFAC


def _ofac(v: str) -> str:
    v = (v or "").strip()
    return "" if v == OFAC_NULL else v


def _read_headerless(path: Path, ncols: int, what: str) -> list[list[str]]:
    text = Path(path).read_text(
        encoding="latin-1" if b"\xe9" in Path(path).read_bytes()[:0] else "utf-8", errors="replace"
    )
    rows = []
    for i, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and not row[0].strip()) or row[0].strip() == "\x1a":
            continue
        if len(row) != ncols:
            raise InputError(
                str(path), i, None, f"{ncols} columns of OFAC {what}", f"{len(row)} columns"
            )
        rows.append(row)
    return rows


def ofac_person_name(name: str) -> str:
    """OFAC files individuals as 'FAMILY, Given': kept as filed; the matcher handles the order."""
    return name


def load_ofac_sdn_csv(path: Path, add: Path | None = None, alt: Path | None = None) -> ListFile:
    path = Path(path)
    d = path.parent
    stem = path.stem
    suffix = stem[len("sdn") :] if stem.lower().startswith("sdn") else ""
    if add is None:
        for cand in (
            d / f"add{suffix}.csv",
            d / f"{stem.replace('sdn', 'add')}.csv",
            d / "add.csv",
        ):
            if cand.is_file():
                add = cand
                break
    if alt is None:
        for cand in (
            d / f"alt{suffix}.csv",
            d / f"{stem.replace('sdn', 'alt')}.csv",
            d / "alt.csv",
        ):
            if cand.is_file():
                alt = cand
                break
    addresses: dict[str, list[Address]] = {}
    if add:
        for r in _read_headerless(
            add, 6, "add.csv (ent_num, add_num, address, city/state/zip, country, remarks)"
        ):
            text = ", ".join(x for x in (_ofac(r[2]), _ofac(r[3]), _ofac(r[4])) if x)
            cc = country_code(_ofac(r[4]))
            addresses.setdefault(r[0].strip(), []).append(Address(text, fix_hong_kong(text, cc)))
    aliases: dict[str, list[str]] = {}
    if alt:
        for r in _read_headerless(
            alt, 5, "alt.csv (ent_num, alt_num, alt_type, alt_name, remarks)"
        ):
            if _ofac(r[3]):
                aliases.setdefault(r[0].strip(), []).append(_ofac(r[3]))
    entries = []
    for i, r in enumerate(_read_headerless(path, 12, "sdn.csv"), start=1):
        num, name = r[0].strip(), _ofac(r[1])
        if not num.isdigit():
            raise InputError(str(path), i, "ent_num", "an OFAC entity number", num)
        if not name:
            raise InputError(str(path), i, "sdn_name", "a name", r[1])
        remarks = _ofac(r[11])
        al = list(aliases.get(num, [])) + _AKA_RE.findall(remarks)
        e = ListEntry(
            list_code="SDN",
            uid=f"SDN:{num}",
            name=name,
            addresses=addresses.get(num, []),
            entity_type=_entry_type(_ofac(r[2]) or "organization"),
            programs=[p.strip("[] ") for p in _ofac(r[3]).split("] [") if p.strip("[] ")],
            remarks=remarks,
            source_url="https://sanctionslist.ofac.treas.gov/",
        )
        entries.append(_finish(e, al))
    files = [p for p in (path, add, alt) if p]
    return ListFile("ofac-sdn", str(path), sha256_file(*files), file_date(path), entries)


def load_ofac_sdn_xml(path: Path) -> ListFile:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(str(path), None, None, f"well-formed OFAC sdn.xml ({exc})") from None
    ns = ""
    if root.tag.startswith("{"):
        ns = root.tag.split("}")[0] + "}"

    def t(el, tag: str) -> str:
        x = el.find(ns + tag)
        return (x.text or "").strip() if x is not None and x.text else ""

    published = None
    info = root.find(ns + "publshInformation")
    if info is not None:
        pd = t(info, "Publish_Date")
        m = re.match(r"(\d+)/(\d+)/(\d{4})", pd)
        if m:
            published = dt.date(int(m[3]), int(m[1]), int(m[2])).isoformat()
    entries = []
    for i, el in enumerate(root.iter(ns + "sdnEntry"), start=1):
        uid = t(el, "uid")
        last, first = t(el, "lastName"), t(el, "firstName")
        if not last:
            raise InputError(str(path), i, "lastName", "a name")
        name = f"{last}, {first}" if first else last
        aliases = []
        for aka in el.iter(ns + "aka"):
            al, af = t(aka, "lastName"), t(aka, "firstName")
            if al:
                aliases.append(f"{al}, {af}" if af else al)
        addrs = []
        for a in el.iter(ns + "address"):
            text = ", ".join(
                x
                for x in (
                    t(a, "address1"),
                    t(a, "city"),
                    t(a, "stateOrProvince"),
                    t(a, "postalCode"),
                    t(a, "country"),
                )
                if x
            )
            cc = country_code(t(a, "country"))
            addrs.append(Address(text, fix_hong_kong(text, cc)))
        programs = [p.text.strip() for p in el.iter(ns + "program") if p.text]
        remarks = t(el, "remarks")
        e = ListEntry(
            list_code="SDN",
            uid=f"SDN:{uid}",
            name=name,
            addresses=addrs,
            entity_type=_entry_type(t(el, "sdnType")),
            programs=programs,
            remarks=remarks,
            source_url="https://sanctionslist.ofac.treas.gov/",
        )
        entries.append(_finish(e, aliases + _AKA_RE.findall(remarks)))
    return ListFile(
        "ofac-sdn", str(path), sha256_file(path), published or file_date(Path(path)), entries
    )


# ----------------------------------------------------------------------------- dispatch


def detect_format(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), None, None, "an existing list file")
    head = path.read_bytes()[:4096].decode("utf-8-sig", errors="replace").lstrip()
    if path.suffix.lower() == ".xml" or head.startswith("<"):
        return "ofac-sdn-xml"
    if path.suffix.lower() == ".json" or head.startswith("{") or head.startswith("["):
        return "csl-json"
    first = next(csv.reader(io.StringIO(head.splitlines()[0] if head else "")), [])
    if first and first[0].strip() in ("_id", "source"):
        return "csl-csv"
    if len(first) == 12 and first[0].strip().isdigit():
        return "ofac-sdn-csv"
    raise InputError(
        str(path),
        1,
        None,
        "a trade.gov CSL CSV (header starting _id or source), a CSL JSON envelope, OFAC sdn.csv (12 columns) or sdn.xml",
        ",".join(first[:4]),
    )


def load_list(path: Path) -> ListFile:
    fmt = detect_format(path)
    return {
        "csl-csv": load_csl_csv,
        "csl-json": load_csl_json,
        "ofac-sdn-csv": load_ofac_sdn_csv,
        "ofac-sdn-xml": load_ofac_sdn_xml,
    }[fmt](Path(path))
