"""The project's paths, the configuration error and the JSON-schema helpers that the config
(config.py) and the operator specs (specs.py) share: the bottom of the import graph, importing no
other module of the package."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema

PACKAGE_DIR = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = PACKAGE_DIR.parent
PROJECT_ROOT = WORKFLOW_DIR.parent


class ConfigError(ValueError):
    """A configuration problem, raised before any benchmark work starts."""


def _with_defaults(validator_class: type) -> type:
    """A validator that also fills each property's schema default (as Snakemake's validate does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 - jsonschema hook
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<top level>"


def _choices(error: jsonschema.ValidationError) -> list:
    """The values an anyOf of consts and enums (e.g. auto or a kernel name) allows, in order."""
    if error.validator == "const":
        return [error.validator_value]
    if error.validator == "enum":
        return list(error.validator_value)
    if error.validator == "anyOf":
        return [v for e in error.context or [] for v in _choices(e)]
    return []


def _format_schema_error(error: jsonschema.ValidationError) -> str:
    if error.validator == "anyOf" and _choices(error) and not isinstance(error.instance, (dict, list)):
        allowed = ", ".join(str(v) for v in _choices(error))
        return f"config key '{_key_path(error)}': {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "oneOf" and error.context:
        # a value that may take several forms: report the form it came closest to
        # (the deepest error, and one about the value's contents over one about its type)
        scalar = not isinstance(error.instance, (dict, list))  # a choice of names fits only a scalar

        def fit(e: jsonschema.ValidationError) -> int:
            if _choices(e):
                return 2 if scalar else 0
            return 0 if e.validator in ("enum", "type") else 1

        closest = max(error.context, key=lambda e: (len(e.absolute_path), fit(e)))
        return _format_schema_error(closest)
    key = _key_path(error)
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"config key '{key}': {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = f"'{key}'" if error.absolute_path else "the top level"
        return (
            f"unknown config key(s) {', '.join(unknown)} in {where}; allowed keys: {allowed}"
        )
    if error.validator == "minimum":
        return f"config key '{key}': {error.instance!r} is below the minimum {error.validator_value}"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    if error.validator == "pattern":
        # a pattern-checked string may carry its allowed forms in words (x-allowed); the value never
        # reaches a shell or CMake unchecked
        allowed = error.schema.get("x-allowed", f"a string matching {error.validator_value}")
        return f"config key '{key}': {error.instance!r} is not allowed; allowed values: {allowed}"
    return f"config key '{key}': {error.message}"
