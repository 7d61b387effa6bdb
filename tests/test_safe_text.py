"""Names and messages from the inputs are written safely: nothing a terminal acts on, always UTF-8."""

from __future__ import annotations

import json
import unicodedata

import orjson
from hypothesis import given
from hypothesis import strategies as st

from contracts.safe_text import encodable, printable

# Any text a file name or a file's content can bring: every character, lone surrogates included.
ANY_TEXT = st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]))).map("".join)
ACTED_ON = {"Cc", "Cs", "Zl", "Zp"}  # controls, surrogates, line and paragraph separators


def test_the_issues_names_print_escaped():
    assert printable("a\nb.json") == "a\\nb.json"
    assert printable("\x1b[2J\x1b]0;owned\x07.json") == "\\x1b[2J\\x1b]0;owned\\x07.json"
    assert printable("invoice\u202egpj.json") == "invoice\\u202egpj.json"  # right-to-left override
    assert printable("caf\udce9.json") == "caf\\xe9.json"  # the Latin-1 byte of a non-UTF-8 name
    assert printable("Grüße/日本語.json") == "Grüße/日本語.json"  # printable text is left alone


@given(ANY_TEXT)
def test_printable_text_has_nothing_a_terminal_acts_on_and_is_utf8(text):
    shown = printable(text)
    assert not any(unicodedata.category(char) in ACTED_ON for char in shown)
    assert not {"\u200e", "\u200f", "\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2067"} & set(shown)
    shown.encode("utf-8")
    if not any(unicodedata.category(char) in ACTED_ON | {"Cf"} for char in text):
        assert shown == text


@given(ANY_TEXT)
def test_encodable_text_is_utf8_and_json_of_it_reads_back_with_a_strict_parser(text):
    encodable(text).encode("utf-8")
    written = encodable(json.dumps({"source": text}, ensure_ascii=False), in_json=True)
    assert orjson.loads(written.encode("utf-8"))["source"] == encodable(text)
    if not any(unicodedata.category(char) == "Cs" for char in text):
        assert encodable(text) == text
