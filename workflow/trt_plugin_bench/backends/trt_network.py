"""The TensorRT network of one engine: its input, the operator's layers and its output.

The operator's layers are its spec's plugin creator (IPluginV2 or IPluginV3 by the engine's
implementation) with the fields its spec declares at their values (operators.field_values; checked
against the creator's getFieldNames), or TensorRT's own layers built by the spec's native twin:
the project's own plugin goes the way any user's does. populate_network is what the build and the conformance
fixture both call.

Imported only through the TensorRT backend (backends.get_backend), never at package import.
"""

from __future__ import annotations

import numpy as np
import tensorrt as trt

from ..core import oracle as ref
from ..core.operators import field_values, for_engine
from .base import EngineSpec
from .trt_common import INPUT, OUTPUT, TRT_MAJOR, BuildError
from .trt_plugins import creator_lookup

TRT_DTYPE = {"fp32": trt.float32, "fp16": trt.float16}
if TRT_MAJOR >= 10:
    TRT_DTYPE["bf16"] = trt.bfloat16


def network_flags(strongly_typed: bool) -> int:
    """Explicit batch: required in 8.6, ignored in 10, removed in 11. Strong typing: opt-in in 10,
    always on (flag ignored) in 11. Enum values move between versions, so names, never numbers."""
    flags = 0
    members = trt.NetworkDefinitionCreationFlag.__members__
    if TRT_MAJOR < 10:
        flags |= 1 << int(members["EXPLICIT_BATCH"])
    if strongly_typed and "STRONGLY_TYPED" in members:
        flags |= 1 << int(members["STRONGLY_TYPED"])
    return flags


# a spec field's type as TensorRT's PluginFieldType member and the numpy dtype that holds it
FIELD_TYPES = {"float32": ("FLOAT32", np.float32), "float64": ("FLOAT64", np.float64), "float16": ("FLOAT16", np.float16),
               "int8": ("INT8", np.int8), "int16": ("INT16", np.int16), "int32": ("INT32", np.int32),
               "char": ("CHAR", np.int8)}


def _creator_field_names(creator: object) -> list[str] | None:
    """The field names a creator declares (getFieldNames), or None where the bindings do not say."""
    try:
        names = [str(f.name) for f in creator.field_names]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - bindings differ between versions: no check rather than a wrong one
        return None
    return names or None


def check_creator_fields(op_spec: object, creator: object) -> None:
    """Every field the operator's spec declares must be one the creator names (its getFieldNames);
    a spec field the creator does not know would be ignored by most creators, silently."""
    declared = list(op_spec.field_names)  # type: ignore[attr-defined]
    known = _creator_field_names(creator)
    if known is None:
        return
    unknown = [f for f in declared if f not in known]
    if unknown:
        raise BuildError(f"operator spec {op_spec.path}: key 'fields': {', '.join(unknown)} is not a field of plugin "  # type: ignore[attr-defined]
                         f"creator {op_spec.plugin.creator} v{op_spec.plugin.version}; allowed fields (the creator's "  # type: ignore[attr-defined]
                         f"getFieldNames): {', '.join(known)}")


def _spec_plugin_fields(op_spec: object, spec: EngineSpec, keep: list) -> trt.PluginFieldCollection:
    """A spec-declared plugin's fields at their values (operators.field_values); a kernel_table left empty is left out."""
    values = field_values(op_spec, spec.beta, spec.kernel, spec.kernel_table)  # type: ignore[arg-type]
    fields = []
    for f in op_spec.fields:  # type: ignore[attr-defined]
        value = values[f.name]
        if value is None or (f.value_from == "kernel_table" and not value):
            continue
        member, np_type = FIELD_TYPES[f.type]
        data = (np.frombuffer(value.encode() + b"\0", dtype=np.int8) if isinstance(value, str)
                else np.atleast_1d(np.asarray(value, dtype=np_type)))
        keep.append(data)  # a PluginField points at the array's memory
        fields.append(trt.PluginField(f.name, data, getattr(trt.PluginFieldType, member)))
    return trt.PluginFieldCollection(fields)


def _add_spec_plugin(network: trt.INetworkDefinition, tensors: list, op_spec: object, spec: EngineSpec,
                     keep: list, creator_name: str | None = None, namespace: str | None = None) -> trt.ILayer:
    """The plugin layer of an operator on ``tensors`` (its inputs, then its weights' constants): its
    spec's creator (``creator_name``/``namespace``: another creator of the same fields, e.g. a
    conformance fixture's or a baseline copy's namespace)."""
    p = op_spec.plugin  # type: ignore[attr-defined]
    name = creator_name or p.creator
    ns = p.namespace if namespace is None else namespace
    creator = creator_lookup()(name, p.version, ns)
    if creator is None:
        raise BuildError(f"operator spec {op_spec.path}: key 'plugin': creator {name} v{p.version} is not registered "  # type: ignore[attr-defined]
                         f"under namespace {ns!r}: did its library load and register it?")
    check_creator_fields(op_spec, creator)
    fc = _spec_plugin_fields(op_spec, spec, keep)
    if spec.implementation == "plugin_v3":
        plugin = creator.create_plugin(op_spec.name, fc, trt.TensorRTPhase.BUILD)  # type: ignore[attr-defined]
        layer = None if plugin is None else network.add_plugin_v3(tensors, [], plugin)
    else:
        plugin = creator.create_plugin(op_spec.name, fc)  # type: ignore[attr-defined]
        layer = None if plugin is None else network.add_plugin_v2(tensors, plugin)
    if layer is None:
        values = field_values(op_spec, spec.beta, spec.kernel, spec.kernel_table)  # type: ignore[arg-type]
        raise BuildError(f"{name} v{p.version} creator refused the fields {values} of {op_spec.path}")  # type: ignore[attr-defined]
    return layer


