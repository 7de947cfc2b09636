"""Tokenisers for the compliance check: jieba for Chinese, a small regex for English.

Both return :class:`Token` s with character offsets into the original text, so a finding's span points at what the
creator wrote. jieba is loaded lazily and once per process (its dictionary takes ~1–2 s to build), with its logging
silenced, and on a private ``jieba.Tokenizer`` so the rule table's words never leak into other users of jieba.
The rule table's Chinese token terms are added to that dictionary, so 最便宜 or 第一品牌 come out as one token while
最近 ("recently") or 第一次 ("the first time") stay the words they are.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import jieba

_ENGLISH_TOKEN = re.compile(r"#?[0-9A-Za-z]+(?:['’\-.][0-9A-Za-z]+)*%?|#[0-9]+")
"""An English word: letters and digits, inner apostrophes or hyphens, an optional leading # and trailing %."""
_lock = threading.Lock()
_zh_tokenizer: jieba.Tokenizer | None = None
_zh_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def english_tokens(text: str) -> list[Token]:
    """Word tokens of ``text``, lower-cased (CJK characters and punctuation are not tokens)."""
    return [Token(match.group().lower(), match.start(), match.end()) for match in _ENGLISH_TOKEN.finditer(text)]


def chinese_tokens(text: str, custom_words: Iterable[str] = ()) -> list[Token]:
    """jieba's tokens of ``text`` (whitespace dropped), lower-cased, with ``custom_words`` in its dictionary."""
    tokenizer = _jieba(frozenset(custom_words))
    return [Token(word.lower(), start, end) for word, start, end in tokenizer.tokenize(text, HMM=True) if word.strip()]


def _jieba(custom_words: frozenset[str]) -> jieba.Tokenizer:
    """The process's private jieba tokenizer, built on first use; words not seen before are added."""
    global _zh_tokenizer, _zh_words
    with _lock:
        if _zh_tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _zh_tokenizer = tokenizer
        for word in custom_words - _zh_words:
            _zh_tokenizer.add_word(word)
        _zh_words = _zh_words | custom_words
        return _zh_tokenizer
