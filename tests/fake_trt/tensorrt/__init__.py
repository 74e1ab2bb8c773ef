"""A stand-in for the tensorrt module (tests only): just what trt_network needs to build a network
description, recorded instead of built. tests/test_trt_network.py imports it in a subprocess."""

from __future__ import annotations

from enum import Enum

__version__ = "10.0.0"
float32, float16, bfloat16 = "float32", "float16", "bfloat16"


class ILogger:
    class Severity(Enum):
        ERROR = 1
        WARNING = 2

    def __init__(self) -> None:
        pass


class NetworkDefinitionCreationFlag:
    __members__ = {"STRONGLY_TYPED": 1}


class ElementWiseOperation(Enum):
    SUM = "sum"
    PROD = "prod"


class ReduceOperation(Enum):
    SUM = "sum"


class ActivationType(Enum):
    SIGMOID = "sigmoid"
    RELU = "relu"


class MatrixOperation(Enum):
    NONE = "none"


class PluginFieldType(Enum):
    FLOAT32 = "f32"
    INT32 = "i32"


class TensorRTPhase(Enum):
    BUILD = "build"


class PluginField:
    def __init__(self, name: str, data: object, kind: object) -> None:
        self.name, self.data, self.type = name, data, kind


class PluginFieldCollection(list):
    pass


class Weights:
    def __init__(self, array: object) -> None:
        self.array = array


class Tensor:
    def __init__(self, name: str, shape: tuple, dtype: str = "") -> None:
        self.name, self.shape, self.dtype = name, tuple(shape), dtype


class Layer:
    def __init__(self, kind: str, inputs: list, outputs: list[Tensor], **extra: object) -> None:
        self.kind, self.inputs, self.outputs, self.extra = kind, inputs, outputs, extra
        self.num_outputs = len(outputs)

    def get_output(self, i: int) -> Tensor:
        return self.outputs[i]

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name == "reshape_dims":  # a shuffle's output takes its reshape
            self.outputs[0].shape = tuple(value)  # type: ignore[arg-type]

    def set_output_type(self, i: int, dtype: str) -> None:
        self.outputs[i].dtype = dtype


class Network:
    def __init__(self) -> None:
        self.inputs: list[Tensor] = []
        self.layers: list[Layer] = []
        self.marked: list[Tensor] = []

    def _layer(self, kind: str, inputs: list, shapes: list[tuple], **extra: object) -> Layer:
        layer = Layer(kind, inputs, [Tensor(f"{kind}{len(self.layers)}_{i}", s) for i, s in enumerate(shapes)], **extra)
        self.layers.append(layer)
        return layer

    def add_input(self, name: str, dtype: str, dims: list) -> Tensor:
        t = Tensor(name, tuple(dims), dtype)
        self.inputs.append(t)
        return t

    def add_constant(self, shape: tuple, weights: Weights) -> Layer:
        return self._layer("constant", [], [tuple(shape)], weights=weights)

    def add_cast(self, t: Tensor, dtype: str) -> Layer:
        return self._layer("cast", [t], [t.shape])

    def add_elementwise(self, a: Tensor, b: Tensor, op: ElementWiseOperation) -> Layer:
        return self._layer("elementwise", [a, b], [tuple(y if x == 1 else x for x, y in zip(a.shape, b.shape))], op=op)

    def add_shuffle(self, t: Tensor) -> Layer:
        return self._layer("shuffle", [t], [t.shape])

    def add_normalization(self, x: Tensor, scale: Tensor, bias: Tensor, axes: int) -> Layer:
        return self._layer("normalization", [x, scale, bias], [x.shape], axes=axes)

    def add_reduce(self, t: Tensor, op: ReduceOperation, axes: int, keep_dims: bool) -> Layer:
        return self._layer("reduce", [t], [t.shape[:-1]], axes=axes)

    def add_convolution_nd(self, x: Tensor, out_channels: int, kernel: tuple, w: Weights, b: Weights) -> Layer:
        """'same' padding assumed (the blocks set padding_nd = k // 2): spatial dims kept."""
        return self._layer("convolution", [x], [(x.shape[0], out_channels, *x.shape[2:])], kernel=tuple(kernel),
                           weights=w, bias=b)

    def add_matrix_multiply(self, a: Tensor, op_a: MatrixOperation, b: Tensor, op_b: MatrixOperation) -> Layer:
        return self._layer("matrix_multiply", [a, b], [(*a.shape[:-1], b.shape[-1])])

    def add_activation(self, t: Tensor, kind: ActivationType) -> Layer:
        return self._layer("activation", [t], [t.shape], activation=kind)

    def add_plugin_v2(self, tensors: list, plugin: object) -> Layer:
        return self._layer("plugin_v2", list(tensors), [t.shape for t in tensors[:1]] * getattr(plugin, "outputs", 1))

    def mark_output(self, t: Tensor) -> None:
        self.marked.append(t)


class _Creator:
    field_names: list = []

    def __init__(self, name: str) -> None:
        self.name = name

    def create_plugin(self, name: str, fields: PluginFieldCollection, *phase: object) -> object:
        return type("Plugin", (), {"name": name, "fields": fields, "outputs": 1})()


class _Registry:
    def get_creator(self, name: str, version: str, namespace: str) -> _Creator:
        return _Creator(name)


def get_plugin_registry() -> _Registry:
    return _Registry()
