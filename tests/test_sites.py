"""Real sites as their owners keep them: Hugo and Jekyll configuration, .html posts,
text instead of markup, publishing rules (issue 12)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture, run_cli

from searchkit.site.posts import load_posts
from searchkit.site.siteconfig import discover_site, open_site, tags_taxonomy
from searchkit.site.text import (
    excerpt_text,
    html_text,
    inline_text,
    markdown_text,
    strip_templates,
)
from searchkit.site.urls import post_url
from searchkit.tagging.apply import plan_change


@pytest.fixture
def hugo(tmp_path: Path) -> Path:
    return copy_fixture("hugo-site", tmp_path / "hugo-site")


@pytest.fixture
def jekyll(tmp_path: Path) -> Path:
    return copy_fixture("jekyll-site", tmp_path / "jekyll-site")


def posts_of(content, drafts: bool = True) -> dict:
    result = load_posts(content, drafts=drafts)
    assert not result.errors, result.errors
    return {p.id: p for p in result.posts}


def query(cwd: Path, *args: str) -> dict:
    result = run_cli("query", *args, "--json", cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


# --- configuration discovery -------------------------------------------------


def test_hugo_site_is_read_with_its_configuration(hugo):
    result = run_cli("index", cwd=hugo)
    assert result.exit_code == 0, result.output
    assert "Hugo configuration config.yaml" in result.stderr
    assert "taxonomy 'tag'" in result.stderr and "language en" in result.stderr
    # The .org file is named, not dropped silently; the section page is no post.
    assert "skipped 1 .org file" in result.stdout
    assert "indexed 8," in result.stdout


@pytest.mark.parametrize(
    "files",
    [
        {"hugo.toml": "[taxonomies]\ntag = 'tag'\n"},
        {"config.json": '{"Taxonomies": {"tag": "tag"}}'},
        {"config.toml": "[Taxonomies]\nTag = 'tag'\n"},  # Hugo's keys are case-insensitive
        {
            "config/_default/hugo.yaml": "title: x\n",
            "config/_default/taxonomies.yaml": "tag: tag\n",
        },
    ],
    ids=["hugo.toml", "config.json", "config.toml-mixed-case", "config-_default"],
)
def test_every_hugo_config_location_is_found(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "content").mkdir()
    site = discover_site(tmp_path / "content")
    assert site.generator == "hugo"
    assert site.rules.tag_keys == ("tag",)


def test_content_dir_comes_from_the_hugo_config(tmp_path):
    shutil.copytree(FIXTURES / "hugo-site" / "content", tmp_path / "src" / "pages")
    (tmp_path / "hugo.toml").write_text("contentDir = 'src/pages'\n[taxonomies]\ntag = 'tag'\n")
    data = query(tmp_path, "canary")
    assert [h["path"] for h in data["hits"]] == ["posts/shortcodes.md"]


def test_a_bare_folder_reads_as_before(site):
    s = open_site(site)
    assert s.generator == "" and s.rules.tag_keys == ("tags",)
    assert posts_of(site)["posts/toml-post.md"].tags == ["helm", "kubernetes"]


def test_a_bare_jekyll_posts_folder_keeps_working(tmp_path):
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2020-01-01-a.md").write_text("---\ntitle: A\ntags: [x, y]\n---\nBody.\n")
    assert posts_of(posts)["2020-01-01-a.md"].tags == ["x", "y"]


def test_a_broken_site_config_is_a_one_line_error(hugo):
    (hugo / "config.yaml").write_text("taxonomies: [unclosed\n")
    result = run_cli("index", cwd=hugo)
    assert result.exit_code == 2
    assert "config.yaml: cannot read the site configuration" in result.stderr


# --- taxonomy and field names ---------------------------------------------------


@pytest.mark.parametrize(
    ("taxonomies", "key"),
    [
        ({"tag": "tags", "category": "categories"}, "tags"),  # Hugo's default
        ({"tag": "tag", "category": "categories"}, "tag"),  # digitalgov, rubenerd
        ({"Tag": "Tag"}, "tag"),
        ({"tag": "keywords", "tags": "tags"}, "tags"),  # the `tags` taxonomy wins
        ({"tag": "keywords"}, "keywords"),  # else the `tag` one, by its key
        ({"category": "categories"}, ""),  # none: searchkit's default key stays
    ],
)
def test_tags_come_from_the_sites_taxonomy(taxonomies, key):
    assert tags_taxonomy(taxonomies) == key


def test_tags_are_read_from_the_taxonomy_key(hugo):
    posts = posts_of(hugo / "content")
    assert posts["posts/shortcodes.md"].tags == ["deployment", "Feature Flags"]
    assert posts["notes/tags-key.md"].tags == ["notes"]  # `tags:` is not this site's taxonomy
    facets = query(hugo, "--facets")["facets"]["tags"]
    assert facets == {"deployment": 1, "feature flags": 1, "migration": 1, "notes": 1, "wiki": 1}


def test_searchkit_toml_maps_fields_to_the_sites_keys(hugo):
    posts = posts_of(hugo / "content")
    assert (
        posts["posts/shortcodes.md"].summary == "How we ship small changes safely."
    )  # description
    assert posts["posts/shortcodes.md"].tldr == ""
    (hugo / "searchkit.toml").write_text(
        '[fields]\nsummary = ["summary", "description", "abstract"]\ntldr = ["tldr", "deck"]\n'
        'tags = "categories"\n'
    )
    data = query(hugo, "weekend")
    assert [h["path"] for h in data["hits"]] == ["posts/legacy.html"]
    assert data["hits"][0]["snippet"].startswith("A weekend of rsync")
    assert data["hits"][0]["tags"] == []  # tags now come from `categories`
    assert query(hugo, "canary", "first")["hits"][0]["path"] == "posts/shortcodes.md"


def test_changing_the_site_configuration_reindexes(hugo):
    assert query(hugo, "weekend")["total"] == 0
    (hugo / "searchkit.toml").write_text('[fields]\nsummary = "abstract"\n')
    result = run_cli("query", "weekend", "--json", cwd=hugo)
    assert "the site's configuration" in result.stderr
    assert json.loads(result.stdout)["total"] == 1


def test_an_unknown_field_is_a_config_error(hugo):
    (hugo / "searchkit.toml").write_text('[fields]\nsumary = "abstract"\n')
    result = run_cli("index", cwd=hugo)
    assert result.exit_code == 2
    assert "unknown field 'sumary'" in result.stderr


def test_urls_follow_the_sites_base_url_and_permalinks(hugo):
    site = open_site(hugo / "content")
    s = site.settings
    post = posts_of(site)["posts/shortcodes.md"]
    url = post_url(post, base_url=s.base_url, permalinks=s.permalinks)
    assert url == "https://example.org/blog/2024/02/rollouts-with-canaries-flags/"
    note = posts_of(site)["notes/tags-key.md"]
    assert post_url(note, base_url=s.base_url, permalinks=s.permalinks) == (
        "https://example.org/blog/notes/tags-key/"
    )


def test_tags_apply_writes_to_the_sites_key(hugo):
    content = hugo / "content"
    change = plan_change(content / "posts/shortcodes.md", open_site(content), ["canary"])
    after = change.after.decode()
    assert "  - canary\n" in after and "tags:" not in after
    unlisted = plan_change(content / "posts/legacy.html", open_site(content), ["rsync"])
    assert "- rsync\n" in unlisted.after.decode()


# --- every content file, as text ---------------------------------------------------


def test_html_posts_are_read_as_text(hugo):
    post = posts_of(hugo / "content")["posts/legacy.html"]
    assert post.title == "Moving the wiki off the old server"
    assert post.date == dt.datetime(2012, 10, 27, 17, 45, 38, tzinfo=dt.UTC)
    assert "The old rack We moved the wiki's pages with rsync." in post.body
    assert 'Only the "recent changes" page.' in post.body
    assert "analytics" not in post.body and "<" not in post.body


def test_shortcodes_are_removed_keeping_their_text(hugo):
    body = posts_of(hugo / "content")["posts/shortcodes.md"].body
    assert "{{" not in body and "src" not in body and "canary.png" not in body
    assert "A yellow canary" in body  # the shortcode's alt text
    assert "We ship behind a feature flag" in body  # inner text of a paired shortcode
    assert 'if flags.Enabled("rollout") { serve() }' in body  # code kept as words


def test_markdown_and_html_become_text_with_entities_decoded(hugo):
    post = posts_of(hugo / "content")["posts/shortcodes.md"]
    assert post.title == "Rollouts with \u201ccanaries\u201d & flags"
    assert "watch the error budget before the rest" in " ".join(post.body.split())
    assert "https://example.org" not in post.body and "](" not in post.body
    assert "Dashboard of rollout errors" in post.body  # an image's alt text
    assert "Latency < 200\u00a0ms" in post.body or "Latency < 200 ms" in post.body
    assert "<td" not in post.body and "&" not in post.body


def test_snippets_show_text_not_markup(hugo):
    for words in (["latency"], ["canary"], ["rsync"], ["budget"]):
        for hit in query(hugo, *words)["hits"]:
            for text in (hit["title"], hit["snippet"]):
                assert not any(m in text for m in ("{{<", "{%", "](http", "<td", "&#", "&amp;"))
    assert query(hugo, "src")["total"] == 0


def test_liquid_is_removed_in_jekyll_posts(jekyll):
    posts = posts_of(jekyll / "_posts")
    post = posts["2023-04-01-liquid.md"]
    assert "{%" not in post.body and "site.title" not in post.body and "include" not in post.body
    assert "Rendered for readers." in " ".join(post.body.split())
    assert "- hosts: web" in post.body
    assert "Ansible writes {{ variable }} too." in post.body  # {% raw %} keeps its text
    assert "secret" not in post.body  # {% comment %} drops its text
    assert post.tags == ["ansible", "yaml"]  # Jekyll splits a tags string on spaces


def test_text_helpers_keep_literal_text():
    assert markdown_text("Use `a < b` and 5 < 6 &amp; 1") == "Use a < b and 5 < 6 & 1"
    assert markdown_text("<p>a</p>\n\nx <b>y</b> 3 < 4") == "a\n\nx y 3 < 4"
    assert html_text("<style>p{}</style><p>caf&eacute;</p>") == "café"
    assert inline_text("<em>Big</em> &amp; small {{< x >}}") == "Big & small"
    assert strip_templates("a {{</* figure */>}} b", liquid=False) == "a   b"
    # A summary cut at N characters leaves a shortcode, a link or a tag open.
    assert excerpt_text("Read the [guide](https://ex.org/gu") == "Read the guide"
    assert excerpt_text("Done.  {{< legacy-img") == "Done."
    assert excerpt_text("Done. <a href='x") == "Done."


# --- publishing rules -------------------------------------------------------------


def test_posts_hugo_would_not_publish_are_drafts(hugo):
    posts = posts_of(hugo / "content")
    unpublished = {pid for pid, p in posts.items() if p.draft}
    assert unpublished == {
        "posts/draft.md",
        "posts/future.md",
        "posts/expired.md",
        "posts/unlisted.md",
        "notes/headless-bundle/index.md",
    }
    assert query(hugo, "rollout")["total"] == 1  # shortcodes.md only
    assert query(hugo, "rollout", "--drafts")["total"] == 6  # the flag includes them


def test_build_future_publishes_future_posts(hugo):
    (hugo / "config.yaml").write_text("buildFuture: true\nbuildDrafts: true\n")
    posts = posts_of(hugo / "content")
    assert not posts["posts/future.md"].draft and not posts["posts/draft.md"].draft
    assert posts["posts/expired.md"].draft


def test_jekyll_publishing_rules(jekyll):
    posts = posts_of(jekyll / "_posts")
    assert posts["2999-01-01-future.md"].draft
    assert posts["2023-05-01-unpublished.md"].draft
    assert not posts["2023-04-01-liquid.md"].draft
    (jekyll / "_config.yml").write_text("future: true\n")
    assert not posts_of(jekyll / "_posts")["2999-01-01-future.md"].draft


def test_a_jekyll_site_root_skips_its_built_output(jekyll):
    (jekyll / "_site").mkdir()
    (jekyll / "_site" / "index.html").write_text("<html><body>Built page</body></html>")
    (jekyll / "_layouts").mkdir()
    (jekyll / "_layouts" / "post.html").write_text("---\nlayout: default\n---\n{{ content }}")
    assert set(posts_of(jekyll)) == {
        "_posts/2023-04-01-liquid.md",
        "_posts/2999-01-01-future.md",
        "_posts/2023-05-01-unpublished.md",
    }


def test_template_code_in_a_bare_folder_stays_text_but_liquid_goes_in_posts_folders(tmp_path):
    post = (
        "---\ntitle: Chart helpers\n---\n"
        '```\n{{- define "chart.fullname" -}}\n{{ .Values.image }}\n```\n'
        "{% highlight yaml %}\nreplicas: 2\n{% endhighlight %}\n"
    )
    bare = tmp_path / "content"
    bare.mkdir()
    (bare / "helpers.md").write_text(post)
    body = posts_of(bare)["helpers.md"].body
    assert "chart.fullname" in body and "Values.image" in body  # Helm, not Liquid
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2020-01-01-helpers.md").write_text(post)
    body = posts_of(posts)["2020-01-01-helpers.md"].body
    assert "chart.fullname" not in body and "highlight" not in body and "replicas" in body
