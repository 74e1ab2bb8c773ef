"""Typed settings: the validated config as frozen dataclasses, parsed once.

config.validate_config checks a config against the schema and fills the schema's defaults; then
``Settings.from_config`` turns every section into a dataclass (derived defaults resolved here once:
threads.profile is the first profile, threads.shape its opt shape), so nothing downstream looks a
key up with a default of its own. The schema is the one place defaults live (stats.StoppingRule
takes its defaults from there too).

A rule hands its command one serialized form, ``Settings.to_json(reads)``: only the keys the
command reads (dag.RULE_READS), so a change to one of them reruns the rule and a change to any
other key does not. The command reads it back with ``Settings.from_json``; a key its rule left out
is *not handed*: reading it raises NotHanded naming the key and the table to add it to, instead
of silently taking a default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from typing import Any, ClassVar

from .config import ConfigError, Profile, schema_defaults, to_profile
from .operators import (
    DTYPES,
    OWN_DEFAULT,
    default_kernel,
    get_operator,
    operator_kernels_per_dtype,
    plugin_kernel_per_dtype,
    resolve_operators,
    tune_candidates,
    tune_group,
    tune_includes,
    tune_subjects,
)
from .specs import OperatorSpec


class NotHanded(LookupError):
    """A command read a settings key its rule did not hand it (dag.RULE_READS): a bug in the
    workflow, not in the user's config, so the failing job shows its traceback."""


class _NotHandedType:
    _instance: ClassVar[_NotHandedType | None] = None

    def __new__(cls) -> _NotHandedType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<not handed>"


NOT_HANDED: Any = _NotHandedType()


class _Typed:
    """Base of the frozen sections: reading a field its rule did not hand raises NotHanded."""

    KEY: ClassVar[str] = ""  # the config key of the section ("" for the top level)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if value is NOT_HANDED:
            where = object.__getattribute__(self, "KEY")
            key = f"{where}.{name}" if where else name
            raise NotHanded(f"config key '{key}' was not handed to this command: its rule's settings leave it "
                            "out (add it to the command's entry in trt_plugin_bench.commands.dag.RULE_READS, so that a "
                            "change to it reruns the rule)")
        return value

    def _raw(self) -> dict[str, Any]:
        return {f.name: object.__getattribute__(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def handed(self, name: str) -> bool:
        return object.__getattribute__(self, name) is not NOT_HANDED

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._raw() == other._raw()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._raw().items())})"


def _tuple(v: Any) -> Any:
    return tuple(_tuple(x) for x in v) if isinstance(v, (list, tuple)) else v


def _opt_tuple(v: Any) -> Any:
    return v if v is None or v is NOT_HANDED else _tuple(v)


class _Section(_Typed):
    """A config section: fields named as the schema's keys; TUPLES are stored as (nested) tuples."""

    TUPLES: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self.TUPLES:
            object.__setattr__(self, name, _opt_tuple(object.__getattribute__(self, name)))


@dataclass(frozen=True, eq=False, repr=False)
class TimingSettings(_Section):
    """config timing: how every latency state is sampled (stats.StoppingRule) and checked."""

    KEY: ClassVar[str] = "timing"
    TUPLES: ClassVar[tuple[str, ...]] = ("modes",)
    modes: tuple[str, ...]
    pin_cpu: bool
    target_rse: float
    min_samples: int
    max_samples: int
    max_time_s: float
    warmup_min: int
    warmup_time_s: float
    repeats: int
    idle_visits: int
    l2_flush: str
    verify_max_elements: int


@dataclass(frozen=True, eq=False, repr=False)
class ThreadSettings(_Section):
    """config threads: the thread sweep (Python loop and native runner). ``profile`` and ``shape``
    are resolved by from_config: the first profile and its opt shape where the config says none."""

    KEY: ClassVar[str] = "threads"
    TUPLES: ClassVar[tuple[str, ...]] = ("counts", "shape")
    counts: tuple[int, ...]
    iterations: int
    native_iterations: int
    native_graph_batch: int
    native_time_every: int
    native_min_wall_s: float
    profile: str
    shape: tuple[int, ...]


