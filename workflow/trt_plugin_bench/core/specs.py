"""Operator specs: one YAML file per benchmarked operator, parsed once into frozen dataclasses.

A spec (ops/<name>.yaml, or any file config ``operators:`` names) says what an operator computes
(a float64 reference), how TensorRT runs it (a plugin creator and its library, or TensorRT's own
layers through a native twin), its inputs and their value generators, its tolerances in ulps of
the output dtype, and its cost model (bytes and FLOPs behind "% of the copy ceiling").
workflow/schemas/operator.schema.yaml checks keys and types; ``load_spec`` adds what a schema
cannot say and stops before any work on the first problem, naming the file, the key and what is
allowed: each function must import and be callable, the reference, cost model and CPU
implementation are called once on a tiny random input, and every keyword argument they take must
be a declared field.

Functions are written ``module:function``. The module is imported from the spec's own folder
first (so an external plugin's reference lives beside its spec), then by its name (the package,
``trt_plugin_bench.core.oracle``, or anything on sys.path).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from . import oracle
from .row_check import RowLayout, row_layout, take_rows
from .schema import PROJECT_ROOT, WORKFLOW_DIR, ConfigError, _format_schema_error, _key_path, _with_defaults

SPEC_SCHEMA_PATH = WORKFLOW_DIR / "schemas" / "operator.schema.yaml"
OPS_DIR = PROJECT_ROOT / "ops"
DTYPES = ("fp32", "fp16", "bf16")
TWIN_SUFFIX = "_native"
EDGE_KINDS = oracle.DEFAULT_EDGES
# the tiny input every reference, cost model and CPU implementation is called on at load
PROBE_DIM = 4
# the leading axes of independent_rows' probe (not PROBE_DIM: a row is then no column)
ROWS_PROBE_DIM = 5


class SpecError(ConfigError):
    """An operator spec that cannot run, raised at load (Snakefile parse), before any work."""


def _fail(path: Path | None, key: str, problem: str) -> SpecError:
    where = f"operator spec {path}" if path is not None else "operator spec"
    return SpecError(f"{where}: key '{key}': {problem}")


# -- the dataclasses ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One attribute: a PluginField of the plugin, and a keyword argument of the spec's functions."""

    name: str
    type: str  # float32 | float64 | float16 | int8 | int16 | int32 | char
    default: Any = None
    value_from: str | None = None  # beta | kernel | kernel_table: the framework supplies the value


@dataclass(frozen=True)
class Library:
    """Where the plugin creator comes from: a CMake folder the compile rule builds, or a prebuilt .so."""

    cmake: Path | None = None  # absolute: the folder holding CMakeLists.txt
    target: str | None = None  # the library file the build produces
    prebuilt: Path | None = None

    @property
    def manifest_key(self) -> str:
        """Its key in the compile manifest's spec_libraries: the CMake folder and target (one folder
        may build several), or the prebuilt file."""
        return str(self.prebuilt) if self.prebuilt is not None else f"{self.cmake}::{self.target}"



@dataclass(frozen=True)
class Plugin:
    creator: str
    version: str
    namespace: str
    library: Library
    init: str | None = None


@dataclass(frozen=True)
class Variants:
    """A plugin's kernel variants (spec key ``variants``): the ids its kernel field takes, read from a
    file beside the spec (``ids``: CSV ``id,name,status``, status ``retired`` for an id the library
    refuses), the one the framework runs by default, and the C functions the library exports that
    name its own ids (checked against the file whenever the library is loaded)."""

    ids_file: Path
    default: str
    count_symbol: str | None = None  # int32_t f(void): one past the highest id
    name_symbol: str | None = None  # char const* f(int32_t): an id's name, NULL for a retired one
    direct_library: str | None = None  # the kernels without TensorRT (the kernel_bench rule), built beside the plugin
    direct_launch: str | None = None  # its launch function (cuda_direct.KernelLibrary: the ABI)

    def table(self) -> tuple[dict[str, int], dict[int, str], int]:
        """(name -> id of every live kernel, retired id -> name, one past the highest id)."""
        return _variant_table(str(self.ids_file))


@functools.cache
def _variant_table(path: str) -> tuple[dict[str, int], dict[int, str], int]:
    live: dict[str, int] = {}
    retired: dict[int, str] = {}
    try:
        rows = list(csv.DictReader(line for line in Path(path).read_text().splitlines()
                                   if line.strip() and not line.startswith("#")))
    except OSError as exc:
        raise SpecError(f"kernel variant ids {path} (key 'variants.ids'): {exc}") from exc
    for i, row in enumerate(rows):
        try:
            kid, name, status = int(row["id"]), str(row["name"]).strip(), str(row.get("status") or "").strip()
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"kernel variant ids {path}: row {i + 1}: {row!r}; allowed: id,name,status with an "
                            "integer id") from exc
        if status == "retired":
            retired[kid] = name
        else:
            live[name] = kid
    count = max([*live.values(), *retired.keys()], default=-1) + 1
    return live, retired, count


@dataclass(frozen=True)
class Generator:
    """An input's values: random draws, the edge values over its first and last elements."""

    distribution: str = "normal"
    scale: float = 6.0
    low: float = -1.0
    high: float = 1.0
    edges: tuple[Any, ...] = EDGE_KINDS  # kinds (str) or numbers (float)


@dataclass(frozen=True)
class TensorSpec:
    """An input (or a constant weight) of the operator. Input 0's shape comes from the config's
    profiles; another input's or a weight's from its shape rule against an input:
    ``like`` (that input's shape), with ``broadcast`` (those axes of it are 1) or ``axes`` (only
    those axes of it kept: a weight of shape [H] is ``axes: [-1]``); or ``dims`` alone (its own,
    fixed shape). ``dtype``: same (the engine's dtype) or a fixed one."""

    name: str
    rank: int | None = None  # None: any rank
    dims: tuple[Any, ...] = ()  # per dim: int (fixed), None (dynamic) or (min, max)
    generator: Generator = Generator()
    dtype: str = "same"
    like: str | None = None  # the input whose shape this one follows (None: input 0's own profile)
    broadcast: tuple[int, ...] = ()  # axes of ``like`` that are 1 here
    axes: tuple[int, ...] | None = None  # the axes of ``like`` this one keeps (None: all)

    def dtype_for(self, engine_dtype: str) -> str:
        return engine_dtype if self.dtype == "same" else self.dtype


