"""The drop-in search box (searchkit-ui.js) in headless Chromium, mounted as documented.

The page under test is a host page like a Hugo site's: the documented partial
(a <div>, a CSS link and a module script calling mount()) with the export in
/search/. Results, highlights, keyboard, facet counts, theming, XSS safety
and a screenshot that is not blank.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from _browser import ARTIFACTS, browser, open_page, png_pixels  # noqa: F401 (fixture)
from _webclient import cli_query, content_with_xss

from searchkit.config import Config
from searchkit.export.webserve import serving
from searchkit.export.writer import export_site
from searchkit.indexing.build import update_index

DOCS = Path(__file__).resolve().parent.parent / "docs" / "search-box.md"


def documented_partial() -> str:
    """The partial from docs/search-box.md, as a site would paste it."""
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"layouts/partials/search\.html`?:?\s*```html\n(.*?)```", text, re.S)
    assert m, "docs/search-box.md has no layouts/partials/search.html block"
    return m.group(1)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("searchbox")
    content = content_with_xss(work)
    config = Config(content=content, index=work / "index", link_posts_use_external_url=True)
    update_index(config.content, config.index)
    www = work / "public"
    export_site(config, www / "search")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Blog</title>'
        '<link rel="icon" href="data:,"></head>'
        f"<body><h1>A blog</h1>\n{documented_partial()}\n</body></html>"
    )
    (www / "index.html").write_text(page, encoding="utf-8")
    with serving(www) as url:
        yield config, url


@pytest.fixture
def page(browser, site):  # noqa: F811 (the fixture above)
    page = open_page(browser, site[1])
    page.wait_for_selector("[data-searchkit=ready]")
    page.evaluate(
        """() => { window.results = [];
        document.querySelector('[data-searchkit]').addEventListener('searchkit:results',
          (e) => window.results.push(e.detail)); }"""
    )
    yield page
    assert page.errors == []
    page.close()


BOX = "[data-searchkit] input[role=combobox]"
SITE_TAGS = (
    "import('/search/searchkit.js').then(m => m.load('/search/searchkit.json')).then(i => i.tags())"
)


def type_query(page, text: str) -> dict:
    """Fill the box and wait for the results of exactly ``text``; returns them."""
    page.fill(BOX, text)
    return wait_results(page, text)


def wait_results(page, text: str, tags: int | None = None) -> dict:
    page.wait_for_function(
        """([q, n]) => { const r = window.results.at(-1);
        const on = document.querySelectorAll('[data-searchkit] [aria-pressed=true]').length;
        return r && r.query === q && (n === null || on === n); }""",
        arg=[text, tags],
    )
    return page.evaluate("window.results.at(-1)")


def titles(page) -> list[str]:
    return [t.inner_text() for t in page.query_selector_all("[role=option] .searchkit-title")]


def chip_counts(page) -> dict[str, int]:
    chips = page.query_selector_all(".searchkit-tag")
    return {
        c.get_attribute("data-tag"): int(c.query_selector(".searchkit-count").inner_text())
        for c in chips
    }


def test_typing_shows_results_with_highlights_and_a_live_count(page, site):
    page.click(BOX)
    page.keyboard.type("gitop", delay=20)  # an unfinished word: type-ahead
    result = wait_results(page, "gitop")
    assert result["total"] > 0 and titles(page)
    assert any("gitops" in t.lower() for t in titles(page))
    marks = [m.inner_text().lower() for m in page.query_selector_all("[role=option] mark")]
    assert marks and all(m.startswith("gitop") for m in marks)
    status = page.query_selector("[data-searchkit] [role=status]")
    assert status.get_attribute("aria-live") == "polite"
    assert status.inner_text() == f"{result['total']} results"
    # A finished word ranks like the CLI.
    type_query(page, "service mesh ")
    want = cli_query(site[0], "service", "mesh")
    assert titles(page) == [h["title"] for h in want["hits"]]
    type_query(page, "zzqqxx ")
    assert status.inner_text() == "No results" and titles(page) == []


def test_combobox_markup(page):
    box = page.query_selector(BOX)
    listbox_id = box.get_attribute("aria-controls")
    listbox = page.query_selector(f"#{listbox_id}")
    assert listbox.get_attribute("role") == "listbox"
    assert box.get_attribute("aria-expanded") == "false"
    label = page.query_selector(f"label[for={box.get_attribute('id')}]")
    assert label is not None and label.inner_text() == "Search"
    assert page.query_selector(f"#{box.get_attribute('aria-describedby')}") is not None
    type_query(page, "gitops ")
    assert box.get_attribute("aria-expanded") == "true"
    options = listbox.query_selector_all(":scope > li")
    assert options and all(o.get_attribute("role") == "option" for o in options)
    assert page.query_selector("[role=group][aria-label='Filter by tag'] button[aria-pressed]")


def test_arrow_keys_move_the_active_option_and_enter_follows_its_link(page):
    type_query(page, "gitops ")
    box = page.query_selector(BOX)
    ids = [o.get_attribute("id") for o in page.query_selector_all("[role=option]")]
    assert len(ids) >= 3

    def active() -> tuple[str | None, list[str]]:
        selected = [o.get_attribute("id") for o in page.query_selector_all("[aria-selected=true]")]
        return box.get_attribute("aria-activedescendant"), selected

    assert active() == (None, [])
    page.press(BOX, "ArrowDown")
    assert active() == (ids[0], [ids[0]])
    page.press(BOX, "ArrowDown")
    page.press(BOX, "ArrowDown")
    assert active() == (ids[2], [ids[2]])
    page.press(BOX, "ArrowUp")
    assert active() == (ids[1], [ids[1]])
    page.press(BOX, "ArrowUp")
    page.press(BOX, "ArrowUp")  # wraps to the last
    assert active() == (ids[-1], [ids[-1]])
    page.press(BOX, "Escape")  # first Escape: no active option, text kept
    assert active() == (None, []) and box.input_value() == "gitops "
    page.press(BOX, "ArrowDown")
    page.press(BOX, "ArrowDown")
    link = page.eval_on_selector(f"#{ids[1]} a", "a => a.href")
    assert link.startswith(("http://", "https://"))
    # Link posts point elsewhere (link_posts_use_external_url): answer for that site.
    page.route("**/*", lambda route: route.fulfill(body="a post", content_type="text/html"))
    with page.expect_navigation():
        page.press(BOX, "Enter")
    assert page.url == link


def test_more_results_adds_a_page(page, site):
    first = type_query(page, "cluster ")
    assert first["total"] > 10 and len(titles(page)) == 10
    seen = page.evaluate("window.results.length")
    page.click(".searchkit-more")
    page.wait_for_function("n => window.results.length > n", arg=seen)
    want = cli_query(site[0], "cluster", "-n", "20")
    assert titles(page) == [h["title"] for h in want["hits"]]
    assert page.is_visible(".searchkit-more") == (first["total"] > 20)


def test_escape_twice_clears_the_box(page):
    type_query(page, "gitops ")
    page.press(BOX, "Escape")
    wait_results(page, "")
    assert page.input_value(BOX) == "" and titles(page) == []


def test_tag_and_year_filters_narrow_the_results_and_counts_follow_the_query(page, site):
    config = site[0]
    at_rest = chip_counts(page)  # no query: the whole site's counts
    result = type_query(page, "gitops ")
    counts = chip_counts(page)
    want = cli_query(config, "gitops", "--facets")
    # Each tag's count is the number of posts matching the query with that tag (the CLI's facets).
    assert counts == dict(list(want["facets"]["tags"].items())[:12])
    site_counts = {t["tag"]: t["count"] for t in page.evaluate(SITE_TAGS)}
    assert at_rest == {t: site_counts[t] for t in at_rest} and len(at_rest) == 12
    assert any(counts[t] < site_counts[t] for t in counts)
    # Choosing a tag narrows the results to its count; the other counts follow.
    page.click(".searchkit-tag[data-tag=flux]")
    narrowed = wait_results(page, "gitops ", tags=1)
    assert narrowed["total"] == counts["flux"] < result["total"]
    assert all("flux" in [t.lower() for t in h["tags"]] for h in narrowed["hits"])
    assert page.get_attribute(".searchkit-tag[data-tag=flux]", "aria-pressed") == "true"
    want = cli_query(config, "gitops", "--tag", "flux", "--facets")
    assert chip_counts(page) == want["facets"]["tags"]
    assert page.evaluate("document.activeElement.dataset.tag") == "flux"  # focus kept
    # Years: counts of the posts matching the words and tags, each checked against the CLI.
    options = page.eval_on_selector_all(
        ".searchkit-year option", "os => os.map(o => [o.value, o.textContent])"
    )
    assert options[0] == ["", "Any year"] and len(options) > 1
    for year, label in options[1:]:
        n = cli_query(config, "gitops", "--tag", "flux", "--since", year, "--until", year)["total"]
        assert label == f"{year} ({n})"
    year, label = options[1]
    seen = page.evaluate("window.results.length")
    page.select_option(".searchkit-year", year)
    page.wait_for_function("n => window.results.length > n", arg=seen)
    dated = page.evaluate("window.results.at(-1)")
    assert dated["hits"] and all(h["date"].startswith(year) for h in dated["hits"])
    assert f"{year} ({dated['total']})" == label
    # The year menu still offers the other years (their counts ignore the year chosen).
    assert page.eval_on_selector_all(".searchkit-year option", "os => os.length") == len(options)


def test_theming_with_a_custom_property_changes_the_computed_style(page):
    type_query(page, "gitops ")
    color = "getComputedStyle(document.querySelector('a.searchkit-title')).color"
    assert page.evaluate(color) == "rgb(36, 87, 197)"  # the default accent
    page.add_style_tag(content=":root { --searchkit-accent: rgb(200, 30, 90); }")
    assert page.evaluate(color) == "rgb(200, 30, 90)"
    page.add_style_tag(content="#search { --searchkit-radius: 0px; --searchkit-font: 20px serif; }")
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('.searchkit-input'));"
        " return [s.borderTopLeftRadius, s.fontSize]; }"
    )
    assert style == ["0px", "20px"]


def test_post_fields_stay_text(page):
    type_query(page, "xss ")
    assert len(page.query_selector_all("[role=option]")) == 3
    box = page.query_selector("[role=listbox]")
    elements = set(
        page.evaluate("[...document.querySelectorAll('[role=listbox] *')].map(e => e.tagName)")
    )
    assert elements <= {"LI", "A", "SPAN", "DIV", "P", "MARK"}
    text = box.inner_text()
    assert '<script>alert("title")</script> XSS title' in text
    assert "<img src=x onerror=" in text and '<script>alert("tag")</script>' in text
    # The javascript: and data: URLs were not made links at all.
    assert page.query_selector_all("[role=listbox] a") == []
    # Tag buttons show tags as text too.
    chips = [c.inner_text() for c in page.query_selector_all(".searchkit-tag")]
    assert any("<b onmouseover=alert(1)>tag</b>" in c for c in chips)
    for el in page.query_selector_all("[role=listbox] *, .searchkit-tag"):
        el.hover()
    page.press(BOX, "ArrowDown")
    page.press(BOX, "Enter")  # no link: nothing happens
    page.wait_for_timeout(200)
    assert page.dialogs == []
    assert (
        page.evaluate(
            "document.querySelectorAll('img, svg, iframe, script:not([type=module])').length"
        )
        == 0
    )


def test_screenshot_is_not_blank(page):
    type_query(page, "kubernetes ")
    ARTIFACTS.mkdir(exist_ok=True)
    png = page.screenshot(path=str(ARTIFACTS / "search-box.png"))
    width, height, pixels = png_pixels(png)
    colours = Counter(pixels)
    background, n = colours.most_common(1)[0]
    ink = 1 - n / len(pixels)
    # Measured on this page: 839 colours (anti-aliased text, the accent, the
    # highlight) and 6.7 % of the pixels not background; a blank page has one
    # colour and none.
    assert len(colours) > 50, "the page looks blank"
    assert ink > 0.03, f"only {ink:.1%} of the page is not background"
    # The highlight colour (yellow-ish: red and green well above blue) is on screen.
    assert any(r > 200 and g > 180 and b < 170 for r, g, b in colours)
