"""The operators the pipeline sweeps, and which backend versions can build them."""

from __future__ import annotations

import ctypes
from pathlib import Path

from . import oracle as ref
from . import specs
from .specs import OperatorSpec

DTYPES = ("fp32", "fp16", "bf16")
ITEMSIZE = {"fp32": 4, "fp16": 2, "bf16": 2}


# The operators are specs (ops/*.yaml, trt_plugin_bench.core.specs): OPERATORS holds the built-in ones
# by name; config operators: may add spec files (resolve_operators), found by name afterwards.
OPERATORS: dict[str, OperatorSpec] = specs.builtin_specs()


def get_operator(name: str) -> OperatorSpec:
    """The operator ``name``: built in (ops/), or an external spec loaded in this process."""
    spec = specs.lookup(name, OPERATORS)
    if spec is None:
        raise KeyError(f"{name!r} is not an operator; allowed values: {', '.join(specs.known_names(OPERATORS))}, "
                       "or the path of a spec file given in config operators:")
    return spec


def resolve_operators(entries: list[str]) -> list[OperatorSpec]:
    """config ``operators:`` (names and spec paths) as specs; raises specs.SpecError."""
    return specs.resolve(list(entries), OPERATORS)


def operator_ref(op: str) -> str:
    """How a rule's command names operator ``op`` (specs.spec_ref): its name, or its spec file."""
    return specs.spec_ref(get_operator(op))


def from_ref(ref: str) -> OperatorSpec:
    return specs.from_ref(ref, OPERATORS)


def for_engine(engine_spec: object) -> OperatorSpec:
    """The operator an engine computes: its spec file (spec_file, an external spec) or its name."""
    ref = getattr(engine_spec, "spec_file", "") or ""
    if ref:
        spec = from_ref(ref)
        op = getattr(engine_spec, "operator", spec.name)
        return spec if spec.name == op else get_operator(op)
    return get_operator(engine_spec.operator)  # type: ignore[attr-defined]


def field_values(spec: OperatorSpec, beta: float = 1.0, kernel: str = "", kernel_table: tuple = ()) -> dict:
    """Every field's value for one engine: its default, or what value_from names."""
    values = {}
    for f in spec.fields:
        if f.value_from == "beta":
            values[f.name] = float(beta)
        elif f.value_from == "kernel":
            values[f.name] = kernel_ids(spec)[kernel] if kernel else None
        elif f.value_from == "kernel_table":
            ids = kernel_ids(spec) if kernel_table else {}
            values[f.name] = [v for kib, name in kernel_table for v in (kib, ids[name])]
        else:
            values[f.name] = f.default
    return values


def numerics_for(engine_spec: object) -> ref.Numerics:
    """The Numerics an engine's outputs are checked with (and the CPU backend computes), from its spec."""
    return specs.numerics_of(for_engine(engine_spec))


def plugin_library_in(manifest: dict, spec: OperatorSpec) -> Path | None:
    """Where the compile manifest says ``spec``'s plugin library is: its prebuilt .so, or its CMake
    folder's build (spec_libraries); None for an operator without a plugin or a library not built."""
    if spec.plugin is None:
        return None
    library = spec.plugin.library
    if library.prebuilt is not None:
        return library.prebuilt
    lib = manifest.get("spec_libraries", {}).get(library.manifest_key)
    return Path(lib) if lib else None


def generator_for(engine_spec: object) -> specs.Generator | None:
    """Input 0's value generator of an engine's operator (oracle.random_input's ``generator``): its
    edge values repeated to meet each of the other inputs' (specs.input0_generator)."""
    return specs.input0_generator(for_engine(engine_spec))


def moved_bytes(engine_spec: object, shape: tuple[int, ...]) -> int:
    """Bytes read + written by one inference at ``shape`` (input 0's; the other inputs' and the
    weights' shapes from their rules): the operator's cost model."""
    spec = for_engine(engine_spec)
    values = {f.name: getattr(engine_spec, "beta", 1.0) for f in spec.fields if f.value_from == "beta"}
    return spec.cost_of(spec.all_shapes(tuple(shape)), engine_spec.dtype, values)["bytes"]  # type: ignore[attr-defined]