@dataclass(frozen=True)
class OutputSpec:
    """An output: its shape is an input's (``like``), or what ``function`` (module:function(shapes,
    **fields) -> shape, shapes: every input's) returns; its dtype the engine's."""

    name: str
    like: str | None = None
    function: str | None = None


@dataclass(frozen=True)
class Tolerance:
    ulps: float
    abs: float = 0.0


@dataclass(frozen=True)
class OperatorSpec:
    """What a benchmarked operator is and how TensorRT expresses it (the spec file, parsed)."""

    name: str
    description: str
    function: str  # the math, shared by every implementation of it (plugin variants, native)
    implementation: str  # "native" (TensorRT layers) | "plugin_v2" | "plugin_v3"
    kernel: str | None = None  # optimised (config plugin_kernel / the tune rule) | naive: of variants
    variants: Variants | None = None  # the plugin's kernel variants (their ids, the default)
    min_tensorrt_major: int = 8
    path: Path | None = None  # the spec file (None: built in code, e.g. by a test)
    builtin: bool = False  # from ops/: resolved by name in every process
    plugin: Plugin | None = None
    fields: tuple[Field, ...] = ()
    dtypes: tuple[str, ...] = DTYPES
    inputs: tuple[TensorSpec, ...] = (TensorSpec("x"),)
    outputs: tuple[str, ...] = ("y",)
    weights: tuple[TensorSpec, ...] = ()  # constants built into the engine (e.g. a norm's gamma, beta)
    output_specs: tuple[OutputSpec, ...] = ()  # outputs' shape rules (empty: one output like input 0)
    reference: str = ""
    cpu_implementation: str | None = None
    tolerances: tuple[tuple[str, Tolerance], ...] = ()
    tolerance_model: str | None = None
    nan_input_may_give_zero: bool = False
    ftz: tuple[bool, bool] = (False, True)  # (the plugin side, TensorRT's layers): a flushed subnormal passes
    color: str | None = None  # the operator's colour in every figure (None: one from the palette)
    native_operator: str | None = None  # a plugin's TensorRT-native twin in the tables (None: <name>_native)
    ncu_kernels: str = "regex:.*"  # the kernels the profile rule's Nsight Compute run profiles (ncu -k)
    native_twin: str | None = None
    cost: str = ""
    twin_of: str | None = None  # the plugin operator whose native twin this is
    # every output row (index along input 0's leading axes) depends only on the same row of the inputs
    # with those axes and on the inputs and weights without them, whole: a large output is checked by rows
    independent_rows: bool = False

    @property
    def uses_plugin(self) -> bool:
        return self.implementation.startswith("plugin")

    @property
    def tensorrt_layers(self) -> bool:
        """TensorRT's own layers compute this operator, so its outputs are held to what TensorRT's
        layers do (oracle.check_output's tensorrt_layers: flushed subnormals, a half-precision
        sigmoid in fp16); the plugin kernels are held to the numerics contract."""
        return self.implementation == "native"

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path is not None else PROJECT_ROOT

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def tolerance(self, dtype: str) -> Tolerance | None:
        return dict(self.tolerances).get(dtype)

    def fn(self, which: str) -> Callable:
        """The imported function of key ``which`` (reference, cost, native_twin, ...)."""
        key = {"tolerance_model": "tolerance.model"}.get(which, which)
        ref = getattr(self, which)
        if not ref:
            raise _fail(self.path, key, "is not set")
        return import_function(ref, self.folder, self.path, key)

    def kwargs(self, fn: Callable, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The fields ``fn`` takes by keyword, at their defaults unless ``values`` overrides them."""
        values = dict(values or {})
        wanted = _keyword_names(fn)
        out = {}
        for f in self.fields:
            if wanted is None or f.name in wanted:
                out[f.name] = values.get(f.name, f.default)
        return out

    def cost_of(self, shapes: Sequence[tuple[int, ...]], dtype: str, values: Mapping[str, Any] | None = None) -> dict:
        """{"bytes": read + written, "flops": ...} of one inference at ``shapes`` (the cost model)."""
        fn = self.fn("cost")
        return _cost_result(fn([tuple(s) for s in shapes], dtype, **self.kwargs(fn, values)), self.path)

    def twin(self) -> OperatorSpec:
        """The native twin as an operator of its own (``<name>_native``): the compare rule's other side."""
        if self.native_twin is None or not self.uses_plugin:
            raise _fail(self.path, "native_twin", f"{self.name} has no native twin (null, or a native operator)")
        return dataclasses.replace(
            self, name=self.name + TWIN_SUFFIX, implementation="native", kernel=None, variants=None, min_tensorrt_major=8,
            color=None, native_operator=None, ncu_kernels="regex:.*",
            plugin=None, description=f"TensorRT-native twin of {self.name} ({self.native_twin})",
            fields=tuple(f for f in self.fields if f.value_from not in ("kernel", "kernel_table")), twin_of=self.name)

    def tensor_shape(self, t: TensorSpec, shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
        """``t``'s shape from the inputs' shapes already known (by name): its shape rule."""
        if t.like is None:
            return tuple(v if isinstance(v, int) else 1 for v in t.dims)
        base = list(shapes[t.like])
        for axis in t.broadcast:
            base[axis] = 1
        if t.axes is not None:
            base = [base[a] for a in t.axes]
        return tuple(base)

    def input_shapes(self, shape: Sequence[int]) -> list[tuple[int, ...]]:
        """Every input's shape when input 0 has ``shape``, in order (the shape rules)."""
        known = {self.inputs[0].name: tuple(shape)}
        for t in self.inputs[1:]:
            known[t.name] = self.tensor_shape(t, known)
        return [known[t.name] for t in self.inputs]

    def weight_shapes(self, shape: Sequence[int]) -> list[tuple[int, ...]]:
        known = dict(zip((t.name for t in self.inputs), self.input_shapes(shape)))
        return [self.tensor_shape(w, known) for w in self.weights]

    def all_shapes(self, shape: Sequence[int]) -> list[tuple[int, ...]]:
        """The cost model's shapes: every input's, then every weight's, when input 0 has ``shape``."""
        return [*self.input_shapes(shape), *self.weight_shapes(shape)]

    def output_shapes(self, shape: Sequence[int], values: Mapping[str, Any] | None = None) -> list[tuple[int, ...]]:
        """Every output's shape when input 0 has ``shape`` (its shape rule)."""
        shapes = self.input_shapes(shape)
        known = dict(zip((t.name for t in self.inputs), shapes))
        out = []
        for i, o in enumerate(self.output_specs or (OutputSpec(self.outputs[0]),)):
            if o.function:
                fn = import_function(o.function, self.folder, self.path, f"outputs[{i}].shape.function")
                out.append(tuple(int(d) for d in fn(shapes, **self.kwargs(fn, values))))
            else:
                out.append(known[o.like or self.inputs[0].name])
        return out

    def row_layout(self, shape: Sequence[int], values: Mapping[str, Any] | None = None) -> RowLayout | str:
        """How one inference's tensors split into rows of input 0's leading axes when input 0 has
        ``shape`` (row_check.RowLayout: inputs 1.. and the weights sliced or whole, each output's row),
        or why its outputs cannot be checked row by row (a sentence naming the operator)."""
        if not self.independent_rows:
            return f"{self.name}: its spec does not declare independent_rows"
        names = [*(f"input {t.name!r}" for t in self.inputs[1:]), *(f"weight {w.name!r}" for w in self.weights)]
        layout = row_layout(shape, [*self.input_shapes(shape)[1:], *self.weight_shapes(shape)],
                            self.output_shapes(shape, values), names, [f"output {o!r}" for o in self.outputs])
        return layout if isinstance(layout, RowLayout) else f"{self.name}: {layout}"

    def shape_problem(self, shape: Sequence[int], index: int = 0) -> str | None:
        """Why ``shape`` cannot be input ``index`` (rank, a fixed or bounded dim), or None."""
        t = self.inputs[index]
        key = f"inputs[{index}]"
        if t.rank is not None and len(shape) != t.rank:
            return f"rank {len(shape)} but {key}.rank is {t.rank}"
        for axis, (d, allowed) in enumerate(zip(shape, t.dims)):
            if isinstance(allowed, int) and d != allowed:
                return f"dimension {axis} is {d} but {key}.dims[{axis}] is fixed at {allowed}"
            if isinstance(allowed, tuple) and not allowed[0] <= d <= allowed[1]:
                return f"dimension {axis} is {d} but {key}.dims[{axis}] allows {allowed[0]}..{allowed[1]}"
        return None


# -- function import --------------------------------------------------------------------------------
_MODULES: dict[tuple[str, str], Any] = {}


def _import_module(module: str, folder: Path) -> Any:
    """``module`` from ``folder`` (a .py file or a package there), else by name."""
    cache_key = (str(folder), module)
    if cache_key in _MODULES:
        return _MODULES[cache_key]
    parts = module.split(".")
    candidates = [folder.joinpath(*parts).with_suffix(".py"), folder.joinpath(*parts, "__init__.py")]
    found = next((c for c in candidates if c.is_file()), None)
    if found is not None:
        unique = "tpb_spec_" + hashlib.sha256(str(found.resolve()).encode()).hexdigest()[:12] + "_" + "_".join(parts)
        spec = importlib.util.spec_from_file_location(unique, found)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[unique] = mod
        sys.path.insert(0, str(folder))  # its own sibling imports
        try:
            spec.loader.exec_module(mod)  # type: ignore[union-attr]
        finally:
            sys.path.remove(str(folder))
    else:
        mod = importlib.import_module(module)
    _MODULES[cache_key] = mod
    return mod


def import_function(ref: str, folder: Path, path: Path | None = None, key: str = "function") -> Callable:
    module, _, name = ref.partition(":")
    try:
        mod = _import_module(module, folder)
    except Exception as exc:  # noqa: BLE001 - any import failure is the spec's problem, said once
        raise _fail(path, key, f"{ref}: module {module!r} does not import ({type(exc).__name__}: {exc}); "
                               f"allowed: a module in {folder} or importable by name") from exc
    fn = getattr(mod, name, None)
    if fn is None or not callable(fn):
        public = sorted(n for n, v in vars(mod).items() if callable(v) and not n.startswith("_"))
        raise _fail(path, key, f"{ref}: {module} has no function {name!r}; its functions: {', '.join(public) or 'none'}")
    return fn


def _keyword_names(fn: Callable) -> set[str] | None:
    """The names ``fn`` accepts by keyword (None: it takes **kwargs, so every field)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _required_keywords(fn: Callable, positional: int) -> list[str]:
    """The parameters of ``fn`` after its first ``positional`` that have no default: each must be a field."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    rest = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)][positional:]
    return [p.name for p in rest if p.default is inspect.Parameter.empty]


def _cost_result(result: Any, path: Path | None) -> dict:
    if not isinstance(result, Mapping) or set(result) != {"bytes", "flops"}:
        raise _fail(path, "cost", f"returned {result!r}; allowed: a mapping with exactly the keys bytes and flops")
    out = {}
    for k in ("bytes", "flops"):
        v = result[k]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float)) or not v >= 0:
            raise _fail(path, "cost", f"returned {k}={v!r}; allowed: a number >= 0")
        out[k] = int(v)
    return out


