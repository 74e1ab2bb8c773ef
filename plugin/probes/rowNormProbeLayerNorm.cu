// The LayerNorm side of the row-norm variant probe (rowNormProbe.h): the product's kernels compiled into
// this unit (the .cu is included, not linked) so that shapes the product does not ship come from the same
// templates.
#include "../layerNormPlugin/layerNormKernel.cu"
#include "rowNormProbe.h"

namespace tpb
{
namespace
{

//! A rows kernel with a plan the product does not make: \p asShape's layout and grid; kPrefetch: at most
//! \p chunkRows rows a unit (prefetchGrid, as the product's prefetch with its kPrefetchRows).
template <typename T, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t layerNormExtra(probe::RowArgs const& a, RowShape asShape, int32_t chunkRows, cudaStream_t stream)
{
    bool const aligned = rownorm::aligned16(a.x) && rownorm::aligned16(a.gamma) && rownorm::aligned16(a.beta)
        && rownorm::aligned16(a.y);
    RowLaunch const plan = rownorm::planRows(asShape, a.rows, a.hidden, Vec<T>::kElems, aligned);
    if (plan.shape == RowShape::kGENERIC || a.rows == 0)
    {
        return cudaErrorInvalidValue; // the probe's sizes are always vectorisable
    }
    return launchRowsShape<T, kRows, kPrefetch, kWeightsFirst>(plan, static_cast<T const*>(a.x),
        static_cast<T const*>(a.gamma), static_cast<T const*>(a.beta), static_cast<T*>(a.y), a.rows,
        static_cast<int32_t>(a.hidden), a.eps, stream, chunkRows);
}

template <typename T>
std::vector<probe::RowVariant> extras()
{
    return {
        {"x_prefetch_r2",
            [](probe::RowArgs const& a, cudaStream_t s) {
                return layerNormExtra<T, 1, true, false>(a, RowShape::kPREFETCH, 2, s);
            }},
        {"x_prefetch_r8",
            [](probe::RowArgs const& a, cudaStream_t s) {
                return layerNormExtra<T, 1, true, false>(a, RowShape::kPREFETCH, 8, s);
            }},
        {"x_prefetch_weights_first",
            [](probe::RowArgs const& a, cudaStream_t s) {
                return layerNormExtra<T, 1, true, true>(a, RowShape::kPREFETCH, rownorm::kPrefetchRows, s);
            }},
        // the block layout at every hidden (prefetch takes a warp a row up to 8 vectors a lane: hidden 1024)
        {"x_prefetch_block",
            [](probe::RowArgs const& a, cudaStream_t s) {
                return layerNormExtra<T, 1, true, false>(a, RowShape::kBLOCK, rownorm::kPrefetchRows, s);
            }},
        {"x_two_rows_prefetch",
            [](probe::RowArgs const& a, cudaStream_t s) {
                return layerNormExtra<T, 2, true, false>(a, RowShape::kTWO_ROWS, 2 * rownorm::kPrefetchRows, s);
            }},
    };
}

} // namespace

namespace probe
{

std::vector<RowVariant> layerNormVariants(RowNormDataType dtype)
{
    std::vector<RowVariant> v;
    for (int32_t id = 0; id < kLayerNormKernelCount; ++id)
    {
        auto const kernel = static_cast<LayerNormKernel>(id);
        v.push_back({layerNormKernelName(id), [kernel, dtype](RowArgs const& a, cudaStream_t s) {
                         return launchLayerNorm(a.x, a.gamma, a.beta, a.y, a.rows, a.hidden, a.eps, dtype, kernel, s);
                     }});
    }
    for (RowVariant& e : dtype == RowNormDataType::kFLOAT ? extras<float>() : extras<__half>())
    {
        v.push_back(std::move(e));
    }
    return v;
}

} // namespace probe
} // namespace tpb