def input_names(op_spec: object) -> list[str]:
    """The network's input tensor names: input 0 is INPUT (what every runtime binds), the others
    their spec names."""
    return [INPUT, *(t.name for t in op_spec.inputs[1:])]  # type: ignore[attr-defined]


def input_profiles(op_spec: object, spec: EngineSpec) -> list[tuple[str, tuple, tuple, tuple]]:
    """(name, min, opt, max) of every input: input 0's from the engine's profile, the others' from
    their shape rules applied to it (OperatorSpec.input_shapes)."""
    shapes = [op_spec.input_shapes(s) for s in (spec.min, spec.opt, spec.max)]  # type: ignore[attr-defined]
    return [(name, lo, opt, hi) for name, lo, opt, hi in zip(input_names(op_spec), *shapes)]


def dynamic_input_profiles(op_spec: object, spec: EngineSpec) -> list[tuple[str, tuple, tuple, tuple]]:
    """input_profiles of the inputs an optimization profile sets: input 0, and every other input
    whose shape varies within the profile (a static one, e.g. a bias [1, H] of a fixed H, is a
    network input of fixed dimensions: TensorRT needs no profile for it)."""
    return [p for p in input_profiles(op_spec, spec) if p[0] == INPUT or tuple(p[1]) != tuple(p[3])]


def _weight_constants(network: trt.INetworkDefinition, op_spec: object, spec: EngineSpec, keep: list) -> list:
    """The spec's weights as constant layers, drawn with their generators (specs.aux_arrays: the
    values the CPU reference backend and the checks use), their shapes from the rule at opt."""
    from ..core.specs import aux_arrays

    n_others = len(op_spec.inputs) - 1  # type: ignore[attr-defined]
    out = []
    for array, dtype in aux_arrays(op_spec, spec.opt, spec.dtype)[n_others:]:  # type: ignore[arg-type]
        if dtype == "bf16":  # numpy has no bf16: an fp32 constant, cast in the network
            host = ref.to_float64(array, dtype).astype(np.float32)
        else:
            host = np.ascontiguousarray(array)
        keep.append(host)  # TensorRT reads the weights at build time
        t = network.add_constant(host.shape, trt.Weights(host)).get_output(0)
        if dtype == "bf16":
            t = network.add_cast(t, trt.bfloat16).get_output(0)
        out.append(t)
    return out


def populate_network(network: trt.INetworkDefinition, spec: EngineSpec, weakly_typed_half: bool, keep: list,
                     plugin_name: str | None = None, plugin_namespace: str | None = None) -> list[trt.ILayer]:
    """Add the inputs, the weights (constants), the operator's layers and the outputs; returns the
    compute layers. Input 0 is INPUT with the engine's profile; the other inputs follow their shape
    rules (a broadcast axis is 1, a dimension dynamic in the profile is -1); the weights are
    constants; the outputs are the last layer's (a plugin's), or output 0 of each of the twin's last
    M layers; each is marked, output 0 as OUTPUT.
    ``keep`` collects host arrays TensorRT still points at until the build ends; the plugin's creator
    is ``plugin_name`` in ``plugin_namespace`` (None: the spec's; see _add_spec_plugin)."""
    op_spec = for_engine(spec)
    tensors = []
    for k, (name, lo, opt, hi) in enumerate(input_profiles(op_spec, spec)):
        dims = [d if a == b else -1 for a, d, b in zip(lo, opt, hi)]
        dtype = op_spec.inputs[k].dtype_for(spec.dtype)
        tensors.append(network.add_input(name, TRT_DTYPE[dtype], dims))
    tensors += _weight_constants(network, op_spec, spec, keep)
    layers: list[trt.ILayer] = []
    if spec.implementation == "native":  # the spec's native twin builds TensorRT's own layers
        twin = op_spec.fn("native_twin")
        values = field_values(op_spec, spec.beta)
        layers.extend(twin(trt, network, tensors, spec.dtype, keep, **op_spec.kwargs(twin, values)))
        if not layers:
            raise BuildError(f"operator spec {op_spec.path}: key 'native_twin': {op_spec.native_twin} added no layer")
    elif op_spec.plugin is not None:
        layers.append(_add_spec_plugin(network, tensors, op_spec, spec, keep, plugin_name, plugin_namespace))
    else:
        raise BuildError(f"operator spec {op_spec.path}: key 'plugin': implementation {spec.implementation} needs one")
    last = layers[-1]
    names = list(op_spec.outputs)
    if last.num_outputs >= len(names):  # a plugin (or a layer) with every output
        results = [last.get_output(j) for j in range(len(names))]
    elif len(layers) >= len(names):  # a twin: output 0 of each of its last M layers, in order
        results = [layer.get_output(0) for layer in layers[-len(names):]]
    else:
        raise BuildError(f"operator spec {op_spec.path}: key 'outputs': {len(names)} outputs, but the last layer has "
                         f"{last.num_outputs} and the twin added {len(layers)} layers")
    outputs = []
    for j, (name, y) in enumerate(zip(names, results)):
        y.name = OUTPUT if j == 0 else name
        network.mark_output(y)
        outputs.append(y)
    if weakly_typed_half:
        # TensorRT 8.6 has no strong typing: pin every layer and the I/O to fp16
        for layer in layers:
            layer.precision = trt.float16
            for j in range(layer.num_outputs):
                layer.set_output_type(j, trt.float16)
        for y in outputs:
            y.dtype = trt.float16
    return layers
