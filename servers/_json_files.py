"""Reading JSON files into pydantic models, with one-line errors that name the file, the path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ._errors import SpecError

M = TypeVar("M", bound=BaseModel)


def read_text(path: Path, what: str) -> str:
    """The file's text, or a ``SpecError`` saying which file could not be read and why."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such {what} file", source=str(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read the {what} file: {e.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise SpecError(f"not UTF-8 text; a {what} file is JSON in UTF-8", source=str(path)) from None


def parse_model(model: type[M], text: str, *, source: str, hint: str) -> M:
    """``text`` as a ``model``; the first problem becomes a ``SpecError`` with its JSON path and ``hint``."""
    try:
        return model.model_validate_json(text)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise SpecError(f"{err['msg']} ({hint})", source=source, path=where) from None


def load_model(model: type[M], path: Path, *, what: str, hint: str) -> M:
    """A ``model`` read from the JSON file at ``path``."""
    return parse_model(model, read_text(path, what), source=path.name, hint=hint)
