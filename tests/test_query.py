"""The query language, ranking contract, facets, suggestions and related posts,
on the small fixture site in tests/fixtures/query/content."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchkit.cli.main import cli
from searchkit.errors import QueryError
from searchkit.indexing.build import update_index
from searchkit.schema import COORD, SCORE_SCALE, build_schema
from searchkit.search.query import ParsedQuery, osa_distance, parse_query
from searchkit.search.searcher import open_searcher

FIXTURES = Path(__file__).parent / "fixtures" / "query" / "content"

FLUX = "links/gitops-with-flux.md"
ARGO = "articles/gitops-with-argo-cd.md"
FLUX_REL = "releases/flux-v2-6-released.md"
HELM_REL = "releases/helm-3-16-released.md"
K8S = "articles/kubernetes-autoscaling-explained.md"
K8S_SPAM = "articles/autoscaling-autoscaling.md"
MESH = "links/service-mesh-sidecars.md"
HOME_MESH = "links/mesh-networking-at-home.md"
DRAFT = "articles/secret-gitops-draft.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(FIXTURES, root / "content")
    update_index(root / "content", root / "index")
    return root


@pytest.fixture(scope="module")
def searcher(site):
    with open_searcher(site / "index") as s:
        yield s


def paths(searcher, text: str, **kw) -> list[str]:
    return [h.path for h in searcher.search(text, limit=None, **kw).hits]


def found(searcher, text: str, **kw) -> set[str]:
    return set(paths(searcher, text, **kw))


# ---------------------------------------------------------------- forms


def test_words(searcher):
    assert found(searcher, "flux") == {FLUX, ARGO, FLUX_REL}
    assert found(searcher, "Helm") == {HELM_REL}


def test_phrase_needs_the_words_together(searcher):
    assert found(searcher, '"service mesh"') == {MESH}
    assert found(searcher, "service mesh") == {MESH, HOME_MESH}


def test_and_or_not(searcher):
    assert found(searcher, "gitops AND flux") == {FLUX, ARGO}
    assert found(searcher, "helm OR argo") == {HELM_REL, ARGO}
    assert found(searcher, "gitops NOT flux") == set()  # both gitops posts mention flux
    assert found(searcher, "gitops NOT reconciles") == {ARGO}
    assert found(searcher, "gitops -reconciles") == {ARGO}
    assert found(searcher, "-reconciles gitops") == {ARGO}


def test_grouping(searcher):
    assert found(searcher, "(helm OR argo) AND released") == {HELM_REL}
    assert found(searcher, "(helm OR flux) AND (schemas OR artifacts)") == {HELM_REL, FLUX_REL}


def test_hyphenated_word_is_not_a_minus(searcher):
    # "drift-detection" is two words, not "drift" without "detection"
    assert FLUX_REL in found(searcher, "drift-detection")


def test_title_scope(searcher):
    assert found(searcher, "title:flux") == {FLUX, FLUX_REL}  # ARGO has flux in its summary only


def test_field_filters_are_and_ed_with_the_words(searcher):
    assert found(searcher, "kind:release flux") == {FLUX_REL}
    assert found(searcher, "flux kind:release") == {FLUX_REL}
    assert found(searcher, "tag:flux") == {FLUX, FLUX_REL}
    assert found(searcher, "tag:gitops flux") == {FLUX, ARGO}
    assert found(searcher, 'source:"Flux Blog"') == {FLUX_REL}
    assert found(searcher, "source:cncf gitops") == {FLUX}
    assert found(searcher, "tag:flux OR tag:helm") == {FLUX, FLUX_REL, HELM_REL}
    assert found(searcher, "gitops -tag:flux") == {ARGO}


def test_filters_do_not_change_scores(searcher):
    plain = {h.path: h.score for h in searcher.search("flux").hits}
    filtered = {h.path: h.score for h in searcher.search("flux kind:release").hits}
    assert filtered == {FLUX_REL: plain[FLUX_REL]}


def test_prefix(searcher):
    assert found(searcher, "autoscal*") == {K8S, K8S_SPAM}
    assert found(searcher, "gitop*") == {FLUX, ARGO}
    # the index holds stems: "deploy" is stored as "deploy" (deployments)
    assert found(searcher, "deploy*") == {K8S}


def test_fuzzy(searcher):
    assert found(searcher, "gitpos~") == {FLUX, ARGO}  # a swap is one edit
    assert found(searcher, "hlem~") == {HELM_REL}
    assert found(searcher, "fulx~2") == {FLUX, ARGO, FLUX_REL}
    assert found(searcher, "gitpos", fuzzy_fallback=True) == {FLUX, ARGO}  # the fallback...
    assert found(searcher, "gitpos", fuzzy_fallback=False) == set()  # ...not without it


def test_osa_distance():
    assert osa_distance("gitpo", "gitop") == 1
    assert osa_distance("flux", "flux") == 0
    assert osa_distance("", "abc") == 3
    assert osa_distance("kitten", "sitting") == 3


def test_date_ranges(searcher):
    assert found(searcher, "date:2025-01..2025-06") == {FLUX, FLUX_REL}
    assert found(searcher, "flux date:2025") == {FLUX, FLUX_REL}
    assert found(searcher, "date:>2025-03-01") == {FLUX_REL}
    assert found(searcher, "date:>=2025-02-10") == {FLUX, FLUX_REL}
    assert found(searcher, "date:<2024") == {K8S, K8S_SPAM, HOME_MESH}
    assert found(searcher, "date:..2023-03") == {K8S_SPAM, HOME_MESH}
    assert found(searcher, "date:2024-06..") == {FLUX, FLUX_REL, HELM_REL, ARGO}
    assert found(searcher, "gitops -date:2025") == {ARGO}
    assert found(searcher, "flux", since="2025-03") == {FLUX_REL}


def test_bad_date_is_a_query_error(searcher):
    with pytest.raises(QueryError, match="not a date"):
        searcher.search("date:soon")
    with pytest.raises(QueryError, match="date: needs"):
        searcher.search("date:..")


def test_drafts_hidden_unless_asked(searcher):
    assert DRAFT not in found(searcher, "secret")
    assert found(searcher, "secret", drafts=True) == {DRAFT}


def test_plain_words_mode_ignores_syntax(searcher):
    # "release" is a word here (it matches "released" in the Helm post too)
    assert found(searcher, "kind:release flux", syntax=False) == {FLUX, ARGO, FLUX_REL, HELM_REL}
    assert found(searcher, 'what is "gitops" (really)?', syntax=False) == {FLUX, ARGO}


# ---------------------------------------------------------------- ranking


def test_partial_matches_found_full_matches_first(searcher):
    hits = paths(searcher, "kubernetes autoscaling deployments")
    # K8S_SPAM says kubernetes and autoscaling far more often but never
    # "deployments": it is still found, below the post with all three words.
    assert hits[:2] == [K8S, K8S_SPAM]


def test_score_follows_the_documented_rule(searcher):
    words = ["kubernetes", "autoscaling", "deployments", "flux"]
    impact = {w: {h.path: h.score for h in searcher.search(w, limit=None).hits} for w in words}
    for hit in searcher.search(" ".join(words), limit=None).hits:
        matched = [impact[w][hit.path] for w in words if hit.path in impact[w]]
        total = 0.0
        for s in matched:
            total += s
        expected = total * (1 + COORD * len(matched) / len(words))
        assert hit.score == math.floor(expected * SCORE_SCALE + 0.5) / SCORE_SCALE
        assert (hit.score * SCORE_SCALE).is_integer()


def _term_scores(searcher, text: str) -> dict[str, float]:
    return {h.path: h.score for h in searcher.search(text, limit=None).hits}


@pytest.mark.parametrize("word", ["re*", "cl*", "nodes~", "help~"])
def test_prefix_and_fuzzy_score_the_sum_of_their_words(searcher, word):
    from whoosh import query as Q

    parsed = searcher.parse(word)
    reader = searcher._searcher.reader()
    pairs = {(q.fieldname, t) for q in parsed.scoring.leaves() for t in q._btexts(reader)}
    assert len({t for _, t in pairs}) >= 2  # more than one word, else this proves nothing
    expected: dict[str, float] = {}
    for field, t in sorted(pairs):
        term = Q.Term(field, t.decode() if isinstance(t, bytes) else t)
        for r in searcher._searcher.search(term, limit=None, mask=Q.Term("draft", True)):
            expected[r["path"]] = expected.get(r["path"], 0.0) + r.score
    assert _term_scores(searcher, word) == expected


def test_filter_inside_explicit_or_scores_one(searcher):
    plain = _term_scores(searcher, "schemas")
    assert _term_scores(searcher, "tag:helm OR schemas") == {HELM_REL: plain[HELM_REL] + 1.0}


def test_ties_break_by_path(searcher):
    hits = searcher.search("tag:gitops", limit=None, sort="relevance").hits
    assert [h.path for h in hits] == paths(searcher, "tag:gitops")


# ---------------------------------------------------------------- features


def test_facets_count_all_matches(searcher):
    result = searcher.search("gitops OR flux", limit=1, facets=True)
    assert len(result.hits) == 1 and result.total == 3
    assert result.facets["tags"] == {"flux": 2, "gitops": 2, "argo-cd": 1}
    assert result.facets["source"] == {"argo blog": 1, "cncf": 1, "flux blog": 1}
    assert result.to_json()["facets"] == result.facets


def test_did_you_mean(searcher):
    result = searcher.search("kuberntes autoscaling")
    assert result.suggestion == "kubernetes autoscaling"
    assert result.corrected is None and {h.path for h in result.hits} == {K8S, K8S_SPAM}
    assert searcher.search("autoscaling").suggestion is None


def test_did_you_mean_for_tags_and_kinds(searcher):
    result = searcher.search("tag:kubernets autoscaling", fuzzy_fallback=True)
    assert result.corrected == "tag:kubernetes autoscaling"
    assert {h.path for h in result.hits} == {K8S, K8S_SPAM}
    assert searcher.search("kind:relase flux").suggestion == "kind:release flux"
    assert searcher.search("tag:helm").suggestion is None


def test_fuzzy_fallback_shows_the_corrected_results(searcher):
    result = searcher.search("kuberntes", fuzzy_fallback=True)
    assert result.corrected == "kubernetes" and result.query == "kuberntes"
    assert {h.path for h in result.hits} == {K8S, K8S_SPAM}
    none = searcher.search("kuberntes", fuzzy_fallback=False)
    assert none.total == 0 and none.suggestion == "kubernetes"


def test_related(searcher):
    result = searcher.related(FLUX_REL, limit=3)
    got = [h.path for h in result.hits]
    assert FLUX_REL not in got and DRAFT not in got
    # Its two key words are "flux" and "released": the Flux post and the other
    # release share one each (which comes first is the BM25F scores' call on
    # nine posts); the Argo CD post shares neither and comes after both.
    assert set(got[:2]) == {FLUX, HELM_REL}
    with pytest.raises(QueryError, match="no post"):
        searcher.related("nope.md")


# ---------------------------------------------------------------- awkward input

AWKWARD = {
    '"service mesh': {MESH},  # unbalanced quote: closed at the end
    "(gitops": {FLUX, ARGO},  # unbalanced parenthesis: closed
    "gitops)": {FLUX, ARGO},
    "title:": "all",  # an empty field scope is dropped: no words, all posts
    "title: gitops": {FLUX, ARGO},
    "*": "all",  # a lone star: every post, newest first
    "nosuchfield:helm": {HELM_REL},  # unknown field: its words are searched as text
    "helm\x00\x07\x1b[31m": {HELM_REL},  # control characters are spaces
    "helm " + "x" * 5000: {HELM_REL},  # cut at MAX_QUERY_CHARS, still searched
    "AND OR NOT": "all",  # operators with nothing to join: no words, all posts
    "~ ^ : + - ( ) [ ] { }": "all",
    "(helm -schemas) flux": {FLUX, ARGO, FLUX_REL},  # a minus inside parentheses
    "flux - helm": {FLUX, ARGO, FLUX_REL, HELM_REL},  # a lone dash is not NOT
    "x" * 5000 + "~2": set(),  # a huge fuzzy word is matched exactly (no hang)
    "gitpos~9": {FLUX, ARGO},  # at most 2 edits
}


@pytest.mark.parametrize("text", list(AWKWARD))
def test_awkward_queries_are_answered(searcher, text):
    expected = AWKWARD[text]
    got = found(searcher, text, fuzzy_fallback=False)
    if expected == "all":
        assert got == found(searcher, "")
    else:
        assert got == expected


def test_cli_query_errors_are_one_line_exit_2(site):
    runner = CliRunner()
    args = ["--content", str(site / "content"), "--index", str(site / "index")]
    r = runner.invoke(cli, ["query", *args, "date:notadate"])
    assert r.exit_code == 2
    assert r.output.strip().startswith("searchkit: error:") and "\n" not in r.output.strip()
    assert "Traceback" not in r.output


def test_cli_query_facets_and_suggestion(site):
    runner = CliRunner()
    args = ["--content", str(site / "content"), "--index", str(site / "index")]
    r = runner.invoke(cli, ["query", *args, "kuberntes", "--facets"])
    assert r.exit_code == 0, r.output
    assert "showing results for 'kubernetes'" in r.output
    assert "tags: autoscaling (2), kubernetes (2)" in r.output
    r = runner.invoke(cli, ["query", *args, "kuberntes", "--no-fuzzy-fallback"])
    assert r.exit_code == 1 and "Did you mean: kubernetes" in r.output


def test_cli_related(site):
    runner = CliRunner()
    args = ["--content", str(site / "content"), "--index", str(site / "index")]
    r = runner.invoke(cli, ["related", *args, str(site / "content" / FLUX), "--json", "-n", "2"])
    assert r.exit_code == 0, r.output
    hits = [h["path"] for h in json.loads(r.output)["hits"]]
    assert len(hits) == 2 and FLUX not in hits


_SCHEMA = build_schema()
_ALPHABET = st.characters(blacklist_categories=("Cs",))
_SYNTAX = st.sampled_from(list('"()*~:-+^[]{}<>=.') + ["AND", "OR", "NOT", "title:", "date:"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(_ALPHABET, max_size=8), _SYNTAX), max_size=12))
def test_parser_answers_or_raises_query_error(parts):
    text = " ".join(parts)
    try:
        parsed = parse_query(text, _SCHEMA)
    except QueryError:
        return
    assert isinstance(parsed, ParsedQuery)
    str(parsed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(_ALPHABET, max_size=60))
def test_search_answers_or_raises_query_error(searcher, text):
    with contextlib.suppress(QueryError):
        searcher.search(text, fuzzy_fallback=True, facets=True)


@pytest.mark.parametrize("field", ["url", "external_url", "fingerprint"])
def test_stored_only_fields_are_searched_as_words_like_unknown_ones(searcher, field):
    assert found(searcher, f"{field}:helm") == found(searcher, "nosuchfield:helm")


def _z(k: int) -> str:
    return f"z{chr(97 + k // 26)}{chr(97 + k % 26)}q"  # no stemmer changes these


def _many_z_words(tmp_path: Path) -> Path:
    """A site whose posts hold 40 words starting with z, word k in k+1 posts."""
    content = tmp_path / "content"
    content.mkdir()
    words = [_z(k) for k in range(40)]
    for i in range(41):
        body = " ".join(w for k, w in enumerate(words) if i <= k)
        (content / f"p{i:02d}.md").write_text(f"---\ntitle: P{i}\n---\n{body}\n")
    update_index(content, tmp_path / "index")
    return tmp_path / "index"


def test_a_wildcard_or_fuzzy_word_expands_to_its_most_frequent_terms_only(tmp_path):
    from searchkit.search.query import MAX_EXPANSIONS, cap_expansions

    with open_searcher(_many_z_words(tmp_path)) as s:
        parsed = s.parse("body:z*")
        assert cap_expansions([parsed.scoring], s._searcher.reader()) == MAX_EXPANSIONS
        (leaf,) = parsed.scoring.leaves() if parsed.scoring.children() else [parsed.scoring]
        # the most frequent: the last words of the list (word k is in k+1 posts)
        assert sorted(t.decode() for t in leaf.terms) == [
            _z(k) for k in range(40 - MAX_EXPANSIONS, 40)
        ]
        assert s.search("body:z*").total == 40  # every post holding one of them


def test_a_query_expands_to_at_most_max_query_terms(tmp_path):
    from searchkit.search.query import MAX_QUERY_TERMS, cap_expansions

    with open_searcher(_many_z_words(tmp_path)) as s:
        text = " ".join(["z*", "za*", "zb*", "zaaq~2", "zbbq~2", "*q", "z*bq"] * 6)
        parsed = s.parse(text)
        assert cap_expansions([parsed.scoring], s._searcher.reader()) <= MAX_QUERY_TERMS
        assert s.search(text).total > 0
