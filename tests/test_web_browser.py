"""The demo page (`export --demo`) in headless Chromium: search as you type, parity, keyboard,
XSS safety under its Content-Security-Policy. The page mounts the drop-in search box
(searchkit-ui.js, tested on its own in tests/test_search_box.py); browser setup in _browser.py.
"""

from __future__ import annotations

import pytest
from _browser import ARTIFACTS, browser, open_page  # noqa: F401 (fixture)
from _webclient import build_export, cli_query, content_with_xss, export_paths, top

from searchkit.export.webserve import serving


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    content = content_with_xss(work)
    config, out = build_export(content, work, demo=True, link_posts_use_external_url=True)
    with serving(out) as url:
        yield config, url, export_paths(config)


@pytest.fixture
def page(browser, site):  # noqa: F811 (the fixture above)
    page = open_page(browser, site[1] + "index.html")
    page.wait_for_selector("[data-searchkit=ready]")
    yield page
    assert page.errors == []
    page.close()


BOX = "#search input[role=combobox]"


def results(page) -> list[str]:
    return [t.inner_text() for t in page.query_selector_all(".searchkit-hit .searchkit-title")]


def type_query(page, text: str) -> None:
    page.fill(BOX, text)
    page.wait_for_function(
        "q => window.searchkitDemo.last && window.searchkitDemo.last.query === q", arg=text
    )


def test_results_appear_as_you_type_with_count_and_time(page):
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"
    page.keyboard.type("autoscal", delay=20)  # an unfinished word: type-ahead
    page.wait_for_function(
        "window.searchkitDemo.last && window.searchkitDemo.last.query === 'autoscal'"
    )
    titles = results(page)
    assert titles and any("autoscal" in t.lower() for t in titles)
    status = page.inner_text("#search [role=status]")
    assert status == f"{page.evaluate('window.searchkitDemo.last.total')} results"
    assert page.query_selector(".searchkit-hit mark") is not None
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
    page.press(BOX, "ArrowDown")
    page.press(BOX, "ArrowDown")
    selected = page.query_selector_all(".searchkit-hit[aria-selected=true]")
    second = page.query_selector_all(".searchkit-hit")[1].get_attribute("id")
    assert len(selected) == 1 and selected[0].get_attribute("id") == second
    assert page.get_attribute(BOX, "aria-activedescendant") == second
    chip = page.query_selector(".searchkit-tag[data-tag=flux]")
    chip.click()
    page.wait_for_function(
        "window.searchkitDemo.last.hits"
        ".every(h => h.tags.map(t => t.toLowerCase()).includes('flux'))"
    )
    assert page.get_attribute(".searchkit-tag[data-tag=flux]", "aria-pressed") == "true"
    hits = page.evaluate("window.searchkitDemo.last.hits")
    assert hits and all("flux" in [t.lower() for t in h["tags"]] for h in hits)
    help_id = page.get_attribute(BOX, "aria-describedby")
    assert "Arrow keys" in page.evaluate("id => document.getElementById(id).textContent", help_id)
    assert page.query_selector(f"label[for={page.get_attribute(BOX, 'id')}]") is not None


def test_query_in_the_address_fills_the_box(browser, site):  # noqa: F811
    page = open_page(browser, site[1] + "index.html?q=service+mesh+")
    page.wait_for_function("window.searchkitDemo.last && window.searchkitDemo.last.query")
    assert page.input_value(BOX) == "service mesh "
    assert results(page) == [h["title"] for h in cli_query(site[0], "service", "mesh")["hits"]]
    assert page.errors == []
    page.close()


def test_post_fields_never_run_as_script(page):
    type_query(page, "xss ")
    hits = page.query_selector_all(".searchkit-hit")
    assert len(hits) == 3
    box = page.query_selector("#search [role=listbox]")
    # Markup from posts is shown as text; nothing but our own elements exists.
    tags = set(
        page.evaluate(
            "[...document.querySelectorAll('#search [role=listbox] *')].map(e => e.tagName)"
        )
    )
    assert tags <= {"LI", "A", "SPAN", "DIV", "P", "MARK"}
    text = box.inner_text()
    assert '<script>alert("title")</script> XSS title' in text
    assert "<img src=x onerror=" in text and '<script>alert("tag")</script>' in text
    hrefs = page.evaluate(
        "[...document.querySelectorAll('#search [role=listbox] a')].map(a => a.href)"
    )
    assert all(h.startswith("http://127.0.0.1") for h in hrefs)
    # The javascript: and data: URLs were not made links at all.
    assert len(hrefs) == 0
    # Hover and click everything, then check no script ran.
    for el in page.query_selector_all("#search [role=listbox] *"):
        el.hover()
    page.wait_for_timeout(200)
    assert page.dialogs == []
    assert page.evaluate("document.querySelectorAll('script').length") == 1
    csp = page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content")
    assert "script-src 'self'" in csp and "unsafe" not in csp
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-xss.png"), full_page=True)
