"""Configuration files, the shared part: TOML -> frozen option objects, one-line errors.

Each command's schema (`_config_run`, `_config_sweep`, `_config_llg`, `_config_validate`, and the
[model] table in `_model_config`) is a set of frozen dataclasses whose fields carry their default,
allowed range and comment (`option`); `parse_sections` reads a TOML text into them and every error
names the key, its value and the allowed range. Units are part of every key name; conversion to the
internal eV / nm / fs / V/nm happens in the commands, at the boundary.
"""

import dataclasses
import math
import re
import tomllib
from typing import Any
class ConfigError(ValueError):
    """A bad configuration: the message names the key, the value and what is allowed."""


def option(default, *, low=None, high=None, low_open=False, choices=None, doc="", allow_inf=False, min_abs=None, why=""):
    """A config key: default, allowed range [low, high] ((low, high] with low_open), choices, and
    min_abs: |value| must be at least this (a range that excludes zero; `why` says why)."""
    return dataclasses.field(
        default=default,
        metadata={
            "low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc, "allow_inf": allow_inf,
            "min_abs": min_abs, "why": why,
        },
    )


def type_name(value: Any) -> str:
    import datetime

    if isinstance(value, (datetime.date, datetime.time)):  # TOML dates and times: 'a date', not 'datetime.date(...)'
        return {datetime.datetime: "a date-time", datetime.date: "a date", datetime.time: "a time"}[type(value)]
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def allowed_range(meta: dict) -> str:
    low, high = meta.get("low"), meta.get("high")
    left = f"{'(' if meta.get('low_open') else '['}{low:g}" if low is not None else "(-inf"
    right = f"{high:g}]" if high is not None else ("inf]" if meta.get("allow_inf") else "inf)")
    text = f"{left}, {right}"
    if meta.get("min_abs"):
        text += f" with |value| >= {meta['min_abs']:g}"
    return text


def check_value(section: str, field: dataclasses.Field, value: Any) -> Any:
    key = f"[{section}] {field.name}"
    meta = field.metadata
    if field.type is int or field.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: an integer")
    elif field.type is float or field.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: a number")
        value = float(value)
        if math.isnan(value):
            raise ConfigError(f"{key} = nan is not allowed; allowed: a number in {allowed_range(meta)}")
    elif field.type is bool or field.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: true or false")
    elif field.type is str or field.type == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {show_value(value)} is {type_name(value)}; allowed: a string")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{key} = {value!r} is not allowed; allowed: {', '.join(map(repr, meta['choices']))}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None or meta.get("min_abs"):
        too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
        too_high = high is not None and value > high
        infinite_ok = meta.get("allow_inf") and value == math.inf
        near_zero = bool(meta.get("min_abs")) and abs(value) < meta["min_abs"]
        if (too_low or too_high or near_zero or (isinstance(value, float) and math.isinf(value))) and not infinite_ok:
            why = f" ({meta['why']})" if near_zero and meta.get("why") else ""
            raise ConfigError(f"{key} = {value!r} is out of range; allowed: {allowed_range(meta)}{why}")
    return value


def show_value(value: Any) -> str:
    import datetime

    text = value.isoformat() if isinstance(value, (datetime.date, datetime.time)) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def build_section(cls, section: str, table: Any):
    if not isinstance(table, dict):
        raise ConfigError(f"{section} = {show_value(table)} is {type_name(table)}; allowed: a table [{section}] with keys "
                          f"{', '.join(f.name for f in dataclasses.fields(cls))}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(f"[{section}] unknown key {key!r}; allowed: {', '.join(fields)}")
    values = {name: check_value(section, field, table[name]) for name, field in fields.items() if name in table}
    return cls(**values)


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def toml_error_message(error: tomllib.TOMLDecodeError, text: str, source: str) -> str:
    """One line for a TOML syntax error: the file, line and column, the section and key there, and the line."""
    message = str(error)
    match = _POSITION.search(message)
    if not match:
        return f"{source}: not valid TOML: {message}; allowed: TOML syntax (toml.io)"
    reason = message[: match.start()]
    line_no, column = int(match.group(1)), int(match.group(2))
    lines = text.splitlines()
    section = ""
    for previous in lines[: line_no - 1]:
        header = _HEADER.match(previous)
        if header and not previous.lstrip().startswith("#"):
            section = header.group(1)
    line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    where = []
    header = _HEADER.match(line)
    if header:
        where.append(f"in the header of [{header.group(1)}]")
    else:
        if section:
            where.append(f"in [{section}]")
        key = _KEY.match(line)
        if key:
            where.append(f"at key {key.group(1).strip()!r}")
    snippet = line.strip()
    snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
    context = f" {' '.join(where)}" if where else ""
    return (
        f"{source}: line {line_no}, column {column}{context}: not valid TOML: {reason} (the line reads {snippet!r}); "
        "allowed: TOML syntax (toml.io), e.g. key = 1.5 under a [section] header"
    )


def load_toml(text: str, source: str, allowed_sections) -> dict:
    """TOML text -> dict, refusing invalid TOML and unknown sections in one line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(toml_error_message(error, text, source)) from None
    for name in data:
        if name not in allowed_sections:
            raise ConfigError(f"unknown section [{name}]; allowed: {', '.join(f'[{s}]' for s in allowed_sections)}")
    return data


def parse_sections(text: str, source: str, config_cls, build=None):
    """Build a config dataclass whose fields are option sections (each a frozen dataclass).

    build(default_section, name, table) makes one section; by default missing keys take the
    section class's defaults.
    """
    sections = {f.name: f.default_factory for f in dataclasses.fields(config_cls)}
    data = load_toml(text, source, list(sections))
    if build is None:
        return config_cls(**{name: build_section(type(factory()), name, data.get(name, {})) for name, factory in sections.items()})
    return config_cls(**{name: build(factory(), name, data.get(name, {})) for name, factory in sections.items()})


class named_errors:
    """Context: a ConfigError raised inside gets the config's source as a prefix ("file.toml: [model] ...")."""

    def __init__(self, source: str):
        self.source = source

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, ConfigError) and not str(error).startswith(f"{self.source}:"):
            raise ConfigError(f"{self.source}: {error}") from None
        return False
