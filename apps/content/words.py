"""The one definition of a word: a maximal run of characters that are not whitespace.

Whitespace is spelled out rather than left to `\\s`, because Python and PostgreSQL disagree about it:
glibc's PostgreSQL regex treats a non-breaking space as a letter, Python as a space. The save-time count
uses WORD_PATTERN; the 0005 backfill counts in SQL with `postgres_word_count`, and a test holds the two to
the same answers.
"""

from __future__ import annotations

import re

# ASCII whitespace, the separators Python's str.split() knows (FS/GS/RS/US, NEL) and Unicode's spaces,
# non-breaking ones included. Written as a bracket expression both `re` and PostgreSQL's regex engine read.
WHITESPACE_CLASS = "\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WORD_PATTERN = f"[^{WHITESPACE_CLASS}]+"

_word = re.compile(WORD_PATTERN)


def _characters(bracket_class: str) -> str:
    """Every character a bracket expression's body names, its ranges spelled out."""
    found, position = [], 0
    while position < len(bracket_class):
        if bracket_class[position + 1 : position + 2] == "-" and position + 2 < len(bracket_class):
            first, last = bracket_class[position], bracket_class[position + 2]
            found += [chr(n) for n in range(ord(first), ord(last) + 1)]
            position += 3
        else:
            found.append(bracket_class[position])
            position += 1
    return "".join(found)


WHITESPACE = _characters(WHITESPACE_CLASS)

# What nearly every body's whitespace is made of; anything else in the class is rare enough to take a slow path.
COMMON_WHITESPACE = "\t\n\r "
RARE_WHITESPACE_CLASS = "[" + "".join(c for c in WHITESPACE if c not in COMMON_WHITESPACE) + "]"


def count_words(text: str | None) -> int:
    return sum(1 for _ in _word.finditer(text or ""))


def postgres_word_count(column: str) -> tuple[str, list[str]]:
    """count_words as a PostgreSQL expression over `column`, and its parameters.

    PostgreSQL's regex engine pays per match, not per character: regexp_count(WORD_PATTERN) spends most of a
    backfill's time on a million bodies' ten words each, while a regex that never matches scans them for the
    price of a length(). So a body is searched once for rare whitespace (a non-breaking space, say), which
    alone keeps the regex count; every other body turns its tabs and line ends into spaces and counts the
    non-empty pieces between spaces, about four times faster (bench/bench_backfill.py measures both).
    """
    turned = [character for character in COMMON_WHITESPACE if character != " "]
    spaced = column
    for _ in turned:
        spaced = f"replace({spaced}, %s, ' ')"
    sql = (
        f"CASE WHEN {column} ~ %s THEN regexp_count({column}, %s) "
        f"ELSE cardinality(array_remove(string_to_array({spaced}, ' '), '')) END"
    )
    return sql, [RARE_WHITESPACE_CLASS, WORD_PATTERN, *turned]
