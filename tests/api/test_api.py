"""Every route over HTTP: 401 without a token, 403 for a role too low, 422 problem details
naming the field, and the answers of the use cases."""

from __future__ import annotations

import io
import time

from .conftest import ORDER_CN, ORDER_IN, h

PROBLEM = "application/problem+json"


def test_openapi_is_3_1_and_docs_are_served(server):
    client, _, _ = server
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/v1/check" in spec["paths"] and "/v1/holds/{hold_id}/release" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_every_v1_route_needs_a_token(server):
    client, _, _ = server
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, ops in spec["paths"].items():
        if path == "/v1/health":
            continue
        concrete = path.replace("{veu_id}", "v").replace("{hold_id}", "1").replace("{job_id}", "x").replace("{name}", "a").replace("{parameter}", "p")
        for method in ops:
            r = client.request(method.upper(), concrete, params={"from": "2024-01-01", "to": "2025-01-01"})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["content-type"].startswith(PROBLEM)
            assert r.headers["www-authenticate"] == "Bearer"
            checked += 1
    assert checked >= 30
    assert client.get("/v1/health").status_code == 200


def test_a_wrong_token_is_401(server):
    client, _, _ = server
    r = client.post("/v1/check", json={"transactions": [ORDER_IN]}, headers=h("aix_nonsense"))
    assert r.status_code == 401 and r.json()["status"] == 401


def test_check_one_and_a_list(server):
    client, tok, _ = server
    r = client.post("/v1/check", json={"transactions": [ORDER_IN, ORDER_CN], "posture": "codified"}, headers=h(tok["viewer"]))
    assert r.status_code == 200, r.text
    recs = {x["id"]: x for x in r.json()}
    assert recs["ORD-CN"]["outcome"] == "LICENSE_REQUIRED"
    assert "3A090.a.1" in recs["ORD-CN"]["rules"]
    assert recs["ORD-IN"]["posture"] == "codified"


def test_check_bad_input_is_422_problem_naming_row_and_field(server):
    client, tok, _ = server
    bad = {**ORDER_IN, "quantity": -3}
    r = client.post("/v1/check", json={"transactions": [ORDER_IN, bad]}, headers=h(tok["viewer"]))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == 422 and body["errors"][0]["field"] == "quantity" and body["errors"][0]["row"] == 2


