"""A registry of plugins loaded from Python entry points, checked against a Protocol."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from monitor.core.errors import PluginError, UnknownPluginError

__all__ = ["Registry"]

P = TypeVar("P")


class Registry(Generic[P]):
    """Build plugins of one group by name; built-ins register the same way as third parties."""

    def __init__(self, group: str, protocol: type[object]) -> None:
        # type[object], not type[P]: mypy refuses a Protocol class for type[P] (mypy#4717).
        self.group, self._protocol = group, protocol
        self._loaded: dict[str, Callable[..., P]] = {}

    def names(self) -> list[str]:
        """Return the installed plugin names."""
        return sorted(ep.name for ep in entry_points(group=self.group))

    def factory(self, name: str) -> Callable[..., P]:
        """Return the class or function registered as *name*."""
        if name not in self._loaded:
            eps = {ep.name: ep for ep in entry_points(group=self.group)}
            if name not in eps:
                raise UnknownPluginError(f"{self.group}: no plugin named {name!r}; "
                                         f"installed: {', '.join(sorted(eps)) or 'none'}")
            self._loaded[name] = eps[name].load()
        return self._loaded[name]

    def create(self, name: str, /, *args: object, **options: object) -> P:
        """Build plugin *name* with the given options and check its protocol."""
        plugin = self.factory(name)(*args, **options)
        if not isinstance(plugin, self._protocol):  # runtime_checkable protocols only
            raise PluginError(f"{self.group}: {name!r} does not implement "
                              f"{self._protocol.__name__}")
        return plugin
