"""The one definition of a word: a maximal run of characters that are not whitespace.

Whitespace is spelled out rather than left to `\\s`, because Python and PostgreSQL disagree about it:
glibc's PostgreSQL regex treats a non-breaking space as a letter, Python as a space. The save-time count
and the 0005 backfill both use WORD_PATTERN, and a test holds them to the same answers.
"""

from __future__ import annotations

import re

# ASCII whitespace, the separators Python's str.split() knows (FS/GS/RS/US, NEL) and Unicode's spaces,
# non-breaking ones included. Written as a bracket expression both `re` and PostgreSQL's regex engine read.
WHITESPACE_CLASS = "\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WORD_PATTERN = f"[^{WHITESPACE_CLASS}]+"

_word = re.compile(WORD_PATTERN)


def count_words(text: str | None) -> int:
    return sum(1 for _ in _word.finditer(text or ""))