# plugin_kernel: auto (the default) runs the tune rule's choice table (tune.py)
AUTO_KERNEL = "auto"
# a dtype config plugin_kernel's map leaves out: every operator runs its own default (default_kernel);
# no kernel name is empty (specs' names match ^[a-z][a-z0-9_]*$), so it never stands for a variant
OWN_DEFAULT = ""


def default_kernel(spec: OperatorSpec) -> str:
    """The kernel variant ``spec``'s plugin runs where nothing chose one: its spec's variants.default;
    "" for an operator without variants (it has no kernel to choose)."""
    return spec.variants.default if spec.variants is not None else ""


def tuned_kernel(table: list, default: str) -> tuple[str, tuple[tuple[int, str], ...]]:
    """(kernel field, kernel_table field) for a tune choice table [[upper KiB, kernel], ..., [-1, kernel]]:
    one band is just that kernel; no table (a dtype the rule could not tune) is ``default`` (the
    operator's own: default_kernel)."""
    bands = tuple((int(kib), str(kernel)) for kib, kernel in table)
    if not bands:
        return default, ()
    if len(bands) == 1:
        return bands[0][1], ()
    return bands[-1][1], bands


# the variant a spec's kernel "naive" names (operator.schema.yaml, key kernel): the contrast, never a
# tune candidate unless tune.kernels names it
NAIVE_KERNEL = "naive"


def tune_group(spec: OperatorSpec) -> tuple[str, str, str] | None:
    """What one tune measures for ``spec``: its variants (ids file) and their direct kernels (library,
    launch). Plugins that share it (the V2 and V3 interface of one kernel) share one tune and its
    choice table; None: nothing to tune (no variants, or a kernel the config does not choose)."""
    if spec.kernel != "optimised" or spec.variants is None:
        return None
    v = spec.variants
    return str(v.ids_file), v.direct_library or "", v.direct_launch or ""


def tune_subjects(ops: list[OperatorSpec]) -> dict[str, str]:
    """{operator: the operator whose tune it runs} for every operator of ``ops`` with a tune group:
    the first of ``ops`` (config order) in the same group."""
    first: dict[tuple[str, str, str], str] = {}
    out: dict[str, str] = {}
    for spec in ops:
        group = tune_group(spec)
        if group is not None:
            out[spec.name] = first.setdefault(group, spec.name)
    return out


def is_elementwise(spec: OperatorSpec) -> bool:
    """Whether ``spec`` is elementwise over input 0's elements, whatever its shape: no weights, every
    other input and every output shaped like input 0 (no broadcast, no kept axes, no shape function).
    The tune rule samples such an operator as one flat tensor; any other at the profiles' row shapes."""
    first = spec.inputs[0].name
    if spec.weights:
        return False
    for t in spec.inputs[1:]:
        if t.like != first or t.broadcast or t.axes is not None or t.dims:
            return False
    return all(o.function is None and o.like in (None, first) for o in spec.output_specs)


def tune_candidates(spec: OperatorSpec, chosen: object) -> list[str]:
    """The variants the tune rule times for ``spec`` (config tune.kernels): one list for every tuned
    operator, of which ``spec`` keeps its own live variants' names; or an {operator: [names]} map,
    ``spec``'s entry. Where that leaves none (a list of another operator's names, a map without
    ``spec``): every live variant of ``spec`` but the naive one."""
    live = kernel_ids(spec)
    if isinstance(chosen, dict):
        names = [str(n) for n in chosen.get(spec.name, ())]
    else:
        names = [str(n) for n in (chosen or ()) if str(n) in live]
    return names or [n for n in live if n != NAIVE_KERNEL]


def tune_includes(spec: OperatorSpec, chosen: object) -> list[str]:
    """config tune.finalists_include for ``spec``: a list filtered to its live variants (possibly
    none), or its entry of an {operator: [names]} map (none without one)."""
    live = kernel_ids(spec)
    if isinstance(chosen, dict):
        return [str(n) for n in chosen.get(spec.name, ())]
    return [str(n) for n in (chosen or ()) if str(n) in live]


def plugin_kernel_per_dtype(chosen: str | dict[str, str], dtypes: tuple[str, ...]) -> dict[str, str]:
    """config plugin_kernel (one name, or a {dtype: name} map) for each of ``dtypes``: a dtype the
    map leaves out is OWN_DEFAULT, each operator's own default kernel, as the schema says (settings.py
    resolves it per dtype once, settings.plugin_kernel per operator)."""
    if isinstance(chosen, dict):
        return {dt: chosen.get(dt, OWN_DEFAULT) for dt in dtypes}
    return {dt: chosen for dt in dtypes}


