"""Secrets referenced as ``${ENV_VAR}``: resolved from the environment, never shown."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["Secret", "UnsetVariableError", "resolve_env"]

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UnsetVariableError(ValueError):
    """An ``${ENV}`` reference names a variable that is not set."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"environment variable {name} is not set; export it before starting")


class Secret:
    """A value that must never be logged or stored; read it with :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_env(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace every ``${NAME}`` in *text* by its value; raise if one is unset."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise UnsetVariableError(name)
        return env[name]

    return _REF.sub(substitute, text)
