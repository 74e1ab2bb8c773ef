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

from ..operators import field_values, for_engine
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


def _add_spec_plugin(network: trt.INetworkDefinition, x: trt.ITensor, op_spec: object, spec: EngineSpec,
                     keep: list, creator_name: str | None = None, namespace: str | None = None) -> trt.ILayer:
    """The plugin layer of an operator: its spec's creator (``creator_name``/``namespace``: another
    creator of the same fields, e.g. a conformance fixture's or a baseline copy's namespace)."""
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
        layer = None if plugin is None else network.add_plugin_v3([x], [], plugin)
    else:
        plugin = creator.create_plugin(op_spec.name, fc)  # type: ignore[attr-defined]
        layer = None if plugin is None else network.add_plugin_v2([x], plugin)
    if layer is None:
        values = field_values(op_spec, spec.beta, spec.kernel, spec.kernel_table)  # type: ignore[arg-type]
        raise BuildError(f"{name} v{p.version} creator refused the fields {values} of {op_spec.path}")  # type: ignore[attr-defined]
    return layer


def populate_network(network: trt.INetworkDefinition, spec: EngineSpec, weakly_typed_half: bool, keep: list,
                     plugin_name: str | None = None, plugin_namespace: str | None = None) -> list[trt.ILayer]:
    """Add the input, the operator's layers and the output; returns the compute layers.
    ``keep`` collects host arrays TensorRT still points at until the build ends; the plugin's creator
    is ``plugin_name`` in ``plugin_namespace`` (None: the spec's; see _add_spec_plugin)."""
    dims = [d if lo == hi else -1 for lo, d, hi in zip(spec.min, spec.opt, spec.max)]
    x = network.add_input(INPUT, TRT_DTYPE[spec.dtype], dims)
    layers: list[trt.ILayer] = []
    op_spec = for_engine(spec)
    if spec.implementation == "native":  # the spec's native twin builds TensorRT's own layers
        twin = op_spec.fn("native_twin")
        values = field_values(op_spec, spec.beta)
        layers.extend(twin(trt, network, [x], spec.dtype, keep, **op_spec.kwargs(twin, values)))
        if not layers:
            raise BuildError(f"operator spec {op_spec.path}: key 'native_twin': {op_spec.native_twin} added no layer")
    elif op_spec.plugin is not None:
        layers.append(_add_spec_plugin(network, x, op_spec, spec, keep, plugin_name, plugin_namespace))
    else:
        raise BuildError(f"operator spec {op_spec.path}: key 'plugin': implementation {spec.implementation} needs one")
    y = layers[-1].get_output(0)
    y.name = OUTPUT
    network.mark_output(y)
    if weakly_typed_half:
        # TensorRT 8.6 has no strong typing: pin every layer and the I/O to fp16
        for layer in layers:
            layer.precision = trt.float16
            layer.set_output_type(0, trt.float16)
        y.dtype = trt.float16
    return layers
