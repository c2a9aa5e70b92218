"""The web workspace in a real browser (Chromium via Playwright)."""

from __future__ import annotations

import csv
import io

import pytest

from .conftest import shot

pytestmark = pytest.mark.browser


def test_login_refuses_a_wrong_password_and_accepts_the_right_one(browser, live, login):
    base, _ = live
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base + "/holds")
    assert page.url.endswith("/login")  # nothing without a session
    page.get_by_label("User name").fill("otto")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert "wrong password" in page.get_by_role("alert").inner_text()
    shot(page, "login")
    ctx.close()
    page = login("otto")
    assert page.locator("#who").inner_text() == "otto"


def test_check_an_order_and_read_its_memo_with_the_other_posture(live, login):
    base, _ = live
    page = login("vera")
    page.get_by_role("link", name="Check", exact=True).click()
    page.get_by_label("To (ISO code)").fill("CN")
    page.get_by_label("Consignee", exact=True).fill("Example Beijing Ltd")
    page.get_by_label("Posture").select_option("codified")
    page.get_by_role("button", name="Check and explain").click()
    page.locator("#memo-body").wait_for()
    assert page.locator("#outcome").inner_text() == "LICENSE_REQUIRED"
    assert page.locator("#other-outcome").inner_text() == "LICENSE_REQUIRED"
    memo = page.locator("#memo-body").inner_text()
    assert "3A090.a.1" in memo and "enforced posture" in memo and "Determining rules" in memo
    shot(page, "check-memo")
    # the same order to India: the postures differ (Diffusion codified, not enforced)
    page.get_by_label("To (ISO code)").fill("IN")
    page.get_by_label("Quantity").fill("2000")
    page.get_by_role("button", name="Check and explain").click()
    page.wait_for_function("document.querySelector('#outcome') && document.querySelector('#memo-body').innerText.includes('IN')")
    assert page.locator("#other-outcome").inner_text() != "" and "codified" in page.locator("#memo-body").inner_text()


def test_bad_order_input_is_shown_with_its_field(live, login):
    page = login("vera")
    page.goto(live[0] + "/check")
    page.get_by_label("To (ISO code)").fill("ZZ")
    page.get_by_role("button", name="Check and explain").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "to" in alert.inner_text() and "ZZ" in alert.inner_text()


def test_upload_an_order_book_follow_it_and_download_the_result(live, login, tmp_path):
    base, _ = live
    book = tmp_path / "book.csv"
    book.write_text("id,date,from,to,chip,quantity,consignee_name,consignee_country\n"
                    "B-1,2025-06-02,US,CN,H100 SXM,8,A Ltd,CN\n"
                    "B-2,2025-06-02,US,DE,H100 SXM,8,B GmbH,DE\n"
                    "B-3,2025-06-02,US,XX,H100 SXM,8,C,XX\n")
    page = login("anna")
    page.goto(base + "/batch")
    page.get_by_label("Order book").set_input_files(str(book))
    page.get_by_role("button", name="Upload and decide").click()
    page.wait_for_url("**/batch/*")
    page.wait_for_function("document.querySelector('#job-status').innerText === 'done'", timeout=60_000)
    assert "decided 2 + rejected 1" in page.locator("#job").inner_text()
    page.get_by_label("Outcome").select_option("LICENSE_REQUIRED")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("document.querySelector('#results caption').innerText.startsWith('1 matching')")
    assert "B-1" in page.locator("#results").inner_text()
    shot(page, "batch")
    with page.expect_download() as dl:
        page.locator("#download-results").click()
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    assert {r["id"] for r in rows} == {"B-1", "B-2"}
    with page.expect_download() as dl:
        page.locator("#download-rejects").click()
    assert "XX" in open(dl.value.path()).read()


