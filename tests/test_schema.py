from pathlib import Path

from searchkit.schema import (
    FIELD_WEIGHTS,
    TEXT_FIELDS,
    analyze,
    analyzer,
    build_schema,
    marked_tokens,
    reference_analyzer,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _tokens(ana, text, **kw):
    return [(t.text, t.pos, t.stopped) for t in ana(text, positions=True, **kw)]


def test_fused_filter_equals_whoosh_stock_chain():
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in FIXTURES.rglob("*.md")]
    texts.append("The CAFÉ of Ærøskøbing: running, RUNS, naïve façades — a an of to")
    fused, stock = analyzer(), reference_analyzer()
    for text in texts:
        assert _tokens(fused, text) == _tokens(stock, text)
        # Query mode keeps stop words (marked) so phrase positions line up.
        kw = {"mode": "query", "removestops": False}
        assert _tokens(fused, text, **kw) == _tokens(stock, text, **kw)


def test_marked_tokens_mark_what_the_analyser_would():
    # Snippets mark words with a shortcut (no chain, stemming only words whose
    # first letter can match); it must mark the same words at the same offsets.
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in FIXTURES.rglob("*.md")]
    texts.append("Ünïcode ÉCOLE école using us Us — RUNS runner Ærø 3.14 v1.2.3 k8s")
    stock = reference_analyzer()
    for text in texts:
        terms = {t.text for t in stock(text, mode="query", removestops=False)}
        for words in (frozenset(sorted(terms)[::7]), frozenset({"us", "ecol", "run"})):
            want = [
                (t.startchar, t.endchar)
                for t in stock(text, chars=True, mode="index", removestops=False)
                if t.text in words
            ]
            got = [
                (t.startchar, t.endchar)
                for t in marked_tokens(analyzer(), text, words)
                if t.matched
            ]
            assert got == want
            # Any other analyser takes the chain itself.
            assert [
                (t.startchar, t.endchar) for t in marked_tokens(stock, text, words) if t.matched
            ] == want


def test_accents_fold_and_words_stem():
    assert analyze("café") == analyze("cafe") == ["cafe"]
    assert analyze("Deployments") == analyze("deployment")
    assert analyze("the and of") == []


def test_title_weighs_most_and_body_least():
    others = [f.weight for f in TEXT_FIELDS if f.name != "title"]
    assert FIELD_WEIGHTS["title"] > max(others)
    assert FIELD_WEIGHTS["body"] == min(others)


def test_schema_has_every_field_the_code_reads():
    names = set(build_schema().names())
    assert {f.name for f in TEXT_FIELDS} <= names
    assert {"path", "tags", "source", "post_kind", "date", "draft", "fingerprint"} <= names