@dataclass(frozen=True, eq=False, repr=False)
class BuilderSettings(_Section):
    """config builder: the TensorRT builder's knobs (the thread-sweep engines get one optimization
    profile per thread: Settings.engine_builder)."""

    KEY: ClassVar[str] = "builder"
    workspace_mib: int
    optimization_level: int
    profiles_per_engine: int


@dataclass(frozen=True, eq=False, repr=False)
class CalibrationSettings(_Section):
    KEY: ClassVar[str] = "calibration"
    TUPLES: ClassVar[tuple[str, ...]] = ("copy_mib",)
    copy_mib: tuple[int, ...]


@dataclass(frozen=True, eq=False, repr=False)
class CompareSettings(_Section):
    """config compare: the interleaved plugin-vs-native comparison."""

    KEY: ClassVar[str] = "compare"
    TUPLES: ClassVar[tuple[str, ...]] = ("pairs",)
    enabled: bool
    target_rse: float
    max_time_s: float
    pairs: tuple[tuple[str, str], ...]
    mode: str
    extra_shapes: dict[str, tuple[tuple[int, ...], ...]]

    def __post_init__(self) -> None:
        super().__post_init__()
        extra = object.__getattribute__(self, "extra_shapes")
        if extra is not NOT_HANDED:
            object.__setattr__(self, "extra_shapes", {k: _tuple(v) for k, v in dict(extra).items()})


@dataclass(frozen=True, eq=False, repr=False)
class KernelBenchSettings(_Section):
    KEY: ClassVar[str] = "kernel_bench"
    TUPLES: ClassVar[tuple[str, ...]] = ("kernels", "elements")
    enabled: bool
    operator: str
    kernels: tuple[str, ...]
    elements: tuple[int, ...]


@dataclass(frozen=True, eq=False, repr=False)
class ProfileSettings(_Section):
    """config profile: the opt-in Nsight Compute pass (operator, dtype, profile and shape are
    required when enabled: config validation says so; None otherwise)."""

    KEY: ClassVar[str] = "profile"
    TUPLES: ClassVar[tuple[str, ...]] = ("shape",)
    enabled: bool
    operator: str | None = None
    dtype: str | None = None
    profile: str | None = None
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False, repr=False)
class ReferenceSettings(_Section):
    """config reference: the CPU reference backend's quick default and its full sweep."""

    KEY: ClassVar[str] = "reference"
    full: bool
    max_elements: int
    max_time_s: float
    thread_iterations: int
    full_max_elements: int
    extra_work: int

    @property
    def limit(self) -> tuple[str, int]:
        """The size limit in force: (its config key, elements)."""
        key = "full_max_elements" if self.full else "max_elements"
        return f"reference.{key}", getattr(self, key)


@dataclass(frozen=True, eq=False, repr=False)
class TuneTimingSettings(_Section):
    """config tune.timing: the tune rule's own stopping rule."""

    KEY: ClassVar[str] = "tune.timing"
    target_rse: float
    min_samples: int
    max_samples: int
    max_time_s: float
    warmup_min: int
    warmup_time_s: float
    pin_cpu: bool


def _names(v: Any) -> Any:
    """A list of kernel names (a tuple), or an {operator: [names]} map (tuples)."""
    if v is None or v is NOT_HANDED:
        return v
    if isinstance(v, Mapping):
        return {str(k): _tuple(x) for k, x in v.items()}
    return _tuple(v)


@dataclass(frozen=True, eq=False, repr=False)
class TuneSettings(_Section):
    """config tune: the tune rule, per tuned operator (every plugin operator that runs auto:
    tune_operators). ``kernels`` and ``finalists_include``: one list for every tuned operator
    (filtered to each one's variants) or an {operator: [names]} map; a rule's copy holds its own
    operator's list (for_operator)."""

    KEY: ClassVar[str] = "tune"
    TUPLES: ClassVar[tuple[str, ...]] = ("band_edges_l2",)
    kernels: tuple[str, ...] | dict[str, tuple[str, ...]]
    finalists: int
    finalists_include: tuple[str, ...] | dict[str, tuple[str, ...]]
    band_edges_l2: tuple[float, ...]
    timing: TuneTimingSettings

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("kernels", "finalists_include"):
            object.__setattr__(self, name, _names(object.__getattribute__(self, name)))

    def for_operator(self, spec: OperatorSpec) -> TuneSettings:
        """These settings with ``spec``'s own candidate lists (operators.tune_candidates,
        tune_includes): what the tune rule of ``spec`` reads, and all it is handed of them."""
        return replace(self, kernels=tuple(tune_candidates(spec, self.kernels)),
                       finalists_include=tuple(tune_includes(spec, self.finalists_include)))