# -- parsing ----------------------------------------------------------------------------------------
def load_schema() -> dict[str, Any]:
    with SPEC_SCHEMA_PATH.open() as f:
        return yaml.safe_load(f)


def _schema_message(error: jsonschema.ValidationError) -> tuple[str, str]:
    key = _key_path(error)
    text = _format_schema_error(error).replace("config key", "key").replace("unknown config key(s)", "unknown key(s)")
    return key, text


def _validate_raw(raw: Any, path: Path | None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(f"operator spec {path}: must hold a mapping at the top level")
    data = copy.deepcopy(raw)
    validator = _with_defaults(jsonschema.Draft202012Validator)(load_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise SpecError(f"operator spec {path}: " + "; ".join(_schema_message(e)[1] for e in errors))
    return data


def _edges(raw: list) -> tuple[Any, ...]:
    # PyYAML's .nan is -nan on x86 (inf / inf): every NaN is the positive quiet NaN numpy writes
    return tuple(str(v) if isinstance(v, str) else (float(np.nan) if np.isnan(v) else float(v)) for v in raw)


def _tensor(d: dict) -> TensorSpec:
    g = d.get("generator", {})
    dims = tuple(v if not isinstance(v, dict) else (int(v["min"]), int(v["max"])) for v in d.get("dims", ()))
    shape = d.get("shape") or {}
    axes = shape.get("axes")
    return TensorSpec(d["name"], d.get("rank"), dims,
                      Generator(g.get("distribution", "normal"), float(g.get("scale", 6.0)), float(g.get("low", -1.0)),
                                float(g.get("high", 1.0)), _edges(g.get("edges", list(EDGE_KINDS)))),
                      d.get("dtype", "same"), shape.get("like"), tuple(int(a) for a in shape.get("broadcast", ())),
                      tuple(int(a) for a in axes) if axes is not None else None)


def _check_tensors(path: Path | None, inputs: tuple[TensorSpec, ...], weights: tuple[TensorSpec, ...],
                   outputs: tuple[OutputSpec, ...]) -> None:
    """The shape rules name inputs that exist (before them), axes inside the rank they can know."""
    names: list[str] = []
    for key, tensors in (("inputs", inputs), ("weights", weights)):
        for i, t in enumerate(tensors):
            where = f"{key}[{i}].shape"
            if key == "inputs" and i == 0 and t.like is not None:
                raise _fail(path, where, "input 0's shape comes from the config's profiles; allowed: no shape rule")
            if key == "inputs" and i > 0 and t.like is None and not t.dims:
                raise _fail(path, where, f"input {t.name!r} has no shape rule; allowed: {{like: <an input before "
                                         "it>, broadcast: [axes]}} or fixed dims")
            if key == "weights" and t.like is None and not (t.dims and all(isinstance(v, int) for v in t.dims)):
                raise _fail(path, where, f"weight {t.name!r} has no shape rule; allowed: {{like: <input>, axes: "
                                         "[axes kept]}} or fixed dims (integers)")
            if t.like is not None and t.like not in names:
                allowed = ", ".join(names) or "none (input 0 has no rule)"
                raise _fail(path, f"{where}.like", f"{t.like!r} is not an input before it; allowed values: {allowed}")
            if t.broadcast and t.axes is not None:
                raise _fail(path, where, "broadcast and axes together; allowed: one of them")
            if key == "inputs":
                names.append(t.name)
        if key == "inputs":
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise _fail(path, "inputs", f"input names {', '.join(dup)} repeat; allowed: unique names")
    for i, o in enumerate(outputs):
        if o.like is not None and o.like not in names:
            raise _fail(path, f"outputs[{i}].shape.like", f"{o.like!r} is not an input; allowed values: {', '.join(names)}")


def parse_spec(raw: Any, path: Path | None = None, builtin: bool = False, check: bool = True) -> OperatorSpec:
    """A validated OperatorSpec from a spec's mapping; ``check`` also imports and calls its functions."""
    path = Path(path).resolve() if path is not None else None
    d = _validate_raw(raw, path)
    folder = path.parent if path is not None else PROJECT_ROOT
    impl = d["implementation"]
    plugin = None
    if impl == "native" and "plugin" in d:
        raise _fail(path, "plugin", "a native operator has no plugin; allowed: leave it out, or implementation plugin_v2 / plugin_v3")
    if impl != "native":
        if "plugin" not in d:
            raise _fail(path, "plugin", f"implementation {impl} needs a plugin: creator, version, library")
        p = d["plugin"]
        lib = p["library"]
        library = (Library(cmake=(folder / lib["cmake"]).resolve(), target=lib["target"]) if "cmake" in lib
                   else Library(prebuilt=(folder / lib["prebuilt"]).resolve()))
        if library.cmake is not None and not (library.cmake / "CMakeLists.txt").is_file():
            raise _fail(path, "plugin.library.cmake", f"{library.cmake} holds no CMakeLists.txt; allowed: a CMake source folder "
                                                      "(relative to the spec file)")
        plugin = Plugin(p["creator"], str(p["version"]), p.get("namespace", ""), library, p.get("init"))
    if impl == "native" and d.get("native_twin") is None:
        raise _fail(path, "native_twin", "a native operator is built by its native twin; allowed: module:function")
    if impl == "plugin_v3" and d["min_tensorrt_major"] < 10:
        raise _fail(path, "min_tensorrt_major", f"{d['min_tensorrt_major']} for IPluginV3; allowed: >= 10")
    # a beta field's value comes from config beta; its default (1.0) is what the load-time probe calls with
    fields = tuple(Field(n, f["type"], f.get("default", 1.0 if f.get("value_from") == "beta" else None), f.get("value_from"))
                   for n, f in d.get("fields", {}).items())
    for f in fields:
        if f.value_from is None and f.default is None:
            raise _fail(path, f"fields.{f.name}", "has neither default nor value_from; allowed: a default value")
        if f.value_from in ("kernel", "kernel_table") and d.get("kernel") is None:
            raise _fail(path, f"fields.{f.name}.value_from", f"{f.value_from} needs key 'kernel' (optimised or naive)")
    if d.get("kernel") is not None and impl == "native":
        raise _fail(path, "kernel", "a native operator runs no plugin kernel; allowed: null")
    variants = None
    if "variants" in d:
        v = d["variants"]
        ids_file = (folder / v["ids"]).resolve()
        if not ids_file.is_file():
            raise _fail(path, "variants.ids", f"{ids_file} does not exist; allowed: a CSV file id,name,status "
                                              "(relative to the spec file)")
        direct = v.get("direct") or {}
        variants = Variants(ids_file, v["default"], v.get("count_symbol"), v.get("name_symbol"), direct.get("library"),
                            direct.get("launch"))
        live, _, _ = variants.table()
        if variants.default not in live:
            raise _fail(path, "variants.default", f"{variants.default!r} is not a kernel of {ids_file}; allowed "
                                                  f"values: {', '.join(live)}")
    if d.get("kernel") is not None and variants is None:
        raise _fail(path, "kernel", f"{d['kernel']} needs key 'variants' (the plugin's kernel ids); allowed: "
                                    "null, or declare variants")
    inputs = tuple(_tensor(t) for t in d["inputs"])
    weights = tuple(_tensor(t) for t in d.get("weights", []))
    output_specs = tuple(OutputSpec(o["name"], (o.get("shape") or {}).get("like") if isinstance(o.get("shape"), dict) else None,
                                    (o.get("shape") or {}).get("function") if isinstance(o.get("shape"), dict) else None)
                         for o in d["outputs"])
    _check_tensors(path, inputs, weights, output_specs)
    for i, t in enumerate(inputs):
        if t.rank is not None and t.dims and len(t.dims) != t.rank:
            raise _fail(path, f"inputs[{i}].dims", f"{len(t.dims)} dims for rank {t.rank}; allowed: one per dimension")
        for j, v in enumerate(t.dims):
            if isinstance(v, tuple) and v[0] > v[1]:
                raise _fail(path, f"inputs[{i}].dims[{j}]", f"min {v[0]} > max {v[1]}")
    tol = d["tolerance"]
    tolerances = tuple((dt, Tolerance(float(tol[dt]["ulps"]), float(tol[dt].get("abs", 0.0))))
                       for dt in DTYPES if dt in tol)
    missing = [dt for dt in d["dtypes"] if dt not in tol and "model" not in tol]
    if missing:
        raise _fail(path, "tolerance", f"no tolerance for {', '.join(missing)} (declared in dtypes); allowed: "
                                       "{ulps: N, abs: A} per dtype, or a model")
    spec = OperatorSpec(
        name=d["name"], description=d["description"], function=d.get("function", d["name"]), implementation=impl,
        kernel=d.get("kernel"), variants=variants, min_tensorrt_major=int(d["min_tensorrt_major"]), path=path, builtin=builtin,
        plugin=plugin, fields=fields, dtypes=tuple(d["dtypes"]), inputs=inputs,
        outputs=tuple(o["name"] for o in d["outputs"]), weights=weights, output_specs=output_specs,
        reference=d["reference"],
        cpu_implementation=d.get("cpu_implementation"), tolerances=tolerances, tolerance_model=tol.get("model"),
        nan_input_may_give_zero=bool(tol.get("nan_input_may_give_zero", False)),
        ftz=(bool(tol.get("ftz", {}).get("plugin", False)), bool(tol.get("ftz", {}).get("tensorrt_layers", True))),
        color=d.get("color"), native_operator=d.get("native_operator"), ncu_kernels=d["ncu_kernels"], native_twin=d.get("native_twin"),
        cost=d["cost"], independent_rows=bool(d.get("independent_rows", False)))
    if check:
        check_functions(spec)
    return spec


def probe_shape(spec: OperatorSpec) -> tuple[int, ...]:
    """A tiny shape input 0 accepts: fixed dims as they are, the others PROBE_DIM (or their min)."""
    t = spec.inputs[0]
    rank = t.rank or (len(t.dims) if t.dims else 2)
    dims = list(t.dims) + [None] * (rank - len(t.dims))
    return tuple(v if isinstance(v, int) else (max(v[0], min(PROBE_DIM, v[1])) if isinstance(v, tuple) else PROBE_DIM)
                 for v in dims)


def check_functions(spec: OperatorSpec) -> None:
    """Import every function the spec names and call the reference, cost model, CPU implementation
    and tolerance model once on a tiny random input (fp32), so a missing or failing one stops the
    run here; every keyword argument without a default must be a declared field."""
    declared = set(spec.field_names)
    n_arrays = len(spec.inputs) + len(spec.weights)
    positional = {"reference": n_arrays, "cpu_implementation": n_arrays, "cost": 2,
                  "tolerance_model": 3, "native_twin": 5}
    fns: dict[str, Callable] = {}
    for which, n in positional.items():
        if not getattr(spec, which):
            continue
        key = {"tolerance_model": "tolerance.model"}.get(which, which)
        fn = spec.fn(which)
        unknown = [p for p in _required_keywords(fn, n) if p not in declared]
        if unknown:
            raise _fail(spec.path, key, f"{getattr(spec, which)} takes {', '.join(unknown)}, which is not a declared field; "
                                        f"allowed fields: {', '.join(sorted(declared)) or 'none (add them under fields:)'}")
        fns[which] = fn
    shape = probe_shape(spec)
    problem = spec.shape_problem(shape)
    if problem:  # only a contradictory inputs section gets here
        raise _fail(spec.path, "inputs[0]", f"no shape fits it ({problem})")
    rng = np.random.default_rng(0)
    all_shapes = spec.all_shapes(shape)
    arrays = [rng.standard_normal(s) for s in all_shapes]
    x64 = arrays[0]
    try:
        expected = spec.output_shapes(shape)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the spec's shape function failed
        raise _fail(spec.path, "outputs", f"an output's shape rule raised {type(exc).__name__}: {exc} for input "
                                          f"shapes {[list(s) for s in spec.input_shapes(shape)]}") from exc
    calls = {
        "reference": lambda fn: fn(*arrays, **spec.kwargs(fn)),
        "cpu_implementation": lambda fn: fn(*(a.astype(np.float32) for a in arrays), **spec.kwargs(fn)),
        "tolerance_model": lambda fn: fn(x64, "fp32", False, **spec.kwargs(fn)),
    }
    for which, call in calls.items():
        if which not in fns:
            continue
        key = {"tolerance_model": "tolerance.model"}.get(which, which)
        try:
            result = call(fns[which])
        except Exception as exc:  # noqa: BLE001 - the spec's function failed: say so, with its words
            raise _fail(spec.path, key, f"{getattr(spec, which)} raised {type(exc).__name__}: {exc} on random "
                                        f"float64 inputs of shapes {[list(s) for s in all_shapes]}") from exc
        outs = list(result) if isinstance(result, (tuple, list)) else [result]
        wanted = [shape] if which == "tolerance_model" else expected
        outs = [np.asarray(o) for o in outs]
        if len(outs) != len(wanted) or any(
                o.shape != w or (which != "tolerance_model" and not np.issubdtype(o.dtype, np.floating))
                for o, w in zip(outs, wanted)):
            got = ", ".join(f"{o.dtype} {list(o.shape)}" for o in outs)
            raise _fail(spec.path, key, f"{getattr(spec, which)} returned {got} for inputs of shapes "
                                        f"{[list(s) for s in all_shapes]}; allowed: {len(wanted)} float array(s) of "
                                        f"shape(s) {[list(w) for w in wanted]} (the outputs' shape rules)")
    if spec.independent_rows:
        check_independent_rows(spec, fns["reference"])
    try:
        fn = fns["cost"]
        result = fn(all_shapes, "fp32", **spec.kwargs(fn))
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _fail(spec.path, "cost", f"{spec.cost} raised {type(exc).__name__}: {exc} for shapes {[list(shape)]}") from exc
    _cost_result(result, spec.path)


def rows_probe_shape(spec: OperatorSpec) -> tuple[int, ...]:
    """probe_shape with several rows: its free leading axes (all but the last) ROWS_PROBE_DIM."""
    shape = list(probe_shape(spec))
    dims = spec.inputs[0].dims
    for axis in range(len(shape) - 1):
        allowed = dims[axis] if axis < len(dims) else None
        if allowed is None:
            shape[axis] = ROWS_PROBE_DIM
        elif isinstance(allowed, tuple):
            shape[axis] = max(allowed[0], min(ROWS_PROBE_DIM, allowed[1]))
    return tuple(shape)


def check_independent_rows(spec: OperatorSpec, reference: Callable) -> None:
    """What ``independent_rows: true`` claims, on a probe: the tensors split into rows (RowLayout),
    and the float64 reference of a few rows alone (the first, a middle one, the last; the row-aligned
    inputs sliced alike, the others whole) equals those rows of its reference of every row. A
    reduction across rows, a scan or a global statistic fails here, at load."""
    key = "independent_rows"
    shape = rows_probe_shape(spec)
    layout = spec.row_layout(shape)
    if not isinstance(layout, RowLayout):
        raise _fail(spec.path, key, f"true, but at the probe shape {list(shape)} {layout}; allowed: false (every "
                                    "output checked in full), or tensors that split into rows of input 0's leading axes")
    rows = np.unique(np.array([0, layout.rows // 2, layout.rows - 1], dtype=np.int64))
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in spec.all_shapes(shape)]
    sliced = [take_rows(arrays[0], rows, layout),
              *(take_rows(a, rows, layout) if aligned else a for a, aligned in zip(arrays[1:], layout.aligned))]
    kwargs = spec.kwargs(reference)
    try:
        with np.errstate(all="ignore"):
            full = reference(*arrays, **kwargs)
            part = reference(*sliced, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the spec's function failed on the rows: say so
        raise _fail(spec.path, key, f"true, but {spec.reference} raised {type(exc).__name__}: {exc} on rows "
                                    f"{rows.tolist()} of the probe shape {list(shape)} (shapes "
                                    f"{[list(np.shape(a)) for a in sliced]})") from exc
    full = list(full) if isinstance(full, (tuple, list)) else [full]
    part = list(part) if isinstance(part, (tuple, list)) else [part]
    for j, (f, p) in enumerate(zip(full, part)):
        want = np.asarray(f, dtype=np.float64).reshape(layout.rows, -1)[rows]
        got = np.asarray(p, dtype=np.float64)
        same = got.size == want.size
        if same:
            got = got.reshape(want.shape)
            with np.errstate(all="ignore"):
                scale = float(np.nanmax(np.abs(np.where(np.isfinite(want), want, 0.0)), initial=0.0))
                same = bool(np.allclose(got, want, rtol=1e-9, atol=1e-12 * max(scale, 1.0), equal_nan=True))
        if not same:
            raise _fail(spec.path, key, f"true, but {spec.reference}'s output {j} of rows {rows.tolist()} alone "
                                        f"differs from those rows of its output for all {layout.rows} rows (probe shape "
                                        f"{list(shape)}, random inputs): its rows depend on other rows; allowed: false "
                                        "(every output checked in full)")


# -- loading and the registry -----------------------------------------------------------------------
_BY_PATH: dict[str, OperatorSpec] = {}
_LOADED: dict[str, OperatorSpec] = {}  # external specs (and their twins) loaded in this process


def load_spec(path: str | Path, builtin: bool = False) -> OperatorSpec:
    """The spec in ``path``, parsed and checked once per process."""
    path = Path(path).resolve()
    key = str(path)
    if key in _BY_PATH:
        return _BY_PATH[key]
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise SpecError(f"operator spec {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"operator spec {path} is not valid YAML: {exc}") from exc
    spec = parse_spec(raw, path, builtin=builtin)
    if not builtin and spec.name != path.stem and OPS_DIR in path.parents:
        raise _fail(path, "name", f"{spec.name!r} in {path}; allowed: the file's stem {path.stem!r}")
    _BY_PATH[key] = spec
    return spec


def builtin_specs(ops_dir: Path = OPS_DIR) -> dict[str, OperatorSpec]:
    """Every spec in ops/ and its folders (ops/<op>/<name>.yaml beside the op's modules), by name."""
    if not Path(ops_dir).is_dir():
        raise SpecError(f"the built-in operator specs are missing: {ops_dir} is not a folder (a copy of the project "
                        "needs ops/ beside workflow/)")
    out: dict[str, OperatorSpec] = {}
    for p in sorted(Path(ops_dir).rglob("*.yaml")):
        spec = load_spec(p, builtin=True)
        if spec.name != p.stem:
            raise _fail(spec.path, "name", f"{spec.name!r} in {p}; allowed: the file's stem {p.stem!r}")
        out[spec.name] = spec
    return out


def is_spec_path(entry: str) -> bool:
    return entry.endswith((".yaml", ".yml")) or "/" in entry


def find_spec_file(entry: str, base: Path | None = None) -> Path:
    """A spec path from config: relative to ``base`` (the working directory), else the project root."""
    p = Path(entry).expanduser()
    if p.is_absolute():
        return p
    for root in (base or Path.cwd(), PROJECT_ROOT):
        if (root / p).is_file():
            return (root / p).resolve()
    return (base or Path.cwd()) / p


def register(spec: OperatorSpec, builtins: Mapping[str, OperatorSpec]) -> None:
    """Make an external spec (and its native twin) findable by name in this process."""
    for s in (spec, *([spec.twin()] if spec.uses_plugin and spec.native_twin else [])):
        clash = builtins.get(s.name) or _LOADED.get(s.name)
        if clash is not None and clash.path != s.path:
            raise _fail(spec.path, "name", f"{s.name!r} is already the operator of {clash.path}; allowed: another name")
        _LOADED[s.name] = s


def lookup(name: str, builtins: Mapping[str, OperatorSpec]) -> OperatorSpec | None:
    """The operator ``name``: built in (ops/), or an external spec (or its twin) loaded here. The
    built-in plugins' twins are operators of their own in ops/ (native_operator), so none is derived."""
    return builtins.get(name) or _LOADED.get(name)


def known_names(builtins: Mapping[str, OperatorSpec]) -> list[str]:
    return list(builtins) + [n for n in _LOADED if n not in builtins]


def resolve(entries: Sequence[str], builtins: Mapping[str, OperatorSpec], base: Path | None = None) -> list[OperatorSpec]:
    """config ``operators:`` (names and spec paths) as specs, in order: paths are loaded and
    registered first, so a name may be a loaded spec's twin (``<name>_native``)."""
    loaded: dict[int, OperatorSpec] = {}
    for i, entry in enumerate(entries):
        if is_spec_path(entry):
            spec = load_spec(find_spec_file(entry, base))
            if not spec.builtin:
                register(spec, builtins)
            loaded[i] = spec
    out = []
    for i, entry in enumerate(entries):
        if i in loaded:
            out.append(loaded[i])
            continue
        spec = lookup(entry, builtins)
        if spec is None:
            raise SpecError(f"config key 'operators[{i}]': {entry!r} is not an operator; allowed values: "
                            f"{', '.join(known_names(builtins))}, or the path of a spec file (*.yaml)")
        out.append(spec)
    return out


def spec_ref(spec: OperatorSpec) -> str:
    """How a rule names ``spec`` to a command: its name when built in, else its spec file (a twin:
    the file and the twin's name, ``file.yaml#name``)."""
    if spec.builtin or spec.path is None:
        return spec.name
    return f"{spec.path}#{spec.name}" if spec.twin_of else str(spec.path)


def from_ref(ref: str, builtins: Mapping[str, OperatorSpec]) -> OperatorSpec:
    """spec_ref's inverse, in any process."""
    path, _, name = ref.partition("#")
    if is_spec_path(path):
        spec = load_spec(path)
        register(spec, builtins)
        return spec.twin() if name and name != spec.name else spec
    found = lookup(ref, builtins)
    if found is None:
        raise SpecError(f"{ref!r} is not an operator; allowed values: {', '.join(known_names(builtins))}")
    return found


# -- the numerics registry: one per operator, from its spec ------------------------------------------
_NUMERICS: dict[int, tuple[OperatorSpec, oracle.Numerics]] = {}


def numerics_with(spec: OperatorSpec, arrays: Sequence[tuple[np.ndarray, str]]) -> oracle.Numerics:
    """numerics_of(``spec``) whose reference and CPU implementation take inputs 1.. and the weights
    from ``arrays`` ((device array, its dtype), aux_arrays' order) instead of the spec's values at input
    0's shape: the check of some rows of an output (row_check) against the values its rows had."""
    return _build_numerics(spec, tuple(arrays))


def numerics_of(spec: OperatorSpec) -> oracle.Numerics:
    """The checks' view of ``spec`` (oracle.Numerics): its reference, tolerances, words and CPU
    implementation, built once per spec object (a spec is loaded once per process). The one place
    an operator's math comes from."""
    entry = _NUMERICS.get(id(spec))
    if entry is None or entry[0] is not spec:  # kept with the spec: an id is never reused while cached
        entry = _NUMERICS[id(spec)] = (spec, _build_numerics(spec))
    return entry[1]


AUX_SEED = 7919  # the other inputs' and the weights' draws: fixed, so every process sees the same values


def _edge_count(gen: Generator) -> int:
    """How many edge values a generator's edges give (the same for every dtype: a kind is two or one)."""
    return int(oracle.edge_values(tuple(gen.edges), "fp32").size)


def input0_generator(spec: OperatorSpec) -> Generator:
    """Input 0's generator as every rule draws it: its own, with its edge values repeated once per
    combination of the other inputs' edge values (the product of their counts), so that, element by
    element, each of its edge values meets each of theirs (aux_arrays lays theirs out to match:
    edge values checked pairwise across inputs). One input: its generator unchanged."""
    gen = spec.inputs[0].generator
    repeats = 1
    for t in spec.inputs[1:]:
        repeats *= max(1, _edge_count(t.generator))
    return gen if repeats == 1 or not gen.edges else dataclasses.replace(gen, edges=tuple(gen.edges) * repeats)


def _pairwise_edges(spec: OperatorSpec, shape: Sequence[int], dtype: str, arrays: list[np.ndarray]) -> None:
    """Lay the other inputs' edge values over the first elements of input 0 that carry its repeated
    edge values (input0_generator): input 0's element m holds its edge m mod e0; input k's element
    that meets it (broadcasting) holds its edge (m // (e0 e1 .. e(k-1))) mod ek, so every combination
    of edge values meets in one element. An input whose elements would meet two of those positions
    (a broadcast axis inside the block) keeps the first; its own edges at its end stay as drawn."""
    shape0 = tuple(int(d) for d in shape)
    n0 = int(np.prod(shape0, dtype=np.int64))
    period = _edge_count(spec.inputs[0].generator)
    if n0 == 0 or period == 0:
        return
    total = period
    for t in spec.inputs[1:]:
        total *= max(1, _edge_count(t.generator))
    m = np.arange(min(n0, total), dtype=np.int64)
    coords = np.unravel_index(m, shape0)
    for t, arr in zip(spec.inputs[1:], arrays):
        dt = t.dtype_for(dtype)
        values = oracle.edge_values(tuple(t.generator.edges), dt)
        if values.size == 0 or arr.ndim != len(shape0) or any(a not in (1, b) for a, b in zip(arr.shape, shape0)):
            continue  # no edges, or not broadcast against input 0 axis by axis: its own layout stands
        idx = tuple(np.zeros_like(c) if a == 1 else c for c, a in zip(coords, arr.shape))
        flat = np.ravel_multi_index(idx, arr.shape)
        _, first = np.unique(flat, return_index=True)
        chosen = values[(m[first] // period) % values.size]
        arr.reshape(-1)[flat[first]] = oracle.to_device_dtype(chosen.astype(np.float32), dt)
        period *= values.size


def aux_arrays(spec: OperatorSpec, shape: Sequence[int], dtype: str) -> list[tuple[np.ndarray, str]]:
    """The other inputs (1..N-1) and the weights of ``spec`` when input 0 has ``shape`` at engine
    dtype ``dtype``: (device array, its dtype), each drawn with its own generator (edge values in its
    first and last elements; the other inputs' first ones laid out to meet each of input 0's edge
    values: _pairwise_edges), the same in every process. Cached per (shape, dtype). The weights are
    constants of the engine: drawn alone, never paired."""
    key = (id(spec), tuple(shape), dtype)
    entry = _AUX.get(key)
    if entry is None or entry[0] is not spec:
        tensors = [*spec.inputs[1:], *spec.weights]
        shapes = [*spec.input_shapes(shape)[1:], *spec.weight_shapes(shape)]
        arrays = [(oracle.random_input(s, t.dtype_for(dtype), AUX_SEED + k, generator=t.generator), t.dtype_for(dtype))
                  for k, (t, s) in enumerate(zip(tensors, shapes))]
        _pairwise_edges(spec, shape, dtype, [a for a, _ in arrays[: len(spec.inputs) - 1]])
        if len(_AUX) > 64:
            _AUX.clear()
        entry = _AUX[key] = (spec, arrays)
    return entry[1]


_AUX: dict[tuple, tuple[OperatorSpec, list[tuple[np.ndarray, str]]]] = {}


def aux_drawn(spec: OperatorSpec, shape: Sequence[int], dtype: str) -> bool:
    """Whether aux_arrays of (``spec``, ``shape``, ``dtype``) are already drawn (cached): asking for
    them again is no host work."""
    entry = _AUX.get((id(spec), tuple(shape), dtype))
    return entry is not None and entry[0] is spec


def _build_numerics(spec: OperatorSpec, pinned: tuple[tuple[np.ndarray, str], ...] | None = None) -> oracle.Numerics:
    """``pinned``: inputs 1.. and the weights as given (numerics_with), else the spec's at x's shape."""
    reference = spec.fn("reference")
    beta_fields = [f.name for f in spec.fields if f.value_from == "beta"]
    single = len(spec.inputs) == 1 and not spec.weights

    def kw(fn: object, beta: float) -> dict:
        return spec.kwargs(fn, {name: beta for name in beta_fields})  # type: ignore[arg-type]

    def others(x: np.ndarray, dtype: str, as_type: Any) -> list[np.ndarray]:
        """Inputs 1.. and the weights, in ``as_type`` (float64 for the reference, float32 for the CPU)."""
        if single:
            return []
        arrays = pinned if pinned is not None else aux_arrays(spec, x.shape, dtype)
        return [oracle.to_float64(a, dt).astype(as_type) for a, dt in arrays]

    def listed(result: Any) -> list[np.ndarray]:
        return list(result) if isinstance(result, (tuple, list)) else [result]

    def reference_all(x64: np.ndarray, beta: float, dtype: str = "fp32") -> list[np.ndarray]:
        return listed(reference(x64, *others(x64, dtype, np.float64), **kw(reference, beta)))

    def reference64(x64: np.ndarray, beta: float, dtype: str = "fp32") -> np.ndarray:
        return reference_all(x64, beta, dtype)[0]

    if spec.tolerance_model:
        model = spec.fn("tolerance_model")

        def bound(dtype: str, x64: np.ndarray, ref64: np.ndarray, beta: float, trt_layers: bool) -> np.ndarray:
            return model(x64, dtype, trt_layers, **kw(model, beta))

        describe = getattr(model, "describe", None)

        def text(dtype: str, trt_layers: bool) -> str:
            return describe(dtype, trt_layers) if describe else f"{spec.tolerance_model}'s bound"
    else:
        def bound(dtype: str, x64: np.ndarray, ref64: np.ndarray, beta: float, trt_layers: bool) -> np.ndarray:
            tol = spec.tolerance(dtype)
            if tol is None:
                raise ValueError(f"operator spec {spec.path}: no tolerance for {dtype}; allowed dtypes: "
                                 f"{', '.join(d for d, _ in spec.tolerances)}")
            floor = tol.abs / oracle.ulp(np.where(np.isfinite(ref64), ref64, 0.0), dtype) if tol.abs else 0.0
            return np.maximum(tol.ulps, floor)

        def text(dtype: str, trt_layers: bool) -> str:
            tol = spec.tolerance(dtype)
            if tol is None:
                return "no tolerance"
            if tol.ulps == 0 and tol.abs == 0:
                return "0 ulp (exact)"
            return f"{tol.ulps:g} ulp" + (f" or {tol.abs:g} absolute" if tol.abs else "")
    cpu = cpu_all = None
    if spec.cpu_implementation:
        cpu_fn = spec.fn("cpu_implementation")

        def cpu_all(x32: np.ndarray, beta: float, dtype: str = "fp32") -> list[np.ndarray]:
            return listed(cpu_fn(x32, *others(x32, dtype, np.float32), **kw(cpu_fn, beta)))

        def cpu(x32: np.ndarray, beta: float, dtype: str = "fp32") -> np.ndarray:
            return cpu_all(x32, beta, dtype)[0]

    return oracle.Numerics(spec.function, reference64, bound, text, cpu, spec.nan_input_may_give_zero, spec.ftz,
                           outputs=len(spec.output_specs) or 1, reference_all=reference_all, cpu_all=cpu_all)
