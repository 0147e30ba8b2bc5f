import datetime as dt

import pytest

from searchkit.site import iter_post_files, load_posts, parse_post, post_id


def parse(text: str | bytes):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_post(raw, "p.md")


def messages(problems):
    return [p.message for p in problems]


def test_walk_skips_section_pages_and_bundle_resources(site):
    ids = [post_id(p, site) for p in iter_post_files(site)]
    assert "notes/bundle-post/index.md" in ids
    assert "notes/_index.md" not in ids
    assert "notes/bundle-post/resource.md" not in ids
    assert len(ids) == len(set(ids))


def test_every_front_matter_format_loads(site):
    result = load_posts(site)
    by_id = {p.id: p for p in result.posts}
    assert not result.errors
    assert by_id["posts/toml-post.md"].tags == ["helm", "kubernetes"]
    assert by_id["posts/json-post.md"].title == "Policy checks before merge"
    assert by_id["posts/json-post.md"].body == "Body of the JSON post."
    assert by_id["posts/gitops-intro.md"].date == dt.datetime(2025, 3, 10, 9, tzinfo=dt.UTC)


def test_drafts_can_be_left_out(site):
    with_drafts = {p.id for p in load_posts(site).posts}
    without = {p.id for p in load_posts(site, drafts=False).posts}
    assert with_drafts - without == {"posts/draft-gitops.md"}


def test_bom_and_crlf_are_read():
    post, problems = parse(b"\xef\xbb\xbf---\r\ntitle: Hello\r\ntags: [a]\r\n---\r\nBody\r\n")
    assert post.title == "Hello" and post.tags == ["a"] and post.body == "Body"
    assert not problems


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("---\ntitle: x\n", "never closed"),
        ("---\n- a\n- b\n---\n", "not a list"),
        ("---\njust text\n---\n", "not a string"),
        ("# Heading\n\ntext", "no front matter"),
        ("---\ntitle: [unclosed\n---\n", "invalid YAML front matter at line"),
        ("+++\ntitle = \n+++\n", "invalid TOML"),
        ('{"title": "x",}\n\nbody', "invalid JSON"),
        ("---\nx: !!python/object/apply:os.system ['true']\n---\n", "invalid YAML"),
    ],
)
def test_malformed_front_matter_is_an_error_with_a_reason(text, reason):
    post, problems = parse(text)
    assert post is None
    assert len(problems) == 1 and problems[0].severity == "error"
    assert reason in problems[0].message


def test_alias_bomb_is_refused_without_expanding_it():
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    post, problems = parse("---\n" + "\n".join(levels) + "\ntags: *h\n---\n")
    assert post is None and "aliases" in problems[0].message


def test_tags_are_normalised_with_warnings():
    post, problems = parse(
        "---\ntitle: t\ntags:\n- kubernetes\n- 42\n- null\n- [nested]\n- ''\n"
        "- '  GitOps  '\n- 'zero\u200bwidth'\n- Kubernetes\n---\n"
    )
    assert post.tags == ["kubernetes", "42", "GitOps", "zerowidth"]
    assert any("dropped" in m for m in messages(problems))


def test_comma_separated_tags_are_split():
    post, problems = parse("---\ntitle: t\ntags: 'kubernetes, gitops'\n---\n")
    assert post.tags == ["kubernetes", "gitops"]
    assert any("comma-separated" in m for m in messages(problems))


def test_title_falls_back_to_file_name_and_numbers_become_text():
    post, problems = parse_post(b"---\ndate: 2025-01-01\n---\n", "posts/my-first-post.md")
    assert post.title == "my first post"
    assert any("no title" in m for m in messages(problems))
    post, _ = parse("---\ntitle: 2025\n---\n")
    assert post.title == "2025"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'2025-04-25T10:30:00-08:00'", dt.datetime(2025, 4, 25, 18, 30, tzinfo=dt.UTC)),
        ("2025-03-01", dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
        ("2005-05-11 22:53:20+00:00", dt.datetime(2005, 5, 11, 22, 53, 20, tzinfo=dt.UTC)),
        ("'2008-01-02 10:00:00 -0500'", dt.datetime(2008, 1, 2, 15, tzinfo=dt.UTC)),
        ("'2015-04-23 9:25:00-0700'", dt.datetime(2015, 4, 23, 16, 25, tzinfo=dt.UTC)),
    ],
)
def test_dates_become_timezone_aware(value, expected):
    post, problems = parse(f"---\ntitle: t\ndate: {value}\n---\n")
    assert post.date == expected
    assert post.date.tzinfo is not None
    assert not problems


def test_unparseable_date_is_dropped_with_a_warning():
    post, problems = parse("---\ntitle: t\ndate: yesterday\n---\n")
    assert post.date is None
    assert any("not a date" in m for m in messages(problems))


@pytest.mark.parametrize(("value", "draft"), [("true", True), ("'true'", True), ("'no'", False)])
def test_draft_flag(value, draft):
    post, _ = parse(f"---\ntitle: t\ndraft: {value}\n---\n")
    assert post.draft is draft


def test_duplicate_keys_last_wins_with_a_warning():
    post, problems = parse("---\ntitle: First\ntitle: Second\n---\n")
    assert post.title == "Second"
    assert any("duplicate key 'title'" in m for m in messages(problems))


def test_not_utf8_reports_the_byte_offset():
    post, problems = parse("---\ntitle: café\n---\n".encode("latin-1"))
    assert post is None and "byte offset 14 (line 2)" in problems[0].message


def test_fingerprint_follows_the_bytes():
    a, _ = parse("---\ntitle: t\n---\nbody")
    b, _ = parse("---\ntitle: t\n---\nbody")
    c, _ = parse("---\ntitle: t\n---\nbody!")
    assert a.fingerprint == b.fingerprint != c.fingerprint
