"""Hypothesis strategies for what callers plausibly pass the public functions, hostile included."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text with lone surrogates, control characters and non-ASCII (st.text() excludes surrogates).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40) | st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(max_codepoint=0x7F), max_size=10)
huge_digits = st.integers(4_290, 4_400).map(lambda n: "9" * n)
odd_numbers = st.one_of(
    st.integers(), st.floats(), st.just(float("inf")), st.just(float("-inf")), st.just(float("nan")),
    # Past Python's 4,300-digit str() limit (built by map: st.just would repr them).
    st.integers(4_301, 4_400).map(lambda n: 10 ** n), st.integers(4_301, 4_400).map(lambda n: -(10 ** n)),
    st.just(1e308), st.booleans(),
)
scalars = st.one_of(st.none(), odd_numbers, any_text, st.binary(max_size=20), huge_digits)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12)

statuses = st.one_of(
    st.sampled_from([200, 400, 401, 409, 429, 201, 500, 0, 99, 600, 999]), odd_numbers,
    st.sampled_from(["429", " 200 ", "4XX", b"200", "", "२००"]), huge_digits, st.none(),
    st.builds(object),
)
header_names = st.one_of(
    st.sampled_from(["Retry-After", "retry-after", "Content-Type", "Idempotency-Key", "idempotency-key"]),
    any_text, st.binary(max_size=12), st.integers(), st.none())
header_values = st.one_of(
    st.sampled_from(["1", "30", " 7 ", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "application/json",
                     "application/json; charset=utf-8", "", "0x10"]),
    any_text, st.binary(max_size=20), huge_digits, st.integers(), odd_numbers, st.none(),
    st.lists(st.text(max_size=3), max_size=2))
header_pairs = st.lists(st.tuples(header_names, header_values), max_size=6)
headers = st.one_of(
    st.none(), header_pairs, header_pairs.map(dict), st.dictionaries(st.text(max_size=15), st.text(max_size=15)),
    st.lists(st.one_of(st.tuples(header_names), st.tuples(header_names, header_values, header_values),
                       any_text, st.integers()), max_size=3),
    any_text, st.binary(max_size=10), st.integers(), st.builds(object),
)
bodies = st.one_of(values, st.binary(max_size=60), any_text,
                   st.sampled_from([b'{"data": {}}', b'{"error": {"code": "x", "message": "y"}}',
                                    b'{"data": {"avatar_item": null}}', b"\xff\xfe", b"[" * 2000,
                                    b'{"n": ' + b"9" * 5000 + b"}"]))
keys = st.one_of(any_text, st.binary(max_size=30), huge_digits, odd_numbers, st.none(),
                 st.text(min_size=250, max_size=260), st.builds(object), st.lists(st.text(), max_size=2))


def report_is_sound(report: Any) -> None:
    """What every answer must be: a Report whose findings render as JSON, with no internal error."""
    from avatar_contract.validators import Report

    assert isinstance(report, Report)
    for finding in report.findings:
        assert finding.rule != "linter.internal_error", finding
        assert finding.severity in ("error", "warning")
        for text in (finding.rule, finding.message, finding.path, finding.hint or ""):
            assert isinstance(text, str)
