"""Every SLO file format read into one model: native, Sloth and OpenSLO.

:func:`read_slos` dispatches each document on its apiVersion and kind, applies Sloth
``AlertWindows`` catalogues, and reports an SLO name defined twice (in any formats) at
the second definition, naming the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from monitor.config.documents import Document
from monitor.config.errors import ConfigError, SourceLocation
from monitor.slo.catalog import apply_catalogs, is_catalog, read_catalog
from monitor.slo.model import SLOSpec
from monitor.slo.openslo import OPENSLO_API_VERSION, is_openslo, read_openslo
from monitor.slo.sloth import SLOTH_DEFAULT_WINDOW, is_sloth, read_sloth
from monitor.slo.spec import SLO_KIND, from_document

__all__ = ["is_slo_document", "read_slos"]

_OLD_OPENSLO = ("openslo/v1alpha", "openslo/v1beta1", "openslo/v2alpha")


def is_slo_document(doc: Document) -> bool:
    """Return whether *doc* is read by :func:`read_slos` (an SLO or an object SLOs use)."""
    native = doc.kind == SLO_KIND and not doc.api_version.startswith("openslo/")
    return (native or is_sloth(doc) or is_catalog(doc) or is_openslo(doc)
            or doc.api_version in _OLD_OPENSLO)


def read_slos(docs: Sequence[Document], errors: list[ConfigError], *,
              sloth_period: timedelta = SLOTH_DEFAULT_WINDOW) -> list[SLOSpec]:
    """Read every SLO document of *docs* into specs; problems go to *errors*.

    Parameters
    ----------
    docs
        Documents of any kinds; those :func:`is_slo_document` rejects are ignored.
    errors
        Every problem found is appended here, each with its ``file:line:col``.

    Returns
    -------
    list of SLOSpec
        The specs without problems, in document order (OpenSLO SLOs after the others),
        with ``origin`` set to ``native``, ``sloth`` or ``openslo``.
    """
    specs: list[SLOSpec] = []
    catalogs = []
    for doc in docs:
        if doc.api_version in _OLD_OPENSLO:
            errors.append(ConfigError(doc.where, "apiVersion", f"unsupported apiVersion "
                                      f"{doc.api_version!r}", f"use {OPENSLO_API_VERSION}",
                                      doc.context))
        elif is_sloth(doc):
            specs.extend(read_sloth(doc, errors, period=sloth_period))
        elif is_catalog(doc):
            catalog = read_catalog(doc, errors)
            if catalog is not None:
                catalogs.append(catalog)
        elif doc.kind == SLO_KIND and not is_openslo(doc):
            spec = from_document(doc, errors)
            if spec is not None:
                specs.append(spec)
    specs.extend(read_openslo(docs, errors))
    specs = apply_catalogs(specs, catalogs, errors)
    return _unique(specs, errors)


def _unique(specs: list[SLOSpec], errors: list[ConfigError]) -> list[SLOSpec]:
    first: dict[str, SLOSpec] = {}
    out = []
    for spec in specs:
        seen = first.get(spec.name)
        if seen is None:
            first[spec.name] = spec
            out.append(spec)
            continue
        where = spec.where or SourceLocation("")
        # The rules folder loader already reports two documents of one kind and name.
        if not any(e.where == where and "duplicate" in e.problem for e in errors):
            errors.append(ConfigError(where, "name", f'duplicate SLO name "{spec.name}" '
                                      f"(first defined at {seen.where})",
                                      "give each SLO a unique name"))
    return out
