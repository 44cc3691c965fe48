"""The report in a real headless browser (slow suite): the page renders, every figure loads, and
the console stays free of errors. Needs Chromium (Debian: apt-get install chromium) and the
``browser`` extra (playwright, which drives that Chromium; it downloads no browser of its own)."""

import shutil

import pytest

from tests.test_report import test_report_from_a_tiny_run as _build

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_headless_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        pytest.fail("the browser test needs Chromium: apt-get install chromium")
    _build(tmp_path)
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((tmp_path / "report.html").as_uri())
        page.wait_for_load_state("load")
        assert page.title() == "nct report"
        sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
        assert len(sizes) == 3 and all(done and width > 100 for done, width in sizes)
        assert page.locator("table").count() >= 3 and page.locator("strong.disagrees").count() == 1
        browser.close()
    assert errors == []
