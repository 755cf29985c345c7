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
#: Sloth's plain (non-Kubernetes) files carry ``version:`` instead of apiVersion/kind/metadata.
SLOTH_VERSION = "prometheus/v1"
SLOTH_KIND = "SlothServiceLevel"
SLOTH_WINDOWS_VERSION = "alertWindows/v1"
SLOTH_WINDOWS_KIND = "AlertWindows"
_TOP = {"apiVersion", "kind", "metadata", "spec"}
_METADATA = {"name", "labels", "annotations", "namespace"}
OPENSLO_VERSION = "openslo/v1"
_OPENSLO_METADATA = _METADATA | {"displayName"}


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

    def check_api_version(self, errors: list[ConfigError]) -> None:
        """Report an ``apiVersion`` other than Watchkeeper's own."""
        if self.api_version != API_VERSION:
            errors.append(ConfigError(self.where, "apiVersion",
                                      f"unsupported apiVersion {self.api_version!r} for "
                                      f"{self.kind}", f"use apiVersion: {API_VERSION}",
                                      self.context))

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
        sloth = _sloth_document(raw, where)
        if sloth is not None:
            out.append(sloth)
            continue
        top = Fields(raw, path="", context="", errors=errors, allowed=_TOP, where=where)
        kind = top.str("kind", required=True)
        api_version = top.str("apiVersion", required=True)
        # Sloth's AlertWindows catalogues have no metadata: name them after where they are.
        nameless = kind == SLOTH_WINDOWS_KIND and not top.has("metadata")
        meta = top.sub("metadata", _OPENSLO_METADATA if api_version == OPENSLO_VERSION
                       else _METADATA, required=not nameless)
        name = f"{display}:{where.line}" if nameless else meta.str("name", required=True)
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
        if doc.kind in (SLOTH_KIND, SLOTH_WINDOWS_KIND):
            continue  # Sloth files are named by service or location; SLO readers check them
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


def _sloth_document(raw: object, where: SourceLocation) -> Document | None:
    """Return a Sloth ``version: prometheus/v1`` or ``alertWindows/v1`` file as a Document.

    These files have no apiVersion/kind/metadata: the whole mapping is the spec, and the
    service (or, for a catalogue, the location) names it.
    """
    if not isinstance(raw, Node) or "apiVersion" in raw or "kind" in raw:
        return None
    version = raw.get("version")
    if version == SLOTH_VERSION:
        service = raw.get("service")
        name = service if isinstance(service, str) and service else f"{where}"
        return Document(api_version=SLOTH_VERSION, kind=SLOTH_KIND, name=name, spec=raw,
                        where=where)
    if version == SLOTH_WINDOWS_VERSION:
        return Document(api_version=SLOTH_WINDOWS_VERSION, kind=SLOTH_WINDOWS_KIND,
                        name=f"{where}", spec=raw, where=where)
    return None


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    return str(path)
