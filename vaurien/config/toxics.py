"""Toxics as configured or asked for live: checked once into L{ToxicEntry}
values, with messages that name what is wrong."""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from vaurien.config.ini import SourcedValue
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
        raise ConfigError(f"{where}: type: {e}") from None
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


def toxic_sections(
    file_sections: Mapping[str, Mapping[str, SourcedValue]],
    command_line: Mapping[str, SourcedValue],
    names: list[str],
) -> dict[str, dict[str, SourcedValue]]:
    """The C{[toxic:NAME]} sections with the C{--toxic-NAME-ATTRIBUTE}
    values over them.

    @param command_line: C{NAME-ATTRIBUTE} (as spelled after C{--toxic-})
        to its value.
    @param names: every toxic name given in C{toxic} settings, which
        C{--toxic-NAME-...} may name too.
    @raise ConfigError: for an option that names no toxic.
    """
    sections = {name: dict(section) for name, section in file_sections.items()}
    known = sorted(set(sections) | set(names), key=len, reverse=True)
    for spelled, value in command_line.items():
        for name in known:
            prefix = name.replace("_", "-") + "-"
            if spelled.startswith(prefix) and len(spelled) > len(prefix):
                key = spelled[len(prefix):].replace("-", "_")
                sections.setdefault(name, {})[key] = value
                break
        else:
            raise ConfigError(
                f"--toxic-{spelled}: names no toxic; give the toxic with --toxic"
                f" NAME:TYPE or a [toxic:NAME] section (known: {', '.join(known) or 'none'})."
            )
    return sections


def given_names(specs: list[SourcedValue]) -> list[str]:
    """The toxic names that C{toxic} settings give."""
    return [item.split(":")[0].strip() for spec in specs for item in _items(spec)]


def proxy_toxics(
    spec: SourcedValue | None, sections: Mapping[str, Mapping[str, SourcedValue]]
) -> tuple[ToxicEntry, ...]:
    """The toxics of one proxy: those its C{toxic} setting lists, or every
    section when it has none.

    @raise ConfigError: naming the key and the value that cannot be used.
    """
    if spec is None:
        return tuple(_from_section(name, sections[name], None) for name in sections)
    entries = []
    for item in _items(spec):
        parts = [part.strip() for part in item.split(":")]
        if len(parts) > 4 or not parts[0] and len(parts) == 1:
            raise ConfigError(
                f"{spec.said()}: {item!r} is not NAME:TYPE[:STREAM[:TOXICITY]] or a NAME"
            )
        name = parts[0]
        if len(parts) == 1 and name not in sections:
            raise ConfigError(
                f"{spec.said()}: {name!r} has no type; give NAME:TYPE or a [toxic:{name}] section"
            )
        given = {key: SourcedValue(value, spec.key, spec.place)
                 for key, value in zip(("type", "stream", "toxicity"), parts[1:])}
        entries.append(_from_section(name, {**sections.get(name, {}), **given}, spec))
    names = [entry.name for entry in entries]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{spec.said()}: the toxic {name!r} is given twice")
    return tuple(entries)


def _items(spec: SourcedValue) -> list[str]:
    return [item.strip() for item in str(spec.value).split(",") if item.strip()]


def _from_section(
    name: str, section: Mapping[str, SourcedValue], spec: SourcedValue | None
) -> ToxicEntry:
    where = f"[toxic:{name}]" if spec is None else f"toxic {name!r} of {spec.said()}"
    type_ = section.get("type")
    if type_ is None:
        raise ConfigError(f"{where}: no type; give type = one of {', '.join(Toxic.names())}")
    stream = section.get("stream")
    if stream is not None and stream.value not in STREAMS:
        raise ConfigError(f"{stream.said()}: the stream is upstream or downstream")
    toxicity = section.get("toxicity")
    share = 1.0 if toxicity is None else toxicity_value(toxicity.value, toxicity.said())
    entry = toxic_entry(name or None, type_.value, "downstream" if stream is None else stream.value,
                        share, where=type_.said())
    attributes = dict(entry.attributes)
    for key, value in section.items():
        if key not in ("type", "stream", "toxicity"):
            attributes = attribute_values(entry.toxic_class, attributes, {key: value.value},
                                          value.said())
    return attrs.evolve(entry, attributes=attributes)
