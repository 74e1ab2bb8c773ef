"""Loading and validating the sweep configuration before any work is done.

The JSON schema (workflow/schemas/config.schema.yaml) checks keys, types and enums; the
semantic checks here add what a schema cannot say: profile ranks agree, min <= opt <= max, and
every shape to run lies inside its profile. Every message names the key and the allowed values.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .operators import (
    AUTO_KERNEL,
    DTYPES,
    get_operator,
    kernel_ids,
    operator_kernels_per_dtype,
    plugin_kernel_per_dtype,
    resolve_operators,
    tune_subjects,
)
from .schema import PROJECT_ROOT as PROJECT_ROOT  # re-exported: the project's root, as config.PROJECT_ROOT
from .schema import WORKFLOW_DIR, ConfigError, _format_schema_error, _with_defaults
from .specs import SpecError

SCHEMA_PATH = WORKFLOW_DIR / "schemas" / "config.schema.yaml"
# the command-line entry point, runnable whether or not the package is installed
TPB_SCRIPT = WORKFLOW_DIR / "scripts" / "tpb.py"


@dataclass(frozen=True)
class Profile:
    """A TensorRT optimization profile and the shapes the sweeps run inside it."""

    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def rank(self) -> int:
        return len(self.opt)

    def contains(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == self.rank and all(
            lo <= d <= hi for lo, d, hi in zip(self.min, shape, self.max)
        )

    def describe(self) -> str:
        return f"min {list(self.min)}, opt {list(self.opt)}, max {list(self.max)}"


def load_schema() -> dict[str, Any]:
    with SCHEMA_PATH.open() as f:
        return yaml.safe_load(f)


@functools.cache
def _schema_defaults(path: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    node = load_schema()
    for part in path:
        node = node["properties"][part]
    props = node.get("properties", {})
    return tuple((k, sub["default"]) for k, sub in props.items() if "default" in sub)


def schema_defaults(*section: str) -> dict[str, Any]:
    """The schema's default of each key of config section ``section`` (a nested one: its path,
    e.g. "tune", "timing") that has one: the one place defaults live (settings.py and
    stats.StoppingRule take theirs from here)."""
    return copy.deepcopy(dict(_schema_defaults(tuple(section))))


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``config`` with each ``key.sub=value`` override set (a copy): the value is read as YAML,
    and validate_config then types it as the schema says (``timing.max_time_s=0.5`` a number,
    ``timing.modes=[warm]`` a list). The tpb CLI's --set, and ``snakemake --config set=...``
    (SET_KEY: Snakemake refuses a dotted key before the Snakefile runs)."""
    config = copy.deepcopy(config)
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError(f"override {item!r}: expected KEY.SUBKEY=VALUE, e.g. timing.max_time_s=0.5")
        node = config
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: config key '{'.'.join(parts[:i + 1])}' is not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            node[parts[-1]] = value  # the validator names what the key allows
    return config


# `snakemake --config` refuses a dotted key (its parser wants an identifier, before the Snakefile
# runs), so nested overrides go under this one key: --config set='timing.max_time_s=0.5,threads.counts=[1,2]'
SET_KEY = "set"
_NEXT_OVERRIDE = re.compile(r"\s*[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+\s*=")


