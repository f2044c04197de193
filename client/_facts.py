"""Whether a text states a fact: how an answer is checked against the facts a blueprint expects."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\d.])-?\d[\d,]*(?:\.\d+)?(?![\d])")


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def contains_fact(text: str, fact: str) -> bool:
    """Whether ``text`` states ``fact`` as a whole token: words and codes case-insensitively and never as part
    of a longer word (``active`` is not in ``inactive``), numbers as the same number however written
    (``1249.5`` matches ``$1,249.50``; ``26`` is not in ``126``)."""
    want = _as_number(fact)
    if want is not None:
        for m in _NUMBER.finditer(text):
            got = _as_number(m.group())
            if got is not None and abs(got - want) < 0.0051:
                return True
    pattern = r"(?<![A-Za-z0-9])" + re.escape(fact) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def guessable(fact: str) -> bool:
    """A fact an answer could state by chance (a yes/no, a one-character value): it counts toward the answer,
    but it proves nothing, so a blueprint needs at least one fact that is not guessable and only the others
    are checked for grounding."""
    return len(fact) < 2 or fact.lower() in {"yes", "no", "true", "false", "none", "null", "10", "100"}