@dataclass(frozen=True, eq=False, repr=False)
class CompileSettings(_Section):
    KEY: ClassVar[str] = "compile"
    cuda_architectures: str


@dataclass(frozen=True, eq=False, repr=False)
class VerdictSettings(_Section):
    KEY: ClassVar[str] = "verdict"
    TUPLES: ClassVar[tuple[str, ...]] = ("fail_on",)
    fail_on: tuple[str, ...]
    remeasure_rounds: int
    cpu_retime_max_s: float


@dataclass(frozen=True, eq=False, repr=False)
class ConformanceSettings(_Section):
    KEY: ClassVar[str] = "conformance"
    TUPLES: ClassVar[tuple[str, ...]] = ("sanitizer_tools",)
    enabled: bool
    enqueue_max_s: float
    blocker_hold_s: float
    child_timeout_s: float
    sanitizer_timeout_s: float
    sanitizer_tools: tuple[str, ...]


@dataclass(frozen=True, eq=False, repr=False)
class InNetworkSettings(_Section):
    """config in_network: each plugin operator between real neighbours against its native twin
    (in_network.py). ``blocks``: name -> {network, cpu, description, sizes: name -> shape}."""

    KEY: ClassVar[str] = "in_network"
    TUPLES: ClassVar[tuple[str, ...]] = ("operators", "dtypes")
    enabled: bool
    operators: tuple[str, ...]
    dtypes: tuple[str, ...]
    blocks: dict[str, Any]
    mode: str
    target_rse: float
    max_time_s: float
    profile_runs: int
    tolerance: dict[str, float]


@dataclass(frozen=True, eq=False, repr=False)
class MlflowSettings(_Section):
    """config mlflow, and ``cli_keys``: its keys given with snakemake --config (they win over
    MLflow's environment variables: config.resolve_tracking)."""

    KEY: ClassVar[str] = "mlflow"
    TUPLES: ClassVar[tuple[str, ...]] = ("cli_keys",)
    experiment: str
    tracking_uri: str
    cli_keys: tuple[str, ...] = ()


# the sections (config key -> dataclass); a nested section (tune.timing) is parsed by its parent
SECTIONS: dict[str, type] = {
    "timing": TimingSettings, "threads": ThreadSettings, "builder": BuilderSettings,
    "calibration": CalibrationSettings, "compare": CompareSettings, "kernel_bench": KernelBenchSettings,
    "profile": ProfileSettings, "reference": ReferenceSettings, "tune": TuneSettings, "compile": CompileSettings,
    "verdict": VerdictSettings, "conformance": ConformanceSettings, "in_network": InNetworkSettings,
    "mlflow": MlflowSettings,
}
NESTED: dict[tuple[str, str], type] = {("tune", "timing"): TuneTimingSettings}
# the top-level keys that are values, not sections
SCALARS = ("experiment", "backend", "operators", "dtypes", "plugin_kernel", "operator_kernels", "beta")


def _section(cls: type, data: Mapping[str, Any], *, partial: bool = False) -> Any:
    """``cls`` from ``data``: a validated section (from_config: a key left out takes the schema's
    default; one without any is an error) or a handed one (from_json, ``partial``: a key left out
    is not handed)."""
    name = cls.KEY
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"config section '{name}': unknown key(s) {', '.join(unknown)}; allowed keys: "
                          + ", ".join(sorted(known)))
    if partial:
        values = {k: data.get(k, NOT_HANDED) for k in known}
    else:
        defaults = schema_defaults(*name.split(".")) if "." in name else schema_defaults(name)
        values = {**{k: v for k, v in defaults.items() if k in known}, **data}
        missing = sorted(set(known) - set(values) - {f.name for f in fields(cls) if f.default is not MISSING})
        if missing:
            raise ConfigError(f"config section '{name}': missing key(s) {', '.join(missing)} (no schema default)")
    for (parent, key), sub in NESTED.items():
        if parent == name and isinstance(values.get(key), Mapping):
            values[key] = _section(sub, values[key], partial=partial)
    return cls(**values)