def test_a_viewer_cannot_release_a_hold_an_officer_can(live, login):
    base, _ = live
    page = login("vera")
    page.goto(base + "/holds")
    row = page.locator("tr", has_text="WEB-CN-2")
    hid = row.get_attribute("id").removeprefix("hold-")
    page.get_by_label("Reason", exact=True).and_(page.locator(f"#reason-{hid}")).fill("licence D1")
    page.locator(f"#act-{hid} button", has_text="Release").click()
    alert = page.locator(f"#act-{hid} [role=alert]")
    alert.wait_for()
    assert "officer" in alert.inner_text()
    page.goto(base + "/holds")
    assert "open" in page.locator(f"#hold-{hid}").inner_text()

    page = login("otto")
    page.goto(base + "/holds")
    shot(page, "holds")
    page.locator(f"#reason-{hid}").fill("licence D123456 granted")
    page.locator(f"#act-{hid} button", has_text="Release").click()
    page.locator(f"#act-{hid} [role=status]").wait_for()
    assert "released by otto" in page.locator(f"#act-{hid}").inner_text()
    page.goto(base + "/holds?status=released")
    assert "released by otto" in page.locator(f"#hold-{hid}").inner_text()


def test_charts_render(live, login):
    base, _ = live
    page = login("vera")
    page.goto(base + "/chart?on=2024-06-01&posture=enforced")
    svg = page.locator("#scatter svg")
    svg.wait_for()
    box = svg.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    assert page.locator("#scatter svg circle").count() > 20  # the catalog's chips
    shot(page, "chart")
    page.goto(base + "/ledger")
    bd = page.locator("#burn-down svg")
    assert bd.bounding_box()["width"] > 300 and page.locator("#burn-down svg path").count() >= 1
    assert "intact" in page.get_by_role("status").first.inner_text()
    shot(page, "ledger")


def test_rules_tiers_classify_pages(live, login):
    base, _ = live
    page = login("vera")
    page.goto(base + "/rules?d1=2023-01-01&d2=2024-01-01&posture=enforced")
    assert page.locator("#diff tbody tr").count() >= 1
    shot(page, "rules")
    page.goto(base + "/tiers?on=2025-06-01&posture=codified")
    cells = page.locator("#tiers tr:has(td:text-is('CN')) td").all_inner_texts()
    assert cells[2] == "3" and "D:5" in cells[3]
    assert page.locator("#tiers tr:has(td:text-is('IN')) td").all_inner_texts()[2] == "2"
    assert page.locator("#tiers tr:has(td:text-is('DE')) td").all_inner_texts()[2] == "1"
    page.goto(base + "/classify")
    page.get_by_label("TPP").fill("4800")
    page.get_by_label("Die area (mm²)").fill("800")
    page.get_by_role("button", name="Classify specs").click()
    page.locator("#result h2").wait_for()
    assert "3A090.a.1" in page.locator("#result").inner_text()
    shot(page, "classify")
    page.goto(base + "/")
    page.keyboard.press("Tab")  # keyboard: the skip link is the first stop
    assert page.evaluate("document.activeElement.className") == "skip"


def test_screening_explains_a_match_and_an_officer_records_a_disposition(live, login):
    base, _ = live
    page = login("vera")
    page.goto(base + "/screening")
    if "No restricted-party list" in page.locator("main").inner_text():
        pytest.skip("the screening fixture list is absent")
    page.get_by_label("Party name").fill("Huawei Technologies Dusseldorf")
    page.get_by_label("Country (ISO code)").fill("DE")
    page.get_by_role("button", name="Screen").click()
    page.locator(".match").first.wait_for()
    text = page.locator("#screen-result").inner_text()
    assert "t-hw-dus" in text and "tokens agreed" in text and "decisive feature" in text
    assert page.get_by_role("button", name="Record disposition").count() == 0  # a viewer cannot dispose
    page = login("otto")
    page.goto(base + "/screening")
    page.get_by_label("Party name").fill("Huawei Technologies Dusseldorf")
    page.get_by_label("Country (ISO code)").fill("DE")
    page.get_by_role("button", name="Screen").click()
    page.locator(".match").first.wait_for()
    shot(page, "screening")
    page.get_by_label("Disposition").first.select_option("confirmed")
    page.get_by_label("Reason").first.fill("same entity, address matches")
    page.get_by_role("button", name="Record disposition").first.click()
    page.get_by_text("Recorded: confirmed").wait_for()
    page.goto(base + "/screening")
    assert "same entity, address matches" in page.locator("main table").inner_text()
