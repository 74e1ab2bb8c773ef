// The row-norm variant probe's interface between its translation units (an experiment, not the product):
// each operator's kernels are compiled into a unit of their own (rowNormProbeLayerNorm.cu,
// rowNormProbeResidualRmsNorm.cu include the product's ...Kernel.cu, whose file-local names would clash in
// one unit), which hands the timing driver (rowNormVariantProbe.cu) a list of named launches: every id of
// the operator's one table (through the product's launch function) and a few shapes the product does not
// ship, instantiated from the same templates.
#pragma once

#include "rowNormTypes.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tpb
{
namespace probe
{

//! One call's tensors (row-major rows x hidden; gamma, beta: hidden elements). LayerNorm reads x, gamma,
//! beta and writes y; residual-add + RMSNorm reads x, r, gamma and writes y, h.
struct RowArgs
{
    void const* x{nullptr};
    void const* r{nullptr};
    void const* gamma{nullptr};
    void const* beta{nullptr};
    void* y{nullptr};
    void* h{nullptr};
    int64_t rows{0};
    int64_t hidden{0};
    float eps{1.0e-5F};
};

using RowLaunchFn = std::function<cudaError_t(RowArgs const&, cudaStream_t)>;

struct RowVariant
{
    std::string name;
    RowLaunchFn launch;
};

//! Index 0 is the product's naive kernel (the reference the probe checks every variant against).
std::vector<RowVariant> layerNormVariants(RowNormDataType dtype);
std::vector<RowVariant> residualRmsNormVariants(RowNormDataType dtype);

} // namespace probe
} // namespace tpb
