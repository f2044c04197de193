"""The domain catalog: the built-in domain files plus any directories the user adds.

``load_domain_file`` turns a JSON file into a checked ``DomainSpec`` or raises one ``SpecError`` whose
message names the file, the JSON path and what was expected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._errors import SpecError, UnknownNameError
from ._json_files import read_text
from ._spec import DomainSpec, Effect, Precondition, kind_tags
from ._validate import problems


def _json_path(loc: Sequence[int | str], data: Any) -> str:
    """Render a pydantic location as a JSON path, naming operations by their name."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and item < len(node) and \
                isinstance(node[item], dict) else None
            if parts and parts[-1] == "operations" and isinstance(name, str):
                parts[-1] = f"operations.{name}"
            else:
                parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(item)
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def _first_problem(err: ValidationError, data: Any) -> tuple[str, str]:
    e = err.errors(include_url=False)[0]
    loc = [x for x in e["loc"] if not (isinstance(x, str) and x in _TAGS)]
    msg = e["msg"]
    if e["type"] == "extra_forbidden":
        msg = "unknown key; see docs/domain-format.md for the keys this object takes"
    elif e["type"] == "missing":
        msg = "required key is missing"
    return _json_path(loc, data), msg


_TAGS = kind_tags(Precondition) | kind_tags(Effect)  # pydantic puts the union member's tag in error paths


def parse_domain(data: Any, *, source: str) -> DomainSpec:
    """Validate already-decoded JSON as a domain; raise ``SpecError`` naming the first problem."""
    if not isinstance(data, dict):
        raise SpecError(f"expected a JSON object, got {type(data).__name__}", source=source, path="(top level)")
    try:
        domain = DomainSpec.model_validate(data)
    except ValidationError as e:
        path, msg = _first_problem(e, data)
        raise SpecError(msg, source=source, path=path) from None
    found = problems(domain)
    if found:
        path, msg = found[0]
        raise SpecError(msg, source=source, path=path)
    return domain


def load_domain_file(path: Path) -> DomainSpec:
    """Read and check one domain file."""
    text = read_text(path, "domain")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}", source=path.name) from None
    return parse_domain(data, source=path.name)


def domain_digest(domain: DomainSpec) -> str:
    """A short content hash of a domain, for provenance in cluster specs."""
    raw = json.dumps(domain.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


class Catalog:
    """Named domains: the built-in ones, then those of each added directory (later ones win).

    Example::

        from pathlib import Path
        from tdscaling.servers import Catalog

        catalog = Catalog.load([Path("my_domains")])   # the built-in domains and yours
        shop = catalog.get("online_store")             # a DomainSpec; an unknown name lists the known ones
        print(catalog.names(), [op.name for op in shop.operations])
    """

    def __init__(self, domains: Iterable[DomainSpec]) -> None:
        self._domains: dict[str, DomainSpec] = {}
        for d in domains:
            self._domains[d.name] = d

    @classmethod
    def load(cls, extra_dirs: Sequence[Path] = (), *, builtin: bool = True) -> Catalog:
        """The built-in catalog plus every ``*.json`` file in ``extra_dirs``."""
        domains: list[DomainSpec] = []
        if builtin:
            pkg = resources.files("tdscaling.servers.domains")
            for entry in sorted(pkg.iterdir(), key=lambda p: p.name):
                if entry.name.endswith(".json"):
                    try:
                        data = json.loads(entry.read_text(encoding="utf-8"))
                    except json.JSONDecodeError as e:
                        raise SpecError(f"invalid JSON at line {e.lineno}: {e.msg}", source=entry.name) from None
                    domains.append(parse_domain(data, source=entry.name))
        for d in extra_dirs:
            if not d.is_dir():
                raise SpecError("not a directory; --catalog takes a directory of domain JSON files", source=str(d))
            files = sorted(d.glob("*.json"))
            if not files:
                raise SpecError("holds no *.json domain files", source=str(d))
            domains.extend(load_domain_file(f) for f in files)
        return cls(domains)

    def names(self) -> list[str]:
        return sorted(self._domains)

    def __iter__(self) -> Iterator[DomainSpec]:
        return iter(self._domains[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._domains)

    def __contains__(self, name: object) -> bool:
        return name in self._domains

    def get(self, name: str) -> DomainSpec:
        try:
            return self._domains[name]
        except KeyError:
            raise UnknownNameError(f"unknown domain '{name}'; known domains are {', '.join(self.names())}") from None

    def select(self, names: Sequence[str]) -> list[DomainSpec]:
        """The named domains, or an ``UnknownNameError`` listing every unknown one and the known ones."""
        unknown = [n for n in names if n not in self._domains]
        if unknown:
            raise UnknownNameError(f"unknown domain{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                                   f"known domains are {', '.join(self.names())}")
        return [self._domains[n] for n in names]
