"""The blocking twin of an async function: the same signature, run in an event loop of its own."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def blocking(function: Callable[P, Awaitable[T]], *, name: str, doc: str) -> Callable[P, T]:
    """``function`` run to completion by ``anyio.run`` (so it must not be called from a running event loop),
    named ``name`` with docstring ``doc``; type checkers see ``function``'s parameters."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        import anyio

        async def main() -> T:
            return await function(*args, **kwargs)

        return anyio.run(main)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = doc
    return run
