"""The demo page in headless Chromium: search as you type, parity, keyboard, XSS safety.

Needs Debian's Chromium at /usr/bin/chromium and the `playwright` Python
package (never its downloaded browsers). Outside CI the tests skip with a
message when either is missing; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _webclient import CONTENT, build_export, cli_query, export_paths, top

from searchkit.export import webserve
from searchkit.export.webserve import serving

CHROMIUM = Path(webserve.CHROMIUM)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
XSS = Path(__file__).resolve().parent / "fixtures" / "xss"


def _missing() -> str:
    if not CHROMIUM.is_file():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return ""


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=webserve.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    content = work / "content"
    shutil.copytree(CONTENT, content)
    shutil.copytree(XSS, content / "xss")
    config, out = build_export(content, work, demo=True, link_posts_use_external_url=True)
    with serving(out) as url:
        yield config, url, export_paths(config)


@pytest.fixture
def page(browser, site):
    # The page's Content-Security-Policy would also stop injected script; it is
    # bypassed here so the tests prove the DOM code safe on its own (and so
    # Playwright can evaluate its wait conditions).
    page = browser.new_page(bypass_csp=True)
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(site[1] + "index.html")
    page.wait_for_selector("html[data-ready=true]")
    yield page
    assert page.errors == []
    page.close()


def results(page) -> list[str]:
    return [t.inner_text() for t in page.query_selector_all(".sk-hit .sk-title")]


def type_query(page, text: str) -> None:
    page.fill("#sk-q", text)
    page.wait_for_function(
        "q => window.searchkitDemo.last && window.searchkitDemo.last.query === q", arg=text
    )


def test_results_appear_as_you_type_with_count_and_time(page):
    page.click("#sk-q")
    page.keyboard.type("autoscal", delay=20)  # an unfinished word: type-ahead
    page.wait_for_function(
        "window.searchkitDemo.last && window.searchkitDemo.last.query === 'autoscal'"
    )
    titles = results(page)
    assert titles and any("autoscal" in t.lower() for t in titles)
    status = page.inner_text("#sk-status")
    assert "result" in status and "ms" in status
    assert page.query_selector(".sk-hit mark") is not None
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-search.png"), full_page=True)


def test_the_browser_ranks_like_the_cli(page, site):
    config, _, paths = site
    queries = ["gitops", "kubernetes autoscaling", "service mesh", "café dashboards", "helm chart"]
    for q in queries:
        got = page.evaluate(
            "q => window.searchkitDemo.index.search(q, {prefix: false, typo: false})", q
        )
        want = cli_query(config, *q.split())
        assert want["hits"] and top(got, paths) == top(want), q
    # What the page shows for a finished word (trailing space) is that ranking.
    type_query(page, "service mesh ")
    want = cli_query(config, "service", "mesh")
    assert results(page) == [h["title"] for h in want["hits"]]


def test_keyboard_navigation_and_tag_chips(page):
    type_query(page, "gitops ")
    page.press("#sk-q", "ArrowDown")
    page.press("#sk-q", "ArrowDown")
    selected = page.query_selector_all(".sk-hit[aria-selected=true]")
    assert len(selected) == 1 and selected[0].get_attribute("id") == "sk-hit-1"
    assert page.get_attribute("#sk-q", "aria-activedescendant") == "sk-hit-1"
    chip = page.query_selector(".sk-tag[data-tag=flux]")
    chip.click()
    assert chip.get_attribute("aria-pressed") == "true"
    page.wait_for_function("window.searchkitDemo.tags.size === 1 && window.searchkitDemo.last")
    page.wait_for_timeout(300)
    hits = page.evaluate("window.searchkitDemo.last.hits")
    assert hits and all("flux" in [t.lower() for t in h["tags"]] for h in hits)
    assert page.get_attribute("#sk-q", "aria-describedby") == "sk-help"
    assert page.query_selector("label[for=sk-q]") is not None


def test_post_fields_never_run_as_script(page):
    type_query(page, "xss ")
    hits = page.query_selector_all(".sk-hit")
    assert len(hits) == 3
    box = page.query_selector("#sk-results")
    # Markup from posts is shown as text; nothing but our own elements exists.
    tags = set(page.evaluate("[...document.querySelectorAll('#sk-results *')].map(e => e.tagName)"))
    assert tags <= {"LI", "A", "SPAN", "DIV", "P", "MARK"}
    text = box.inner_text()
    assert '<script>alert("title")</script> XSS title' in text
    assert "<img src=x onerror=" in text and '<script>alert("tag")</script>' in text
    hrefs = page.evaluate("[...document.querySelectorAll('#sk-results a')].map(a => a.href)")
    assert all(h.startswith("http://127.0.0.1") for h in hrefs)
    # The javascript: and data: URLs were not made links at all.
    assert len(hrefs) == 0
    # Hover and click everything, then check no script ran.
    for el in page.query_selector_all("#sk-results *"):
        el.hover()
    page.wait_for_timeout(200)
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    csp = page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content")
    assert "script-src 'self'" in csp and "unsafe" not in csp
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-xss.png"), full_page=True)
