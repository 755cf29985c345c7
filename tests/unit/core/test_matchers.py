"""Label matchers and selectors: Prometheus semantics and errors that point at the mistake."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.matchers import parse_selector


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ('m{code=~"5.."}', {"code": "503"}, True),
    ('m{code=~"5.."}', {"code": "5031"}, False),  # anchored at both ends
    ('m{env!="prod"}', {}, True),                 # a missing label is the empty string
    ('m{env!~"prod|staging"}', {"env": "dev"}, True),
    ('m{env=""}', {}, True),
])
def test_prometheus_matching(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(text).matches("m", labels) is expected


def test_bad_regex_names_the_label_and_the_position_in_the_users_pattern() -> None:
    with pytest.raises(ValueError) as info:
        parse_selector('m{a=~"ab["}')
    assert str(info.value) == ("label a: invalid regular expression 'ab[': "
                               "unterminated character set at position 2")


def test_bad_matcher_says_where() -> None:
    with pytest.raises(ValueError, match=r"invalid label matcher at character 1 of "
                                         r"'code=5'; write name=\"value\""):
        parse_selector("m{code=5}")


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
                       st.text(max_size=10), max_size=4))
def test_selector_round_trips(labels: dict[str, str]) -> None:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    text = "m{" + ",".join(f"{k}={quoted(v)}" for k, v in labels.items()) + "}"
    selector = parse_selector(text)
    assert parse_selector(str(selector)) == selector
    assert selector.matches("m", labels)