def test_request_validation_is_a_problem_naming_the_field(server):
    client, tok, _ = server
    r = client.post("/v1/check", json={"transactions": [ORDER_IN], "posture": "lenient"}, headers=h(tok["viewer"]))
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"] == "posture"
    r = client.get("/v1/rules/diff", params={"from": "not-a-date", "to": "2025-01-01"}, headers=h(tok["viewer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"


def test_explain_json_and_html_with_the_other_posture(server):
    client, tok, _ = server
    r = client.post("/v1/explain", json={"transaction": ORDER_IN, "posture": "enforced"}, headers=h(tok["viewer"]))
    assert r.status_code == 200
    memo = r.json()
    assert memo["decision"]["posture"] == "enforced" and memo["other_posture"]["posture"] == "codified"
    assert memo["determining"] and all("citation" in d for d in memo["determining"])
    assert any(c["rule"] == "3A090.a.1" and c["held"] for c in memo["classification"])
    r = client.post("/v1/explain.html", json={"transaction": ORDER_IN}, headers=h(tok["viewer"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "Determination memo" in r.text


def test_classify_catalog_and_specs_and_unknown_chip(server):
    client, tok, _ = server
    r = client.post("/v1/classify", json={"chips": ["H100 SXM"], "on": "2025-06-02"}, headers=h(tok["viewer"]))
    assert r.status_code == 200 and r.json()[0]["eccn"] == "3A090.a"
    spec = {"name": "mine", "tpp": "4799", "die_area_mm2": "800", "marketed_for_datacenter": "yes"}
    r = client.post("/v1/classify", json={"specs": [spec], "on": "2025-06-02"}, headers=h(tok["viewer"]))
    assert r.json()[0]["paragraph"] != "3A090.a.1"
    r = client.post("/v1/classify", json={"specs": [{**spec, "tpp": "4800"}], "on": "2025-06-02"}, headers=h(tok["viewer"]))
    assert r.json()[0]["paragraph"] == "3A090.a.1"
    r = client.post("/v1/classify", json={"chips": ["No Such Chip 9000"]}, headers=h(tok["viewer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "chips"
    r = client.get("/v1/chips", params={"limit": 2, "offset": 1}, headers=h(tok["viewer"]))
    page = r.json()
    assert len(page["items"]) == 2 and page["total"] > 2 and page["offset"] == 1


def _record_cn(client, tok):
    r = client.post("/v1/record", json={"transactions": [ORDER_CN], "posture": "codified"}, headers=h(tok["analyst"]))
    assert r.status_code == 200, r.text
    holds = client.get("/v1/holds", headers=h(tok["viewer"])).json()
    assert holds["total"] == 1
    return holds["items"][0]


def test_record_needs_analyst_and_opens_a_hold(server):
    client, tok, _ = server
    r = client.post("/v1/record", json={"transactions": [ORDER_CN]}, headers=h(tok["viewer"]))
    assert r.status_code == 403 and r.headers["content-type"].startswith(PROBLEM)
    hold = _record_cn(client, tok)
    assert hold["order"] == "ORD-CN" and hold["outcome"] == "LICENSE_REQUIRED"
    log = client.get("/v1/audit/log", headers=h(tok["viewer"])).json()
    assert any(x["kind"] == "decision" and x["payload"].get("actor", "anna") == "anna" for x in log)


def test_a_viewer_cannot_release_a_hold_an_officer_can(server):
    client, tok, _ = server
    hold = _record_cn(client, tok)
    body = {"reason_code": "LICENSE_GRANTED", "reason": "licence D123456"}
    for role in ("viewer", "analyst"):
        r = client.post(f"/v1/holds/{hold['id']}/release", json=body, headers=h(tok[role]))
        assert r.status_code == 403, role
    r = client.post(f"/v1/holds/{hold['id']}/release", json=body, headers=h(tok["officer"]))
    assert r.status_code == 200 and r.json()["status"] == "released" and r.json()["resolved_by"] == "otto"
    r = client.post(f"/v1/holds/{hold['id']}/reject", json={"reason_code": "LICENSE_DENIED", "reason": "x"}, headers=h(tok["officer"]))
    assert r.status_code == 409
    r = client.post("/v1/holds/999/release", json=body, headers=h(tok["officer"]))
    assert r.status_code == 404
    r = client.post(f"/v1/holds/{hold['id']}/release", json={"reason_code": "BOGUS", "reason": "x"}, headers=h(tok["officer"]))
    assert r.status_code in (409, 422)
    audit = client.get("/v1/audit/log", params={"limit": 1000}, headers=h(tok["viewer"])).json()
    assert any(x["kind"] == "hold" and x["payload"]["resolved_by"] == "otto" for x in audit)
    assert client.get("/v1/audit/verify", headers=h(tok["viewer"])).json()["ok"] is True


def test_officer_rejects_and_bad_reason_code_names_the_field(server):
    client, tok, _ = server
    hold = _record_cn(client, tok)
    r = client.post(f"/v1/holds/{hold['id']}/reject", json={"reason_code": "NOPE", "reason": "x"}, headers=h(tok["officer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason_code"
    r = client.post(f"/v1/holds/{hold['id']}/reject", json={"reason_code": "LICENSE_DENIED", "reason": "denied"}, headers=h(tok["officer"]))
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert client.get("/v1/holds", params={"status": "rejected"}, headers=h(tok["viewer"])).json()["total"] == 1


def test_ledger_accounts_adjust_and_release_need_an_officer(server):
    client, tok, _ = server
    client.post("/v1/record", json={"transactions": [{**ORDER_IN, "quantity": 2000}], "posture": "codified"}, headers=h(tok["analyst"]))
    accts = client.get("/v1/ledger/accounts", headers=h(tok["viewer"])).json()
    assert accts["total"] >= 1
    name = accts["items"][0]["account"]
    one = client.get(f"/v1/ledger/accounts/{name}", headers=h(tok["viewer"])).json()
    assert one["history"]
    ref = one["history"][0]["ref"]
    for role in ("viewer", "analyst"):
        assert client.post(f"/v1/ledger/accounts/{name}/adjust", json={"amount": "-1", "reason": "x"}, headers=h(tok[role])).status_code == 403
        assert client.post(f"/v1/ledger/accounts/{name}/release", json={"ref": ref, "reason": "x"}, headers=h(tok[role])).status_code == 403
    r = client.post(f"/v1/ledger/accounts/{name}/release", json={"ref": ref, "reason": "order cancelled"}, headers=h(tok["officer"]))
    assert r.status_code == 200, r.text
    r = client.post(f"/v1/ledger/accounts/{name}/adjust", json={"amount": "abc", "reason": "x"}, headers=h(tok["officer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount"
    r = client.post(f"/v1/ledger/accounts/{name}/adjust", json={"amount": "10000000000000000000000", "reason": "0"}, headers=h(tok["officer"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount", r.text
    assert client.get("/v1/ledger/accounts/nope", headers=h(tok["viewer"])).status_code == 404


def test_rules_models_tiers_chart(server):
    client, tok, _ = server
    v = h(tok["viewer"])
    tl = client.get("/v1/rules/timeline", headers=v).json()
    assert tl and {"id", "cite", "effective"} <= set(tl[0])
    d = client.get("/v1/rules/diff", params={"from": "2023-01-01", "to": "2024-01-01"}, headers=v).json()
    assert d["rule_versions"] and d["parameters"]
    assert "group:D:5" in client.get("/v1/rules/parameters", headers=v).json()
    show = client.get("/v1/rules/parameters/D:5", params={"on": "2025-01-01"}, headers=v).json()
    assert "CN" in show["value"] and show["cite"]
    assert client.get("/v1/rules/parameters/nonsense", headers=v).status_code == 404
    t = client.get("/v1/tiers", params={"on": "2025-06-01", "posture": "codified"}, headers=v).json()
    tier = {c["country"]: c["tier"] for c in t["countries"]}
    assert t["diffusion_in_force"] and tier["CN"] == 3 and tier["IN"] == 2 and tier["DE"] == 1
    t = client.get("/v1/tiers", params={"on": "2025-06-01", "posture": "enforced"}, headers=v).json()
    assert not t["diffusion_in_force"] and all(c["tier"] is None for c in t["countries"])
    m = client.get("/v1/models", params={"limit": 3}, headers=v).json()
    assert len(m["items"]) == 3 and m["total"] > 3
    svg = client.get("/v1/charts/chips.svg", params={"on": "2025-06-01"}, headers=v)
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.lstrip().startswith("<svg")


def test_screening_routes(server):
    client, tok, _ = server
    v = h(tok["viewer"])
    assert client.get("/v1/lists", headers=v).json() == []
    assert client.get("/v1/dispositions", headers=v).json()["total"] == 0
    r = client.post("/v1/screen", json={"parties": [{"name": "Huawei", "country": "CN"}]}, headers=v)
    assert r.status_code == 404 and "lists" in r.json()["detail"]
    body = {"party": "Huawei", "entry": "x", "status": "false_positive", "reason": "x"}
    assert client.post("/v1/dispositions", json=body, headers=h(tok["analyst"])).status_code == 403
    assert client.post("/v1/dispositions", json={**body, "status": "maybe"}, headers=h(tok["officer"])).status_code == 422


def test_users_admin_only_and_tokens(server):
    client, tok, _ = server
    assert client.get("/v1/users", headers=h(tok["officer"])).status_code == 403
    r = client.post("/v1/users", json={"name": "newbie", "role": "viewer"}, headers=h(tok["officer"]))
    assert r.status_code == 403
    r = client.post("/v1/users", json={"name": "newbie", "role": "superuser"}, headers=h(tok["admin"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    r = client.post("/v1/users", json={"name": "newbie", "role": "viewer"}, headers=h(tok["admin"]))
    assert r.status_code == 201
    new = r.json()["token"]
    assert client.get("/v1/me", headers=h(new)).json() == {"name": "newbie", "role": "viewer"}
    r = client.post("/v1/users/newbie/token", headers=h(new))  # a user may renew their own
    assert r.status_code == 200 and client.get("/v1/me", headers=h(new)).status_code == 401
    assert client.post("/v1/users/ada/token", headers=h(r.json()["token"])).status_code == 403
    assert {u["name"] for u in client.get("/v1/users", headers=h(tok["admin"])).json()} >= {"ada", "newbie"}
    log = client.get("/v1/audit/log", params={"limit": 1000}, headers=h(tok["admin"])).json()
    assert any(x["kind"] == "auth-user" and x["payload"]["name"] == "newbie" and x["payload"]["by"] == "ada" for x in log)
    assert all("hash" not in str(x["payload"]).lower() or x["kind"] != "auth-user" for x in log)


def test_batch_upload_progress_results_and_rejects(server):
    client, tok, _ = server
    csv = ("id,date,from,to,chip,quantity,consignee_name,consignee_country\n"
           "B-1,2025-06-02,US,CN,H100 SXM,8,A Ltd,CN\n"
           "B-2,2025-06-02,US,DE,H100 SXM,8,B GmbH,DE\n"
           "B-3,2025-06-02,US,XX,H100 SXM,8,C,XX\n")
    files = {"file": ("book.csv", io.BytesIO(csv.encode()), "text/csv")}
    assert client.post("/v1/batch", files=files, headers=h(tok["viewer"])).status_code == 403
    files = {"file": ("book.csv", io.BytesIO(csv.encode()), "text/csv")}
    r = client.post("/v1/batch", files=files, data={"posture": "codified"}, headers=h(tok["analyst"]))
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    for _ in range(300):
        job = client.get(f"/v1/batch/{jid}", headers=h(tok["viewer"])).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["summary"]["rows_in"] == 3 and job["summary"]["decided"] == 2 and job["summary"]["rejected"] == 1
    res = client.get(f"/v1/batch/{jid}/results", headers=h(tok["viewer"]))
    assert res.status_code == 200 and "B-1" in res.text and "LICENSE_REQUIRED" in res.text
    rej = client.get(f"/v1/batch/{jid}/rejects", headers=h(tok["viewer"]))
    assert rej.status_code == 200 and "XX" in rej.text
    assert client.get("/v1/batch", headers=h(tok["viewer"])).json()["total"] == 1
    assert client.get("/v1/batch/nope", headers=h(tok["viewer"])).status_code == 404
    files = {"file": ("book.txt", io.BytesIO(b"x"), "text/plain")}
    r = client.post("/v1/batch", files=files, headers=h(tok["analyst"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


def test_a_single_check_opens_no_ledger_of_its_own(server, monkeypatch):
    """The server decides with the ledger it holds: no new ledger (database engine and
    connection) per request when nothing is recorded."""
    from aiexport.ledger import Ledger

    client, tok, _ = server
    assert client.post("/v1/check", json={"transactions": [ORDER_IN]}, headers=h(tok["viewer"])).status_code == 200
    opened = []
    real = Ledger.__init__

    def counting(self, *a, **kw):
        opened.append(a)
        real(self, *a, **kw)

    monkeypatch.setattr(Ledger, "__init__", counting)
    for order in (ORDER_IN, ORDER_CN, ORDER_IN):
        r = client.post("/v1/check", json={"transactions": [order]}, headers=h(tok["viewer"]))
        assert r.status_code == 200 and r.json()[0]["id"] == order["id"]
    assert opened == []


def test_the_memo_decision_is_the_check_answer(server):
    client, tok, _ = server
    for order in (ORDER_IN, ORDER_CN):
        for posture in ("enforced", "codified"):
            checked = client.post("/v1/check", json={"transactions": [order], "posture": posture}, headers=h(tok["viewer"]))
            memo = client.post("/v1/explain", json={"transaction": order, "posture": posture}, headers=h(tok["viewer"]))
            assert checked.status_code == memo.status_code == 200
            assert memo.json()["decision"] == checked.json()[0]
            assert memo.json()["other_posture"]["posture"] != posture


NVEU = {"id": "NVEU-VN-API", "kind": "nveu", "holder": "Saigon Compute JSC", "headquarters": "VN",
        "sites": [{"country": "VN"}], "eccns": ["3A090", "4A090"], "valid_from": "2025-01-13", "allocation_tpp": 200000}


def test_veu_authorizations_over_http(server):
    """Load (officers), list and show (viewers), revoke (officers): and /v1/check reads them from the
    server's ledger — an order stating the authorization is VEU-authorized."""
    client, tok, _ = server
    body = {"authorizations": [NVEU]}
    for role in ("viewer", "analyst"):
        assert client.post("/v1/veu", json=body, headers=h(tok[role])).status_code == 403
    r = client.post("/v1/veu", json=body, headers=h(tok["officer"]))
    assert r.status_code == 201 and r.json()["loaded"] == ["NVEU-VN-API"], r.text
    assert client.post("/v1/veu", json=body, headers=h(tok["officer"])).json()["unchanged"] == ["NVEU-VN-API"]
    bad = client.post("/v1/veu", json={"authorizations": [NVEU, NVEU]}, headers=h(tok["officer"]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "authorizations[1].id"
    bad = client.post("/v1/veu", json={"authorizations": [{**NVEU, "id": "X", "kind": "nope"}]}, headers=h(tok["officer"]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "authorizations[0].kind"
    listed = client.get("/v1/veu", headers=h(tok["viewer"])).json()
    assert [a["id"] for a in listed["items"]] == ["NVEU-VN-API"]
    assert client.get("/v1/veu/NVEU-VN-API", headers=h(tok["viewer"])).json()["kind"] == "nveu"
    assert client.get("/v1/veu/nope", headers=h(tok["viewer"])).status_code == 404
    order = {"id": "S1", "date": "2025-06-02", "from": "US", "to": "VN", "quantity": 1,
             "item": {"server": [{"chip": "H100 SXM", "count": 8}]},
             "consignee": {"name": "Saigon Compute JSC", "country": "VN"}, "facts": {"veu_authorization": "NVEU-VN-API"}}
    got = client.post("/v1/check", json={"transactions": [order]}, headers=h(tok["viewer"])).json()[0]
    assert got["license_exception"] == "VEU" and "748.15(a)(2)(iii).NVEU" in got["rules"], got
    revoke = {"on": "2025-06-02", "reason": "removed from Supp. No. 7 to Part 748"}
    assert client.post("/v1/veu/NVEU-VN-API/revoke", json=revoke, headers=h(tok["analyst"])).status_code == 403
    assert client.post("/v1/veu/NVEU-VN-API/revoke", json=revoke, headers=h(tok["officer"])).status_code == 200
    assert client.post("/v1/veu/NVEU-VN-API/revoke", json=revoke, headers=h(tok["officer"])).status_code == 409
    got = client.post("/v1/check", json={"transactions": [order]}, headers=h(tok["viewer"])).json()[0]
    assert got["outcome"] == "LICENSE_REQUIRED" and "748.15.not-valid-on-date" in got["rules"], got
