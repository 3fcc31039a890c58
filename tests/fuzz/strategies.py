"""Hypothesis strategies for hostile text: every plane, combining marks, right-to-left, lone surrogates,
invisible characters, identifier-shaped pieces and long runs of separators.

`FUZZ` is the settings every property test here uses: a bounded number of examples for CI
(KGUARD_FUZZ_EXAMPLES raises it for a longer local run), no per-example deadline (the machine is
shared; speed is not what these tests check).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ_EXAMPLES = int(os.environ.get("KGUARD_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

#: Characters the normalizer and detectors treat specially, and neighbours that look like them.
SPECIAL = (
    "0123456789０１２３４５６７８９①②⑨"          # ASCII, fullwidth and circled digits
    "공영일이삼사오육칠팔구"                        # Hangul numerals
    " \t\n\r\x0b\x0c\x85\u00a0\u2028\u2029\u3000"  # spaces and line separators
    "-.@+/=()_:\u2010\u2011\u2013\u2014\u2212\ufe63\uff0d"  # separators and dashes
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"          # zero-width and soft hyphen
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi controls
    "\u0300\u0301\u0308\u0327\u20dd\u3099\u309a"    # combining marks
    "\u1100\u1161\u11a8\u115f\u1160\u3164\uffa0"    # conjoining jamo and Hangul fillers
    "\u05d0\u05d1\u0627\u0644\u0661\u06f1"          # Hebrew, Arabic letters and digits (RTL)
    "가나다주민번호여권계좌비밀번호전화"             # Korean words the detectors look for
    "aAkKsSmMxXeyJ"                                 # Latin letters that open key shapes
    "\U0001f600\U00010000\U0010fffd\U000e0001"      # astral planes, tags
)

#: Identifier-shaped pieces (valid and near-valid) the detectors must handle in any surrounding.
PIECES = (
    "900101-1234568", "9001011234568", "900101-5234561", "010-2345-6789", "01023456789", "+82 10-2345-6789",
    "02-123-4567", "4111-1111-1111-1111", "4111111111111111", "110-123-456789", "kim@naver.com",
    "M12345678", "11-12-123456-12", "password: hunter2!", "AKIAABCDEFGHIJKLMNOP",
    "ghp_" + "a1" * 18, "sk-" + "ab12" * 8, "eyJhbGciOi.eyJzdWIiOi.sig12345678",
    "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", "공일공 이삼사오 육칠팔구",
    "9 0 0 1 0 1 - 1 2 3 4 5 6 8", "０１０－２３４５－６７８９",
)

any_char = st.characters(exclude_categories=())  # every code point, lone surrogates included
no_surrogate_char = st.characters(exclude_categories=("Cs",))
special_char = st.sampled_from(SPECIAL)


def _fragments(char: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(char, max_size=20),
        st.text(special_char, max_size=30),
        st.sampled_from(PIECES),
        # a separator or numeral repeated: the shape of catastrophic-backtracking inputs
        st.tuples(st.sampled_from(("0", "0-", "0 ", "0.", "- ", "@", "a.", "공", "일 ", "\u200b", "\u0301",
                                   "sk-", "eyJ", "password ", "010-")),
                  st.integers(1, 300)).map(lambda t: t[0] * t[1]),
    )


def hostile_text(*, surrogates: bool = True, max_fragments: int = 12) -> st.SearchStrategy[str]:
    """Text assembled from random code points, special characters, identifier pieces and long runs."""
    char = any_char if surrogates else no_surrogate_char
    return st.lists(_fragments(char), max_size=max_fragments).map("".join)


def huge_text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """A fragment repeated into tens of thousands of characters (CI-bounded: at most ~60k)."""
    char = any_char if surrogates else no_surrogate_char
    return st.tuples(_fragments(char).filter(bool), st.integers(500, 3000)).map(
        lambda t: (t[0] * t[1])[:60_000])
