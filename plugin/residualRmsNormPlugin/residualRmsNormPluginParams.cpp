#include "residualRmsNormPluginParams.h"

#include "pluginLog.h"

namespace tpb
{

// The one instantiation of the row norms' shared body for the residual-add + RMSNorm (common/rowNormParams.h).
template struct RowNormOpBase<ResidualRmsNormTraits>;

const PluginWheres ResidualRmsNormOp::kWhere = pluginWheresOf<ResidualRmsNormOp>();

//! Build-time shape check: r of x's rank (and dims, where known), gamma rank 1 of x's last dimension.
bool ResidualRmsNormOp::checkShapes(nvinfer1::Dims const* dims, int32_t nbInputs, char const* where) noexcept
{
    if (!checkRowNormInputs(dims, nbInputs, kNbInputs, "x, r, gamma", where))
    {
        return false;
    }
    nvinfer1::Dims const& x = dims[0];
    nvinfer1::Dims const& r = dims[1];
    if (r.nbDims != x.nbDims)
    {
        TPB_LOG_ERROR(where, "r must have x's shape: rank %d, got rank %d", static_cast<int>(x.nbDims),
            static_cast<int>(r.nbDims));
        return false;
    }
    for (int32_t i = 0; i < x.nbDims; ++i)
    {
        if (x.d[i] >= 0 && r.d[i] >= 0 && x.d[i] != r.d[i])
        {
            TPB_LOG_ERROR(where, "r must have x's shape: dimension %d is %lld in x, %lld in r", static_cast<int>(i),
                static_cast<long long>(x.d[i]), static_cast<long long>(r.d[i]));
            return false;
        }
    }
    return checkRowNormWeight(dims[2], "gamma", x.d[x.nbDims - 1], where);
}

//! Enqueue body shared by both plugins: checked element counts (elementCount.h), hidden = x's last
//! dimension, rows = count / hidden (0: nothing to launch), r of x's dims, gamma of hidden elements, the
//! kernel from selectKernel by x's bytes.
int32_t ResidualRmsNormOp::enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,
    void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
{
    int64_t counts[3]{}; // x, r, gamma
    if (!countRowNormInputs(inputDesc, {"enqueue x", "enqueue r", "enqueue gamma"}, counts, where))
    {
        return -1;
    }
    if (counts[1] != counts[0])
    {
        TPB_LOG_ERROR(where, "r must have x's shape: %lld elements, x has %lld", static_cast<long long>(counts[1]),
            static_cast<long long>(counts[0]));
        return -1;
    }
    if (counts[0] == 0)
    {
        return 0; // zero rows (or hidden 0): nothing to compute
    }
    nvinfer1::Dims const& dims = inputDesc[0].dims;
    int64_t const hidden = dims.d[dims.nbDims - 1];
    if (counts[2] != hidden)
    {
        TPB_LOG_ERROR(where, "gamma must hold hidden = %lld elements, got %lld", static_cast<long long>(hidden),
            static_cast<long long>(counts[2]));
        return -1;
    }
    RowNormDataType dtype{};
    int64_t tensorBytes = 0;
    if (!rowNormDataTypeAndBytes(inputDesc, counts[0], dtype, tensorBytes, where))
    {
        return -1;
    }
    return rowNormLaunchResult(launchResidualRmsNorm(inputs[0], inputs[1], inputs[2], outputs[0], outputs[1],
                                   counts[0] / hidden, hidden, launch.eps, dtype, selectKernel(launch, tensorBytes),
                                   stream),
        where);
}

} // namespace tpb