def operator_kernels_per_dtype(overrides: dict[str, str | dict[str, str]],
                               plugin_kernel: dict[str, str]) -> dict[str, dict[str, str]]:
    """config operator_kernels ({operator: one name, or a {dtype: name} map}) for every dtype: a dtype
    an operator's map leaves out follows plugin_kernel (already resolved per dtype)."""
    out: dict[str, dict[str, str]] = {}
    for op, chosen in overrides.items():
        given = chosen if isinstance(chosen, dict) else dict.fromkeys(plugin_kernel, chosen)
        out[op] = {dt: given.get(dt, plugin_kernel[dt]) for dt in plugin_kernel}
    return out


def kernel_ids(spec: OperatorSpec) -> dict[str, int]:
    """The id of each live kernel variant of ``spec``'s plugin (its spec's variants.ids file)."""
    if spec.variants is None:
        raise specs.SpecError(f"operator spec {spec.path}: key 'variants': {spec.name} declares no kernel variants; "
                              "a kernel or kernel_table field needs them")
    return spec.variants.table()[0]


class KernelIdMismatch(RuntimeError):
    """A spec's kernel ids file and a compiled library disagree about which id is which kernel."""


def check_kernel_ids(lib: ctypes.CDLL, path: Path | str, variants: specs.Variants) -> None:
    """Fail unless ``variants``' ids file (variants.ids beside the spec) names every kernel of
    ``lib`` (loaded from ``path``) by the library's own id, through the functions the spec says the
    library exports (variants.count_symbol, variants.name_symbol): a stale file would silently
    time and report one kernel under another's name. A spec naming no such functions: no check."""
    if not variants.count_symbol or not variants.name_symbol:
        return
    live, _, expected_count = variants.table()
    where = variants.ids_file
    try:
        count_fn, name_fn = getattr(lib, variants.count_symbol), getattr(lib, variants.name_symbol)
    except AttributeError as exc:
        raise KernelIdMismatch(f"{path} does not export {variants.count_symbol}/{variants.name_symbol} ({exc}): "
                               "a library older than this checkout; rebuild it (the compile_plugin rule)") from exc
    count_fn.argtypes, count_fn.restype = [], ctypes.c_int
    name_fn.argtypes, name_fn.restype = [ctypes.c_int], ctypes.c_char_p
    count = int(count_fn())
    if count != expected_count:
        raise KernelIdMismatch(
            f"{path} has {count} kernel ids but {where} expects {expected_count}: make {where} match the "
            "library's kernel enum, or rebuild the library")
    names = {kernel_id: name for name, kernel_id in live.items()}
    for kernel_id in range(count):
        name = names.get(kernel_id)  # None: retired, the library must refuse it too (a null name)
        raw = name_fn(kernel_id)
        library_name = raw.decode() if raw is not None else None
        if library_name != name:
            raise KernelIdMismatch(
                f"kernel id {kernel_id} is {name!r} in {where} but {library_name!r} in {path}: fix {where} to "
                "match the library's kernel enum, or rebuild the library")


def dtype_support(op: str, dtype: str) -> str | None:
    """None when the operator's spec declares ``dtype``; otherwise why it is skipped (every backend)."""
    spec = get_operator(op)
    if dtype not in spec.dtypes:
        return f"{op} declares dtypes {', '.join(spec.dtypes)} ({spec.path}), not {dtype}"
    return None


def tensorrt_support(op: str, dtype: str, major: int) -> str | None:
    """None when TensorRT ``major`` can build (op, dtype); otherwise the reason it cannot."""
    spec = get_operator(op)
    why = dtype_support(op, dtype)
    if why:
        return why
    if major < spec.min_tensorrt_major:
        return f"{op} needs TensorRT >= {spec.min_tensorrt_major} (IPluginV3); this is {major}"
    if dtype == "bf16" and major < 10:
        return f"bf16 needs TensorRT >= 10; this is {major}"
    return None


def sweep_key(op: str, dtype: str, profile: str) -> str:
    return f"{op}__{dtype}__{profile}"


def parse_sweep_key(key: str) -> tuple[str, str, str]:
    op, dtype, profile = key.split("__")
    return op, dtype, profile
