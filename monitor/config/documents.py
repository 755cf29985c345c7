"""The rules folder: Kubernetes-shaped objects (apiVersion, kind, metadata, spec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.errors import ConfigError, SourceLocation
from monitor.config.schema import Fields
from monitor.config.yaml import Node, load_documents

__all__ = ["Document", "load_folder", "load_file"]

API_VERSION = "watchkeeper.dev/v1"
_TOP = {"apiVersion", "kind", "metadata", "spec"}
_METADATA = {"name", "labels", "annotations", "namespace"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One object from a rule file, not yet checked against its kind's schema."""

    api_version: str
    kind: str
    name: str
    spec: Any
    where: SourceLocation
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def context(self) -> str:
        """Return ``Kind "name"`` for error messages."""
        return f'{self.kind} "{self.name}"'

    def fields(self, errors: list[ConfigError], allowed: set[str]) -> Fields:
        """Return readers over ``spec`` that report problems in this document's context."""
        return Fields(self.spec, path="spec", context=self.context, errors=errors,
                      allowed=allowed, where=self.where)


def load_file(path: Path, display: str, errors: list[ConfigError]) -> list[Document]:
    """Read every document of one rule file; problems go to *errors*."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(ConfigError(SourceLocation(display), "", f"cannot read file: {exc}"))
        return []
    raw_docs, yaml_errors = load_documents(text, display)
    errors.extend(yaml_errors)
    out = []
    for raw in raw_docs:
        where = getattr(raw, "where", SourceLocation(display))
        top = Fields(raw, path="", context="", errors=errors, allowed=_TOP, where=where)
        kind = top.str("kind", required=True)
        api_version = top.str("apiVersion", required=True)
        meta = top.sub("metadata", _METADATA, required=True)
        name = meta.str("name", required=True)
        if not top.has("spec"):
            top.error(where, "spec", "required key is missing",
                      f"add spec: with the fields of a {kind or 'kind'}")
        if kind and name:
            out.append(Document(
                api_version=api_version, kind=kind, name=name, spec=raw.get("spec")
                if isinstance(raw, Node) else None, where=where,
                labels=meta.str_map("labels"), annotations=meta.str_map("annotations")))
    return out


def load_folder(folder: Path, errors: list[ConfigError],
                base: Path | None = None) -> list[Document]:
    """Read every ``*.yaml``/``*.yml`` file under *folder*; report duplicate names."""
    docs: list[Document] = []
    if not folder.is_dir():
        errors.append(ConfigError(SourceLocation(_display(folder, base)), "",
                                  "rules folder does not exist",
                                  "create it or point `rules:` in watchkeeper.yaml elsewhere"))
        return docs
    files = sorted(p for p in folder.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
    for path in files:
        docs.extend(load_file(path, _display(path, base), errors))
    seen: dict[tuple[str, str], Document] = {}
    for doc in docs:
        key = (doc.kind, doc.name)
        if key in seen:
            first = seen[key].where
            errors.append(ConfigError(doc.where, "metadata.name",
                                      f'duplicate {doc.kind} name "{doc.name}" '
                                      f"(first defined at {first})",
                                      "give each object a unique name", doc.context))
        else:
            seen[key] = doc
    return docs


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    return str(path)
