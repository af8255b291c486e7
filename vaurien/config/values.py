"""A plugin option's value, checked against what the plugin's C{options}
declares: its type, its allowed values, its default."""
from __future__ import annotations

import math
from typing import Any, Collection

from vaurien.registry import convert


def option_value(plugin: type, option: str, value: Any) -> Any:
    """Convert C{value} for C{plugin}'s option, checking allowed values:
    those the option lists, or else for a number, a finite one from 0 up
    (a duration, a count, a size).

    @raise ValueError: naming the option when it is unknown or the value
        does not fit.
    """
    try:
        spec = plugin.options[option]
    except KeyError:
        known = ", ".join(sorted(plugin.options)) or "none"
        raise ValueError(
            f"{plugin.name!r} has no option {option!r} (its options: {known})"
        ) from None
    converted = convert(value, spec[1])
    if len(spec) == 4:
        if converted not in spec[3]:
            raise ValueError(f"expected {allowed_values(spec[3])}, got {value!r}")
    elif spec[1] in (int, float) and not 0 <= converted < math.inf:
        raise ValueError(f"expected a number from 0 up, got {value!r}")
    return converted


def allowed_values(allowed: Collection[Any]) -> str:
    """Say what an option's allowed values (a tuple, or a C{range}) are."""
    if isinstance(allowed, range):
        return f"from {allowed.start} to {allowed.stop - 1}"
    return "one of " + ", ".join(repr(c) for c in allowed)


def defaults(plugin: type) -> dict[str, Any]:
    """The default value of each of C{plugin}'s options."""
    return {name: spec[2] for name, spec in plugin.options.items()}
