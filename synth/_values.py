"""Fresh, realistic values a user states for a field (a tracking number, an amount, a date), seeded."""

from __future__ import annotations

import random
import string
from datetime import timedelta
from typing import Any

from tdscaling.servers import ANCHOR, FieldSpec


def _pattern(pattern: str, rng: random.Random) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(rng.choice(string.digits))
        elif ch == "?":
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(ch)
    return "".join(out)


def sample_value(f: FieldSpec, rng: random.Random) -> Any:
    """A value valid for ``f`` (within its bounds, one of its values), drawn from ``rng`` only."""
    if f.type == "enum":
        return rng.choice(f.values or ["unknown"])
    if f.type == "boolean":
        return rng.random() < 0.5
    lo = f.min if f.min is not None else 0
    hi = f.max if f.max is not None else (lo + 100)
    if f.type == "integer":
        return rng.randint(int(lo), max(int(lo), int(hi)))
    if f.type in ("number", "money"):
        return round(rng.uniform(lo, hi), 2)
    if f.type in ("date", "datetime"):
        lo_d = int(f.min) if f.min is not None else 0
        hi_d = int(f.max) if f.max is not None else 30
        day = ANCHOR + timedelta(days=rng.randint(lo_d, max(lo_d, hi_d)))
        return day.isoformat() if f.type == "date" else f"{day.isoformat()}T{rng.randint(8, 18):02d}:00:00"
    if f.choices:
        return rng.choice(f.choices)
    if f.faker and f.faker.startswith(("bothify:", "numerify:")):
        return _pattern(f.faker.split(":", 1)[1], rng)
    if f.faker == "email":
        return f"{_pattern('????', rng).lower()}.{_pattern('####', rng)}@example.com"
    words = ("north", "river", "maple", "harbor", "cedar", "summit", "lumen", "orchid", "atlas", "quartz")
    return f"{rng.choice(words).capitalize()} {rng.choice(words)} {rng.randint(2, 99)}"