def split_overrides(text: str | list | tuple) -> list[str]:
    """The ``KEY.SUB=VALUE`` overrides of one --config set=... value: separated by commas (or
    semicolons) outside brackets and braces, each followed by the next dotted key, so a list value
    such as ``threads.counts=[1,2]`` or ``timing.modes=[warm, cold]`` stays whole."""
    if isinstance(text, (list, tuple)):
        return [str(t).strip() for t in text if str(t).strip()]
    text, out, depth, start = str(text), [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch in ",;" and depth == 0 and _NEXT_OVERRIDE.match(text, i + 1):
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return [o.strip() for o in out if o.strip()]


def pop_set_overrides(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``config`` without its ``set`` key (a copy), and that key's overrides (split_overrides)."""
    config = dict(config)
    value = config.pop(SET_KEY, None)
    if value is None or value == "":
        return config, []
    if not isinstance(value, (str, list, tuple)):
        raise ConfigError(f"config key '{SET_KEY}': {value!r} is not overrides; expected "
                          "KEY.SUBKEY=VALUE[,KEY.SUBKEY=VALUE...], e.g. --config set='timing.max_time_s=0.5'")
    return config, split_overrides(value)


def _operator_errors(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The names of config operators (their specs loaded and checked: specs.SpecError stops the run
    here, before any work), and the profiles' shapes an operator's inputs refuse."""
    try:
        ops = resolve_operators(config["operators"])
    except SpecError as exc:
        return [], [str(exc)]
    errors: list[str] = []
    for spec in ops:
        for pname, prof in config["profiles"].items():
            shapes = [("min", prof["min"]), ("opt", prof["opt"]), ("max", prof["max"])]
            shapes += [(f"shapes[{i}]", s) for i, s in enumerate(prof["shapes"])]
            for key, shape in shapes:
                problem = spec.shape_problem(tuple(shape))
                if problem:
                    errors.append(f"config key 'profiles.{pname}.{key}': shape {list(shape)} is outside what operator "
                                  f"{spec.name} accepts ({spec.path}, key 'inputs[0]'): {problem}")
                    break
    errors += _variant_errors(config, ops)
    return [s.name for s in ops], errors


def _variant_errors(config: dict[str, Any], ops: list) -> list[str]:
    """Kernel names are data of a plugin's spec (variants.ids): config plugin_kernel must name a live
    variant of every swept operator that follows it (kernel optimised); tune.kernels and
    tune.finalists_include name variants of the tuned operators (one list: of one of them at least;
    a map: each operator's own); kernel_bench.operator must declare variants, and kernel_bench.kernels
    name its own."""
    errors: list[str] = []

    def live(spec: Any) -> tuple[dict[str, int], dict[int, str]]:
        table = spec.variants.table()
        return table[0], table[1]

    def problem(name: str, spec: Any) -> str | None:
        names, retired = live(spec)
        if name in names:
            return None
        why = "a retired one" if name in retired.values() else "not one"
        return (f"{name!r} is not allowed: {why} of {spec.name}'s kernel variants ({spec.variants.ids_file}); "
                "allowed values: " + ", ".join(names))

    def choices(key: str, chosen: Any) -> list[tuple[str, str]]:
        """(config key, kernel name) of one plugin_kernel-shaped value: a name, or a {dtype: name} map."""
        return [(f"{key}.{dtype}", name) for dtype, name in chosen.items()] if isinstance(chosen, dict) else [(key, chosen)]

    own = config.get("operator_kernels") or {}
    followers = {s.name: s for s in ops if s.kernel == "optimised" and s.variants is not None}
    for name in own:
        if name not in followers:
            errors.append(f"config key 'operator_kernels.{name}': {name!r} is not an operator of config operators "
                          "whose spec lets the config choose its kernel (kernel: optimised, with variants); allowed "
                          "values: " + (", ".join(followers) or "none in this config"))
    for spec in followers.values():
        mine = own.get(spec.name)
        # the dtypes plugin_kernel still decides for this operator: all, or those its own map leaves out
        left = set(DTYPES) if mine is None else set(DTYPES) - set(mine) if isinstance(mine, dict) else set()
        chosen = [(key, kernel) for key, kernel in choices("plugin_kernel", config["plugin_kernel"])
                  if left and (key == "plugin_kernel" or key.rpartition(".")[2] in left)]
        if mine is not None:
            chosen += choices(f"operator_kernels.{spec.name}", mine)
        for key, kernel in chosen:
            why = None if kernel == AUTO_KERNEL else problem(kernel, spec)
            if why:
                errors.append(f"config key '{key}': {why}")
    tuned = _tuned_specs(config, ops)
    by_name = {s.name: s for s in ops}
    # a map may name any operator the tune rule would tune if its kernel were auto
    tunable = {name: by_name[name] for name in dict.fromkeys(tune_subjects(ops).values())}
    for key in ("kernels", "finalists_include"):
        chosen = config["tune"][key]
        if isinstance(chosen, dict):
            for name, names in chosen.items():
                spec = tunable.get(name)
                if spec is None:
                    errors.append(f"config key 'tune.{key}.{name}': {name!r} is not an operator the tune rule tunes "
                                  "(a plugin operator of config operators whose spec declares variants, the first of "
                                  "those sharing them); allowed values: " + (", ".join(tunable) or "none in this config"))
                    continue
                for i, kernel in enumerate(names):
                    why = problem(kernel, spec)
                    if why:
                        errors.append(f"config key 'tune.{key}.{name}[{i}]': {why}")
        elif tuned:  # one list for all: each name must be a variant of one of them at least
            known = {n for spec in tuned.values() for n in live(spec)[0]}
            for i, kernel in enumerate(chosen):
                if kernel not in known:
                    errors.append(f"config key 'tune.{key}[{i}]': {kernel!r} is not a kernel variant of any tuned "
                                  f"operator ({', '.join(tuned)}); allowed values: " + ", ".join(sorted(known)))
    bench = config["kernel_bench"]["operator"]
    spec = _kernel_bench_spec(bench, ops)
    if spec is None:
        return errors + [f"config key 'kernel_bench.operator': {bench!r} is not an operator; allowed values: the "
                         "plugin operators whose specs declare kernel variants with a direct library (variants.direct)"]
    if spec.variants is None:
        return errors + [f"config key 'kernel_bench.operator': {bench} declares no kernel variants ({spec.path}, "
                         "key 'variants')"]
    if config["kernel_bench"]["enabled"] and spec.variants.direct_library is None:
        errors.append(f"config key 'kernel_bench.operator': {bench} declares no direct kernel library ({spec.path}, "
                      "key 'variants.direct'), so the kernel_bench rule has nothing to call; allowed values: the "
                      "plugin operators whose specs declare one, or kernel_bench.enabled: false")
    for i, kernel in enumerate(config["kernel_bench"].get("kernels", ())):  # left out: all of them (validate_config)
        why = problem(kernel, spec)
        if why:
            errors.append(f"config key 'kernel_bench.kernels[{i}]': {why}")
    return errors


def _kernel_bench_spec(name: str, ops: list) -> Any:
    """The spec of config kernel_bench.operator ``name``: one of config operators (``ops``), else a
    built-in operator; None where there is none."""
    spec = next((s for s in ops if s.name == name), None)
    if spec is None:
        try:
            spec = get_operator(name)
        except KeyError:
            return None
    return spec


def _tuned_specs(config: dict[str, Any], ops: list) -> dict[str, Any]:
    """{name: spec} of the operators the tune rule tunes for ``config``: each configured plugin
    operator with variants whose kernel is auto for a configured dtype, or the operator whose tune it
    shares (operators.tune_subjects)."""
    subjects = tune_subjects(ops)
    pk = plugin_kernel_per_dtype(config["plugin_kernel"], DTYPES)
    own = operator_kernels_per_dtype(config.get("operator_kernels") or {}, pk)
    by_name = {s.name: s for s in ops}
    out: dict[str, Any] = {}
    for spec in ops:
        if spec.name in subjects and any((own.get(spec.name) or pk)[d] == AUTO_KERNEL for d in config["dtypes"]):
            out.setdefault(subjects[spec.name], by_name[subjects[spec.name]])
    return out


def _semantic_errors(config: dict[str, Any]) -> list[str]:
    names, errors = _operator_errors(config)
    if errors:
        return errors
    for name, prof in config["profiles"].items():
        rank = len(prof["opt"])
        for bound in ("min", "max"):
            if len(prof[bound]) != rank:
                errors.append(
                    f"config key 'profiles.{name}.{bound}': rank {len(prof[bound])} differs from "
                    f"opt's rank {rank}"
                )
        if errors:
            continue
        for axis, (lo, op, hi) in enumerate(zip(prof["min"], prof["opt"], prof["max"])):
            if not lo <= op <= hi:
                errors.append(
                    f"config key 'profiles.{name}': dimension {axis} needs min <= opt <= max, "
                    f"got {lo} <= {op} <= {hi}"
                )
        profile = to_profile(name, prof)
        for i, shape in enumerate(profile.shapes):
            if not profile.contains(shape):
                errors.append(
                    f"config key 'profiles.{name}.shapes[{i}]': shape {list(shape)} is outside "
                    f"its profile ({profile.describe()})"
                )
    threads_profile = config["threads"].get("profile")
    if threads_profile is not None and threads_profile not in config["profiles"]:
        errors.append(
            f"config key 'threads.profile': {threads_profile!r} is not a profile; allowed values: "
            + ", ".join(config["profiles"])
        )
    tshape = config["threads"].get("shape")
    if tshape is not None:
        tname = threads_profile or next(iter(config["profiles"]))
        if tname in config["profiles"]:
            tprof = to_profile(tname, config["profiles"][tname])
            if not tprof.contains(tuple(tshape)):
                errors.append(
                    f"config key 'threads.shape': {tshape} is outside profile {tname!r} ({tprof.describe()})"
                )
    prof_cfg = config["profile"]  # validation time: the keys below may be absent (required only when enabled)
    if prof_cfg["enabled"]:
        for key in ("operator", "dtype", "profile", "shape"):
            if key not in prof_cfg:
                errors.append(f"config key 'profile.{key}' is required when profile.enabled is true")
        pname = prof_cfg.get("profile")
        if pname is not None and pname not in config["profiles"]:
            errors.append(
                f"config key 'profile.profile': {pname!r} is not a profile; allowed values: "
                + ", ".join(config["profiles"])
            )
        elif pname is not None and "shape" in prof_cfg:
            profile = to_profile(pname, config["profiles"][pname])
            if not profile.contains(tuple(prof_cfg["shape"])):
                errors.append(
                    f"config key 'profile.shape': {prof_cfg['shape']} is outside profile "
                    f"{pname!r} ({profile.describe()})"
                )
        for key, allowed in (("operator", names), ("dtype", config["dtypes"])):
            if key in prof_cfg and prof_cfg[key] not in allowed:
                errors.append(
                    f"config key 'profile.{key}': {prof_cfg[key]!r} is not swept; allowed values: "
                    + ", ".join(allowed)
                )
    for i, (a, b) in enumerate(config["compare"]["pairs"]):
        if a == b:
            errors.append(f"config key 'compare.pairs[{i}]': compares {a!r} with itself")
        for op in (a, b):
            if op not in names:
                errors.append(
                    f"config key 'compare.pairs[{i}]': {op!r} is not swept; allowed values: "
                    + ", ".join(names)
                )
    for pname, shapes in config["compare"]["extra_shapes"].items():
        if pname not in config["profiles"]:
            errors.append(
                f"config key 'compare.extra_shapes.{pname}': {pname!r} is not a profile; allowed values: "
                + ", ".join(config["profiles"])
            )
            continue
        profile = to_profile(pname, config["profiles"][pname])
        for i, shape in enumerate(shapes):
            if not profile.contains(tuple(shape)):
                errors.append(
                    f"config key 'compare.extra_shapes.{pname}[{i}]': shape {list(shape)} is outside "
                    f"its profile ({profile.describe()})"
                )
    conf = config["conformance"]
    if conf["enqueue_max_s"] >= conf["blocker_hold_s"]:
        errors.append(f"config key 'conformance.enqueue_max_s': {conf['enqueue_max_s']:g} must be below "
                      f"conformance.blocker_hold_s ({conf['blocker_hold_s']:g}): otherwise a synchronizing "
                      "enqueue returns in time")
    errors += _in_network_errors(config.get("in_network", {}))
    timing = config["timing"]
    if timing["min_samples"] > timing["max_samples"]:
        errors.append(
            f"config key 'timing.min_samples': {timing['min_samples']} exceeds "
            f"timing.max_samples {timing['max_samples']}"
        )
    return errors


def _in_network_errors(cfg: Mapping[str, Any]) -> list[str]:
    """config in_network: its operators plugins with a native twin, each block's operators among them."""
    if not cfg.get("enabled"):
        return []
    errors = []
    try:
        specs = resolve_operators(list(cfg.get("operators", [])))
    except SpecError as exc:
        return [f"config key 'in_network.operators': {exc}"]
    for spec in specs:
        if not spec.uses_plugin or spec.native_twin is None:
            errors.append(f"config key 'in_network.operators': {spec.name} is not a plugin operator with a native twin "
                          "(its spec's plugin and native_twin); in_network compares a plugin with its twin")
    names = {s.name for s in specs}
    for block, decl in cfg.get("blocks", {}).items():
        try:
            chosen = [s.name for s in resolve_operators(list(decl.get("operators", [])))]
        except SpecError as exc:
            errors.append(f"config key 'in_network.blocks.{block}.operators': {exc}")
            continue
        for name in chosen:
            if name not in names:
                errors.append(f"config key 'in_network.blocks.{block}.operators': {name!r} is not in in_network.operators; "
                              "allowed values: " + ", ".join(sorted(names)))
    return errors


_SCALAR_TYPES: dict[str, tuple[type, ...]] = {"number": (int, float), "integer": (int,), "boolean": (bool,),
                                              "array": (list,), "object": (dict,)}


def _schema_types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def coerce_cli_strings(value: Any, schema: dict[str, Any]) -> Any:
    """Snakemake's ``--config 'timing={max_time_s: 0.5}'`` hands nested values over as strings
    ('0.5'), which the schema then refused as "not of type 'number'". Where the schema wants a
    number, integer, boolean, list or mapping and gets a string, the string is read as YAML and
    kept if it is of the wanted type; anything else is left for the validator to name."""
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {k: coerce_cli_strings(v, props.get(k, extra if isinstance(extra, dict) else {}))
                for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce_cli_strings(v, schema["items"]) for v in value]
    wanted = _schema_types(schema)
    if isinstance(value, str) and wanted and "string" not in wanted:
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        for kind in wanted:
            types = _SCALAR_TYPES.get(kind, ())
            if isinstance(parsed, types) and not (isinstance(parsed, bool) and kind in ("number", "integer")):
                return coerce_cli_strings(parsed, schema)
    return value


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a validated copy of ``config`` with schema defaults filled in.

    Raises ConfigError listing every problem found, each naming its key and allowed values.
    """
    schema = load_schema()
    config = coerce_cli_strings(copy.deepcopy(config), schema)
    if isinstance(config.get("tune"), dict) and "operator" in config["tune"]:
        raise ConfigError("invalid configuration:\n  config key 'tune.operator': removed; the tune rule tunes every "
                          "plugin operator of config operators whose kernel is auto (plugin_kernel or operator_kernels) "
                          "and whose spec declares variants, each on its own (tune.kernels: one list, or a map from "
                          "operator to list); kernel_bench.operator names the operator the kernel_bench rule times")
    validator_class = _with_defaults(jsonschema.Draft202012Validator)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(
            "invalid configuration:\n  " + "\n  ".join(_format_schema_error(e) for e in errors)
        )
    semantic = _semantic_errors(config)
    if semantic:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(semantic))
    bench = config["kernel_bench"]
    if "kernels" not in bench:  # the schema's default: every live variant of kernel_bench.operator
        spec = _kernel_bench_spec(bench["operator"], resolve_operators(config["operators"]))
        bench["kernels"] = list(kernel_ids(spec))
    return config


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The config file at ``path``, with ``overrides`` (apply_overrides) set, validated."""
    path = Path(path)
    try:
        with path.open() as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return validate_config(apply_overrides(raw, overrides))


def to_profile(name: str, prof: dict[str, Any]) -> Profile:
    return Profile(
        name=name,
        min=tuple(prof["min"]),
        opt=tuple(prof["opt"]),
        max=tuple(prof["max"]),
        shapes=tuple(tuple(s) for s in prof["shapes"]),
    )


def profiles(config: dict[str, Any]) -> dict[str, Profile]:
    return {name: to_profile(name, prof) for name, prof in config["profiles"].items()}


def resolve_tracking_uri(uri: str, root: Path | None = None) -> str:
    """Make a relative sqlite URI absolute in the working directory (the project root when run as
    documented), so `mlflow ui` started there finds the runs with no flags."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(((root or Path.cwd()) / uri[len(prefix):]).resolve())
    return uri


# MLflow's own environment variables for the config's mlflow keys (mlflow.environment_variables).
# They follow MLflow's convention: set, they win over the config file. A key given on the command
# line (snakemake --config mlflow=...) is the user's explicit choice for this run and wins over both.
MLFLOW_ENV = {"tracking_uri": "MLFLOW_TRACKING_URI", "experiment": "MLFLOW_EXPERIMENT_NAME"}
MLFLOW_EXPERIMENT_ID_ENV = "MLFLOW_EXPERIMENT_ID"  # no config key: an experiment chosen by id


@dataclass(frozen=True)
class TrackingTarget:
    """Where the runs go, and why: each ``*_from`` says which source won and over what."""

    tracking_uri: str
    tracking_uri_from: str
    experiment_name: str | None  # None: experiment_id (MLFLOW_EXPERIMENT_ID) chose it
    experiment_id: str | None  # MLFLOW_EXPERIMENT_ID, checked against the name when both are set
    experiment_from: str


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None  # an empty variable is unset, as in MLflow


def resolve_tracking(mlflow_cfg: Mapping[str, Any], env: Mapping[str, str] | None = None,
                     cli_keys: Iterable[str] = (), root: Path | None = None) -> TrackingTarget:
    """Precedence, per key: --config on the command line > MLflow's environment variable > the
    config file. The schema requires both keys in every config file, so a value in the config
    cannot say whether the user chose it for this run; only the command line can (``cli_keys``)."""
    env = os.environ if env is None else env
    cli = set(cli_keys)
    env_uri = _env(env, MLFLOW_ENV["tracking_uri"])
    if "tracking_uri" in cli:
        uri = mlflow_cfg["tracking_uri"]
        why = "--config mlflow.tracking_uri (given on the command line" + (
            f"; it wins over MLFLOW_TRACKING_URI={env_uri})" if env_uri else ")")
    elif env_uri:
        uri = env_uri
        why = ("MLFLOW_TRACKING_URI (set in the environment; it wins over the config file's "
               f"mlflow.tracking_uri {mlflow_cfg['tracking_uri']})")
    else:
        uri = mlflow_cfg["tracking_uri"]
        why = "the config file's mlflow.tracking_uri (MLFLOW_TRACKING_URI is not set)"
    env_name = _env(env, MLFLOW_ENV["experiment"])
    env_id = _env(env, MLFLOW_EXPERIMENT_ID_ENV)
    name: str | None = mlflow_cfg["experiment"]
    exp_id = None
    if "experiment" in cli:
        exp_why = "--config mlflow.experiment (given on the command line" + (
            "; it wins over MLFLOW_EXPERIMENT_NAME/MLFLOW_EXPERIMENT_ID)" if env_name or env_id else ")")
    elif env_name:
        name, exp_id = env_name, env_id
        exp_why = f"MLFLOW_EXPERIMENT_NAME (it wins over the config file's mlflow.experiment {mlflow_cfg['experiment']})"
    elif env_id:
        name, exp_id = None, env_id
        exp_why = f"MLFLOW_EXPERIMENT_ID (it wins over the config file's mlflow.experiment {mlflow_cfg['experiment']})"
    else:
        exp_why = "the config file's mlflow.experiment (MLFLOW_EXPERIMENT_NAME and MLFLOW_EXPERIMENT_ID are not set)"
    return TrackingTarget(resolve_tracking_uri(uri, root), why, name, exp_id, exp_why)


def cli_mlflow_keys(cli_config: Mapping[str, Any] | None) -> list[str]:
    """The mlflow keys given with snakemake --config (Snakemake >= 8 keeps them apart from the
    config files as workflow.config_settings.config; 7.x does not, so there the environment
    variables win over --config too)."""
    cli_config = dict(cli_config or {})
    section = cli_config.get("mlflow")
    keys = set(section) if isinstance(section, Mapping) else set()
    _, overrides = pop_set_overrides(cli_config)  # --config set='mlflow.tracking_uri=...'
    keys |= {o.partition("=")[0].strip().split(".", 1)[1] for o in overrides
             if o.partition("=")[0].strip().startswith("mlflow.")}
    return sorted(keys)


def mlflow_env_fingerprint(env: Mapping[str, str] | None = None) -> str:
    """A digest of MLflow's tracking environment variables, for the log rule's params: a changed
    MLFLOW_TRACKING_URI reruns the rule, and no URI (which may hold credentials) lands in
    Snakemake's metadata or the printed command."""
    env = os.environ if env is None else env
    names = [*MLFLOW_ENV.values(), MLFLOW_EXPERIMENT_ID_ENV]
    values = {n: _env(env, n) for n in names if _env(env, n)}
    if not values:
        return ""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