def section_from(cls: type, data: Mapping[str, Any] | None = None) -> Any:
    """One section alone (``cls``) from ``data``, the schema's defaults filling what it leaves out:
    e.g. the CPU reference backend's limits when no settings are handed."""
    return _section(cls, data or {})


def _to_data(value: Any) -> Any:
    """JSON-ready data of a settings value (not-handed fields left out)."""
    if isinstance(value, Profile):
        return {"min": list(value.min), "opt": list(value.opt), "max": list(value.max),
                "shapes": [list(s) for s in value.shapes]}
    if isinstance(value, _Typed):
        return {k: _to_data(v) for k, v in value._raw().items() if v is not NOT_HANDED}
    if is_dataclass(value):
        raise TypeError(f"not a settings value: {value!r}")
    if isinstance(value, Mapping):
        return {str(k): _to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_data(v) for v in value]
    return value


@dataclass(frozen=True, eq=False, repr=False)
class Settings(_Typed):
    """The whole validated config, typed. A command's copy (from_json) holds only what its rule
    handed it; every other field is not handed."""

    backend: str
    operators: tuple[str, ...]
    dtypes: tuple[str, ...]
    # per dtype: auto, a kernel name or OWN_DEFAULT (each operator's own default: operators.plugin_kernel_per_dtype)
    plugin_kernel: dict[str, str]
    # per operator named in config operator_kernels, per dtype: its kernel (operators.operator_kernels_per_dtype)
    operator_kernels: dict[str, dict[str, str]]
    beta: float
    profiles: dict[str, Profile]
    timing: TimingSettings
    threads: ThreadSettings
    builder: BuilderSettings
    calibration: CalibrationSettings
    compare: CompareSettings
    kernel_bench: KernelBenchSettings
    profile: ProfileSettings
    reference: ReferenceSettings
    tune: TuneSettings
    compile: CompileSettings
    verdict: VerdictSettings
    conformance: ConformanceSettings
    mlflow: MlflowSettings
    in_network: InNetworkSettings = NOT_HANDED  # a section older callers' Settings(...) may leave out
    experiment: str = "default"  # the results folder's name: results/<experiment>/ (dag.results_dir)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], mlflow_cli_keys: tuple[str, ...] | list[str] = ()) -> Settings:
        """The typed form of a config that validate_config returned (every section present, the
        schema's defaults filled); ``mlflow_cli_keys``: the mlflow keys given on the command line."""
        missing = [k for k in (*SCALARS, "profiles", *SECTIONS) if k not in config]
        if missing:
            raise ConfigError(f"Settings.from_config needs a validated config (config.validate_config); this one "
                              f"lacks {', '.join(missing)}")
        profiles = {name: to_profile(name, p) for name, p in config["profiles"].items()}
        threads = dict(config["threads"])
        threads.setdefault("profile", next(iter(profiles)))
        threads.setdefault("shape", profiles[threads["profile"]].opt)
        sections = {name: _section(sub, threads if name == "threads" else config[name]) for name, sub in SECTIONS.items()}
        sections["mlflow"] = replace(sections["mlflow"], cli_keys=tuple(sorted(mlflow_cli_keys)))
        plugin_kernel = plugin_kernel_per_dtype(config["plugin_kernel"], DTYPES)
        return cls(experiment=config["experiment"], backend=config["backend"], operators=tuple(config["operators"]), dtypes=tuple(config["dtypes"]),
                   plugin_kernel=plugin_kernel, operator_kernels=operator_kernels_per_dtype(config["operator_kernels"], plugin_kernel),
                   beta=float(config["beta"]), profiles=profiles, **sections)

    # -- the one serialized form ---------------------------------------------------------------------
    def to_data(self, reads: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The settings as plain data: all of them, or only ``reads``: {top-level key: True (all of
        it) or, for a section, the field names read (a nested section: a mapping again)}."""
        data = _to_data(self)
        return data if reads is None else _select(data, reads, "")

    def to_json(self, reads: Mapping[str, Any] | None = None) -> str:
        """The one serialized form a command receives (sorted keys: a rule's params compare equal)."""
        return json.dumps(self.to_data(reads), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """A command's settings: the keys present typed, every other one not handed."""
        data = json.loads(text or "{}")
        if not isinstance(data, dict):
            raise ConfigError("--settings-json must hold a JSON object (Settings.to_json)")
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"--settings-json: unknown key(s) {', '.join(unknown)}; allowed keys: "
                              + ", ".join(sorted(allowed)))
        values: dict[str, Any] = {k: NOT_HANDED for k in allowed}
        for key in SCALARS:
            if key in data:
                values[key] = _tuple(data[key]) if key in ("operators", "dtypes") else data[key]
        if "profiles" in data:
            values["profiles"] = {name: to_profile(name, p) for name, p in data["profiles"].items()}
        for name, sub in SECTIONS.items():
            if name in data:
                values[name] = _section(sub, data[name], partial=True)
        return cls(**values)

    # -- derived views -------------------------------------------------------------------------------
    def profile_named(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise ConfigError(f"profile {name!r} is not in these settings; allowed values: "
                              + ", ".join(self.profiles)) from None

    def engine_builder(self, profile: str) -> BuilderSettings:
        """The builder settings of one engine: the thread-sweep profile's engines carry one
        optimization profile per thread (TensorRT 8.6 runs one execution context per profile)."""
        builder = self.builder
        if profile == self.threads.profile:
            builder = replace(builder, profiles_per_engine=max(builder.profiles_per_engine, max(self.threads.counts)))
        return builder


def _select(data: Mapping[str, Any], reads: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, want in reads.items():
        name = f"{where}{key}"
        if key not in data:
            raise ConfigError(f"settings key '{name}' does not exist (dag.RULE_READS names it)")
        if want is True:
            out[key] = data[key]
        elif isinstance(want, Mapping):
            out[key] = _select(data[key], want, name + ".")
        else:
            out[key] = _select(data[key], {k: True for k in want}, name + ".")
    return out


__all__ = ["NOT_HANDED", "SECTIONS", "BuilderSettings", "CalibrationSettings", "CompareSettings", "CompileSettings",
           "ConformanceSettings", "InNetworkSettings", "KernelBenchSettings", "MlflowSettings", "NotHanded", "ProfileSettings",
           "ReferenceSettings", "Settings", "ThreadSettings", "TimingSettings", "TuneSettings", "TuneTimingSettings",
           "VerdictSettings"]


def operator_names(settings: Settings) -> list[str]:
    """The names of config ``operators:`` (spec paths resolved to their operators' names)."""
    return [s.name for s in resolve_operators(list(settings.operators))]


def plugin_kernel(op: str, settings: Settings, dtype: str) -> str:
    """The kernel variant an operator's plugin runs: 'optimised' resolves to config operator_kernels
    where it names the operator, else to config plugin_kernel (Settings.plugin_kernel: one name or
    auto per dtype, the kernel measured best can differ by dtype); a dtype neither chooses for
    (OWN_DEFAULT) runs the operator's own default (its spec's variants.default)."""
    spec = get_operator(op)
    kernel = spec.kernel or ""
    if kernel != "optimised":
        return kernel
    own = settings.operator_kernels.get(op)
    chosen = own[dtype] if own else settings.plugin_kernel[dtype]
    return default_kernel(spec) if chosen == OWN_DEFAULT else chosen


def tune_subject(op: str, settings: Settings) -> str | None:
    """The operator whose tune (and choice table) ``op`` runs where its kernel is auto: itself, or the
    first configured operator with the same variants and direct kernels (operators.tune_subjects);
    None for an operator with nothing to tune."""
    subjects = tune_subjects(resolve_operators(list(settings.operators)))
    if op in subjects:
        return subjects[op]
    return op if tune_group(get_operator(op)) is not None else None
