#include "layerNormPluginParams.h"

#include "pluginLog.h"

namespace tpb
{

// The one instantiation of the row norms' shared body for LayerNorm (common/rowNormParams.h).
template struct RowNormOpBase<LayerNormTraits>;

const PluginWheres LayerNormOp::kWhere = pluginWheresOf<LayerNormOp>();

//! Build-time shape check: gamma and beta rank 1 of x's last dimension where both are known (-1: not yet).
bool LayerNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    if (!checkRowNormInputs(dims, nbInputs, kNbInputs, "x, gamma, beta", where))
    {
        return false;
    }
    int64_t const hidden = dims[0].d[dims[0].nbDims - 1];
    return checkRowNormWeight(dims[1], "gamma", hidden, where) && checkRowNormWeight(dims[2], "beta", hidden, where);
}

//! Enqueue body shared by both plugins: checked element counts (elementCount.h), hidden = x's last
//! dimension, rows = count / hidden (0: nothing to launch), gamma and beta of hidden elements, the kernel
//! from selectKernel by x's bytes.
int32_t LayerNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    int64_t counts[3]{}; // x, gamma, beta
    if (!countRowNormInputs(inputDesc, {"enqueue x", "enqueue gamma", "enqueue beta"}, counts, where))
    {
        return -1;
    }
    if (counts[0] == 0)
    {
        return 0; // zero rows (or hidden 0): nothing to compute
    }
    nvinfer1::Dims const& dims = inputDesc[0].dims;
    int64_t const hidden = dims.d[dims.nbDims - 1];
    if (counts[1] != hidden || counts[2] != hidden)
    {
        TPB_LOG_ERROR(where, "gamma and beta must hold hidden = %lld elements, got %lld and %lld",
            static_cast<long long>(hidden), static_cast<long long>(counts[1]), static_cast<long long>(counts[2]));
        return -1;
    }
    RowNormDataType dtype{};
    int64_t tensorBytes = 0;
    if (!rowNormDataTypeAndBytes(inputDesc, counts[0], dtype, tensorBytes, where))
    {
        return -1;
    }
    return rowNormLaunchResult(launchLayerNorm(inputs[0], inputs[1], inputs[2], outputs[0], counts[0] / hidden,
                                   hidden, launch.eps, dtype, selectKernel(launch, tensorBytes), stream),
        where);
}

} // namespace tpb
