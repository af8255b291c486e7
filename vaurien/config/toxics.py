"""Toxics as configured or asked for live: checked once into L{ToxicEntry}
values, with messages that name what is wrong."""
from __future__ import annotations

from typing import Any, Mapping

from vaurien.config.settings import ToxicEntry
from vaurien.errors import ConfigError, PluginError
from vaurien.registry import convert
from vaurien.toxics import Toxic

#: The directions a toxic can act on.
STREAMS = ("upstream", "downstream")


def toxic_entry(
    name: str | None,
    type: str,
    stream: str = "downstream",
    toxicity: Any = 1.0,
    attributes: Mapping[str, Any] | None = None,
    where: str = "toxic",
) -> ToxicEntry:
    """Check one toxic and fill in its defaults.

    @param name: its name; C{None} or empty: C{TYPE_STREAM}.
    @param type: a registered toxic type or a dotted path to a class.
    @param stream: C{"upstream"} or C{"downstream"}.
    @param toxicity: 0 to 1 (a number, or a string that reads as one).
    @param attributes: attribute name to value; the rest get defaults.
    @param where: how messages name the toxic (C{"[toxic:slow]"}, C{"--toxic"}).
    @raise ConfigError: naming the key and the value when one cannot be used.
    """
    if not isinstance(type, str) or not type:
        raise ConfigError(f"{where}: a toxic needs a type; known types: {', '.join(Toxic.names())}")
    try:
        toxic_class = Toxic.resolve(type)
    except PluginError as e:
        raise ConfigError(f"{where}: {e}") from None
    if stream not in STREAMS:
        raise ConfigError(
            f"{where}: stream {stream!r} is not upstream or downstream"
        )
    if name is None or name == "":
        name = f"{toxic_class.name}_{stream}"
    if not isinstance(name, str):
        raise ConfigError(f"{where}: name {name!r} is not a string")
    return ToxicEntry(
        name=name,
        toxic_class=toxic_class,
        stream=stream,
        toxicity=toxicity_value(toxicity, where),
        attributes=attribute_values(toxic_class, {}, attributes or {}, where),
    )


def toxicity_value(value: Any, where: str) -> float:
    """C{value} as a toxicity: a number from 0 to 1.

    @raise ConfigError: naming the value when it is not one.
    """
    try:
        toxicity = convert(value, float)
    except ValueError:
        toxicity = None
    if toxicity is None or not 0.0 <= toxicity <= 1.0:
        raise ConfigError(f"{where}: toxicity {value!r} is not a number from 0 to 1")
    return toxicity


def attribute_values(
    toxic_class: type, current: Mapping[str, Any], changes: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Every attribute of C{toxic_class}: C{changes} over C{current}, over
    the defaults, each converted to its type.

    @raise ConfigError: naming an unknown attribute, or a value that is
        not a number of its type, or negative (durations, sizes and rates
        are never negative).
    """
    declared = toxic_class.attributes
    if not isinstance(changes, Mapping):
        raise ConfigError(f"{where}: attributes must be a mapping, not {changes!r}")
    unknown = sorted(key for key in changes if key not in declared)
    if unknown:
        raise ConfigError(
            f"{where}: unknown attribute {unknown[0]!r} of toxic {toxic_class.name!r};"
            f" it has {', '.join(sorted(declared)) or 'none'}"
        )
    values = {key: spec[2] for key, spec in declared.items()}
    values.update(current)
    for key, value in changes.items():
        values[key] = _attribute_value(key, value, declared[key][1], where)
    return values


def _attribute_value(key: str, value: Any, type_: type, where: str) -> Any:
    if type_ is int and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON numbers: 100.0 is 100
    try:
        converted = convert(value, type_)
    except ValueError as e:
        raise ConfigError(f"{where}: attribute {key!r}: {e}") from None
    if isinstance(converted, (int, float)) and not isinstance(converted, bool) and converted < 0:
        raise ConfigError(f"{where}: attribute {key!r} must not be negative, got {value!r}")
    return converted
