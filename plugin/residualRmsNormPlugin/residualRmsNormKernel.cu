// Residual-add + RMSNorm kernels. Pure CUDA: no TensorRT header (see residualRmsNormKernel.h).
//
// Numerics (every variant alike, fp32 for every I/O type): h = x + r in fp32 (stored rounded to the
// I/O type), s = sum(h^2) by fma, rstd = rsqrt(s / H + eps), y = (h rstd) gamma. No mean is subtracted,
// so there is no cancellation to guard against: one pass over the row in registers.
#include "residualRmsNormKernel.h"
#include "rowNormDevice.cuh"

#include <cmath>

namespace tpb
{
namespace
{

using rownorm::RowLaunch;
using rownorm::RowShape;
using rownorm::Vec;

constexpr RowShape kShapes[] = {
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape) RowShape::shape,
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
};
constexpr char const* kNames[] = {
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape) #name,
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
};
#define TPB_RESIDUAL_RMS_NORM_KERNEL(id, enumerator, name, shape)                                                     \
    static_assert(static_cast<int32_t>(ResidualRmsNormKernel::enumerator) == id && id < kResidualRmsNormKernelCount,  \
        "residualRmsNormKernels.def: ids must be dense from 0");
#include "residualRmsNormKernels.def"
#undef TPB_RESIDUAL_RMS_NORM_KERNEL
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(kResidualRmsNormKernelCount), "one name per id");

//! The row in registers (see layerNormKernel.cu's twin): kVpt 16-byte vectors per thread.
template <typename T, int32_t kVpt, bool kWarpPerRow>
__global__ void __launch_bounds__(kWarpPerRow ? rownorm::kWarpRowThreads : rownorm::kBlockMaxThreads)
    residualRmsNormRegistersKernel(T const* __restrict__ x, T const* __restrict__ r, T const* __restrict__ gamma,
        T* __restrict__ y, T* __restrict__ hOut, int64_t rows, int32_t hidden, float eps)
{
    constexpr int32_t kE = Vec<T>::kElems;
    __shared__ float shared1[rownorm::kMaxWarps];
    int32_t const vectors = hidden / kE;
    float const hf = static_cast<float>(hidden);
    int32_t lane = 0;
    int32_t stride = 0;
    int64_t row = 0;
    int64_t rowStep = 0;
    if constexpr (kWarpPerRow)
    {
        int32_t const warps = static_cast<int32_t>(blockDim.x) / rownorm::kWarpSize;
        lane = static_cast<int32_t>(threadIdx.x) % rownorm::kWarpSize;
        stride = rownorm::kWarpSize;
        row = static_cast<int64_t>(blockIdx.x) * warps + static_cast<int32_t>(threadIdx.x) / rownorm::kWarpSize;
        rowStep = static_cast<int64_t>(gridDim.x) * warps;
    }
    else
    {
        lane = static_cast<int32_t>(threadIdx.x);
        stride = static_cast<int32_t>(blockDim.x);
        row = blockIdx.x;
        rowStep = gridDim.x;
    }
    for (; row < rows; row += rowStep)
    {
        int64_t const base = row * hidden;
        float v[kVpt][kE];
        float sum = 0.0F;
#pragma unroll
        for (int32_t k = 0; k < kVpt; ++k)
        {
            int32_t const idx = lane + k * stride;
            if (idx < vectors)
            {
                float rv[kE];
                int64_t const at = base + static_cast<int64_t>(idx) * kE;
                rownorm::loadVector(x + at, v[k]);
                rownorm::loadVector(r + at, rv);
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    v[k][i] += rv[i];
                    sum = fmaf(v[k][i], v[k][i], sum);
                }
                rownorm::storeVector(hOut + at, v[k]);
            }
        }
        sum = kWarpPerRow ? rownorm::warpSum(sum) : rownorm::blockSum(sum, shared1);
        float const rstd = rsqrtf(sum / hf + eps);
#pragma unroll
        for (int32_t k = 0; k < kVpt; ++k)
        {
            int32_t const idx = lane + k * stride;
            if (idx < vectors)
            {
                float g[kE];
                rownorm::loadVectorLdg(gamma + static_cast<int64_t>(idx) * kE, g);
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    v[k][i] = v[k][i] * rstd * g[i];
                }
                rownorm::storeVector(y + base + static_cast<int64_t>(idx) * kE, v[k]);
            }
        }
    }
}

//! The rows shapes (rownorm::RowShape kPREFETCH, kTWO_ROWS, kWEIGHTS_FIRST; the numerics of
//! residualRmsNormRegistersKernel, the same order of sums within a thread; see layerNormKernel.cu's twin).
//! x and r arrive as raw 16-byte vectors; h is held in fp32 from the add to y. kPrefetch: the unit walks its
//! chunk of rows in order and issues the next group's x and r loads before it reduces the current one.
//! kWeightsFirst: each row's gamma is loaded (raw) before its x and r, and x and r through L1::no_allocate.
template <typename T, int32_t kVpt, bool kWarpPerRow, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
__global__ void __launch_bounds__(kWarpPerRow ? rownorm::kWarpRowThreads : rownorm::kBlockMaxThreads)
    residualRmsNormRowsKernel(T const* __restrict__ x, T const* __restrict__ r, T const* __restrict__ gamma,
        T* __restrict__ y, T* __restrict__ hOut, int64_t rows, int32_t hidden, float eps, int64_t chunk)
{
    constexpr int32_t kE = Vec<T>::kElems;
    __shared__ float shared[rownorm::kMaxWarps * kRows];
    int32_t const vectors = hidden / kE;
    float const hf = static_cast<float>(hidden);
    rownorm::RowRange const rr = rownorm::rowRange<kWarpPerRow, kRows>(rows, chunk);
    // the raw rows [row, row + kRows) of x and r (rows at or past end, vectors past the row: zeros, unused)
    auto load = [&](int64_t row, uint4 (&bx)[kRows][kVpt], uint4 (&br)[kRows][kVpt]) {
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                int32_t const idx = rr.lane + k * rr.stride;
                bool const in = row + j < rr.end && idx < vectors;
                int64_t const at = (row + j) * hidden + static_cast<int64_t>(idx) * kE;
                bx[j][k] = in ? rownorm::loadRaw<kWeightsFirst>(x + at) : make_uint4(0, 0, 0, 0);
                br[j][k] = in ? rownorm::loadRaw<kWeightsFirst>(r + at) : make_uint4(0, 0, 0, 0);
            }
        }
    };
    uint4 cx[kRows][kVpt];
    uint4 cr[kRows][kVpt];
    if constexpr (kPrefetch)
    {
        load(rr.row, cx, cr);
    }
    // uniform over the unit: warp (shuffles) or block (barriers)
    for (int64_t row = rr.row; row < rr.end; row += rr.step)
    {
        uint4 gw[kWeightsFirst ? kVpt : 1]; // kWeightsFirst: issued before x and r, raw, every row
        if constexpr (kWeightsFirst)
        {
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                int32_t const idx = rr.lane + k * rr.stride;
                gw[k] = idx < vectors ? rownorm::loadRawLdg(gamma + static_cast<int64_t>(idx) * kE) : make_uint4(0, 0, 0, 0);
            }
        }
        uint4 nx[kRows][kVpt];
        uint4 nr[kRows][kVpt];
        if constexpr (kPrefetch)
        {
            load(row + kRows, nx, nr); // in flight while this group is reduced and written
        }
        else
        {
            load(row, cx, cr);
        }
        float v[kRows][kVpt][kE];
        float sum[kRows];
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
            sum[j] = 0.0F;
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                int32_t const idx = rr.lane + k * rr.stride;
                float rv[kE];
                rownorm::unpack<T>(cx[j][k], v[j][k]);
                rownorm::unpack<T>(cr[j][k], rv);
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    v[j][k][i] += rv[i];
                }
                if (idx < vectors)
                {
#pragma unroll
                    for (int32_t i = 0; i < kE; ++i)
                    {
                        sum[j] = fmaf(v[j][k][i], v[j][k][i], sum[j]);
                    }
                    if (row + j < rr.end)
                    {
                        rownorm::storeVector(hOut + (row + j) * hidden + static_cast<int64_t>(idx) * kE, v[j][k]);
                    }
                }
            }
        }
        rownorm::rowSumN<kWarpPerRow, kRows>(sum, shared);
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
            float const rstd = rsqrtf(sum[j] / hf + eps);
            if (row + j < rr.end)
            {
#pragma unroll
                for (int32_t k = 0; k < kVpt; ++k)
                {
                    int32_t const idx = rr.lane + k * rr.stride;
                    if (idx < vectors)
                    {
                        float g[kE];
                        if constexpr (kWeightsFirst)
                        {
                            rownorm::unpack<T>(gw[k], g);
                        }
                        else
                        {
                            rownorm::unpack<T>(rownorm::loadRawLdg(gamma + static_cast<int64_t>(idx) * kE), g);
                        }
#pragma unroll
                        for (int32_t i = 0; i < kE; ++i)
                        {
                            v[j][k][i] = v[j][k][i] * rstd * g[i];
                        }
                        rownorm::storeVector(y + (row + j) * hidden + static_cast<int64_t>(idx) * kE, v[j][k]);
                    }
                }
            }
        }
        if constexpr (kPrefetch)
        {
#pragma unroll
            for (int32_t j = 0; j < kRows; ++j)
            {
#pragma unroll
                for (int32_t k = 0; k < kVpt; ++k)
                {
                    cx[j][k] = nx[j][k];
                    cr[j][k] = nr[j][k];
                }
            }
        }
    }
}

//! The generic (and naive) kernel: a block per row, scalar, two passes over global memory (the second
//! re-reads x and r, mostly from L1/L2). Any hidden, any alignment; the same numerics.
template <typename T>
__global__ void __launch_bounds__(1024) residualRmsNormGenericKernel(T const* __restrict__ x, T const* __restrict__ r,
    T const* __restrict__ gamma, T* __restrict__ y, T* __restrict__ hOut, int64_t rows, int64_t hidden, float eps)
{
    __shared__ float shared1[rownorm::kMaxWarps];
    float const hf = static_cast<float>(hidden);
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x)
    {
        int64_t const base = row * hidden;
        float sum = 0.0F;
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
        {
            float const h = rownorm::toFloat(x[base + i]) + rownorm::toFloat(r[base + i]);
            sum = fmaf(h, h, sum);
            hOut[base + i] = rownorm::fromFloat<T>(h);
        }
        float const rstd = rsqrtf(rownorm::blockSum(sum, shared1) / hf + eps);
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
        {
            float const h = rownorm::toFloat(x[base + i]) + rownorm::toFloat(r[base + i]);
            y[base + i] = rownorm::fromFloat<T>(h * rstd * rownorm::toFloat(gamma[i]));
        }
    }
}

template <typename T, bool kWarpPerRow>
cudaError_t launchRegisters(RowLaunch const& plan, T const* x, T const* r, T const* gamma, T* y, T* h, int64_t rows,
    int32_t hidden, float eps, cudaStream_t stream) noexcept
{
    dim3 const grid(static_cast<uint32_t>(plan.blocks));
    dim3 const block(static_cast<uint32_t>(plan.threads));
    switch (plan.vectorsPerThread)
    {
    case 1: residualRmsNormRegistersKernel<T, 1, kWarpPerRow><<<grid, block, 0, stream>>>(x, r, gamma, y, h, rows, hidden, eps); break;
    case 2: residualRmsNormRegistersKernel<T, 2, kWarpPerRow><<<grid, block, 0, stream>>>(x, r, gamma, y, h, rows, hidden, eps); break;
    case 4: residualRmsNormRegistersKernel<T, 4, kWarpPerRow><<<grid, block, 0, stream>>>(x, r, gamma, y, h, rows, hidden, eps); break;
    case 8: residualRmsNormRegistersKernel<T, 8, kWarpPerRow><<<grid, block, 0, stream>>>(x, r, gamma, y, h, rows, hidden, eps); break;
    case 16:
        if constexpr (kWarpPerRow) // block per row stops at 8 (rownorm::kBlockMaxVpt)
        {
            residualRmsNormRegistersKernel<T, 16, true><<<grid, block, 0, stream>>>(x, r, gamma, y, h, rows, hidden, eps);
            break;
        }
        return cudaErrorInvalidValue;
    default: return cudaErrorInvalidValue;
    }
    return cudaPeekAtLastError();
}

//! One rows kernel: kernel<T, kVpt, kWarpPerRow, kRows, kPrefetch, kWeightsFirst> of \p plan (the warp
//! or block layout planRows chose for a rows shape). kPrefetch: the grid and chunk from prefetchGrid, with
//! the device's resident units from the occupancy API, at most \p maxRows rows a unit.
template <typename T, int32_t kVpt, bool kWarpPerRow, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t launchRowsVpt(RowLaunch plan, T const* x, T const* r, T const* gamma, T* y, T* h, int64_t rows,
    int32_t hidden, float eps, int32_t maxRows, cudaStream_t stream) noexcept
{
    auto const kernel = residualRmsNormRowsKernel<T, kVpt, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>;
    int64_t chunk = 0;
    if constexpr (kPrefetch)
    {
        cudaError_t const status = rownorm::planPrefetch(plan, kernel, rows, kRows, maxRows);
        if (status != cudaSuccess)
        {
            return status;
        }
        chunk = plan.chunk;
    }
    kernel<<<dim3(static_cast<uint32_t>(plan.blocks)), dim3(static_cast<uint32_t>(plan.threads)), 0, stream>>>(
        x, r, gamma, y, h, rows, hidden, eps, chunk);
    return cudaPeekAtLastError();
}

template <typename T, bool kWarpPerRow, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t launchRows(RowLaunch const& plan, T const* x, T const* r, T const* gamma, T* y, T* h, int64_t rows,
    int32_t hidden, float eps, int32_t maxRows, cudaStream_t stream) noexcept
{
    switch (plan.vectorsPerThread)
    {
    case 1:
        return launchRowsVpt<T, 1, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream);
    case 2:
        return launchRowsVpt<T, 2, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream);
    case 4:
        return launchRowsVpt<T, 4, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream);
    case 8:
        return launchRowsVpt<T, 8, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream);
    default: return cudaErrorInvalidValue;
    }
}

template <typename T, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t launchRowsShape(RowLaunch const& plan, T const* x, T const* r, T const* gamma, T* y, T* h, int64_t rows,
    int32_t hidden, float eps, cudaStream_t stream, int32_t maxRows = rownorm::kPrefetchRows) noexcept
{
    return plan.shape == RowShape::kWARP
        ? launchRows<T, true, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream)
        : launchRows<T, false, kRows, kPrefetch, kWeightsFirst>(plan, x, r, gamma, y, h, rows, hidden, eps, maxRows, stream);
}

template <typename T>
cudaError_t launchTyped(void const* x, void const* r, void const* gamma, void* y, void* h, int64_t rows, int64_t hidden,
    float eps, RowShape shape, cudaStream_t stream) noexcept
{
    auto const* xt = static_cast<T const*>(x);
    auto const* rt = static_cast<T const*>(r);
    auto const* gt = static_cast<T const*>(gamma);
    auto* yt = static_cast<T*>(y);
    auto* ht = static_cast<T*>(h);
    bool const aligned = rownorm::aligned16(x) && rownorm::aligned16(r) && rownorm::aligned16(gamma)
        && rownorm::aligned16(y) && rownorm::aligned16(h);
    RowLaunch const plan = rownorm::planRows(shape, rows, hidden, Vec<T>::kElems, aligned);
    if (plan.shape != RowShape::kGENERIC && rownorm::isRowsShape(shape))
    {
        int32_t const hid = static_cast<int32_t>(hidden);
        switch (shape)
        {
        case RowShape::kPREFETCH:
            return launchRowsShape<T, 1, true, false>(plan, xt, rt, gt, yt, ht, rows, hid, eps, stream);
        case RowShape::kTWO_ROWS:
            return launchRowsShape<T, 2, false, false>(plan, xt, rt, gt, yt, ht, rows, hid, eps, stream);
        default: return launchRowsShape<T, 1, false, true>(plan, xt, rt, gt, yt, ht, rows, hid, eps, stream);
        }
    }
    switch (plan.shape)
    {
    case RowShape::kWARP:
        return launchRegisters<T, true>(plan, xt, rt, gt, yt, ht, rows, static_cast<int32_t>(hidden), eps, stream);
    case RowShape::kBLOCK:
        return launchRegisters<T, false>(plan, xt, rt, gt, yt, ht, rows, static_cast<int32_t>(hidden), eps, stream);
    default: break;
    }
    residualRmsNormGenericKernel<T><<<dim3(static_cast<uint32_t>(plan.blocks)),
        dim3(static_cast<uint32_t>(plan.threads)), 0, stream>>>(xt, rt, gt, yt, ht, rows, hidden, eps);
    return cudaPeekAtLastError();
}

} // namespace

char const* residualRmsNormKernelName(int32_t kernel) noexcept
{
    return isValidResidualRmsNormKernel(kernel) ? kNames[kernel] : nullptr;
}

bool isValidResidualRmsNormKernel(int32_t kernel) noexcept
{
    return kernel >= 0 && kernel < kResidualRmsNormKernelCount;
}

cudaError_t launchResidualRmsNorm(void const* x, void const* r, void const* gamma, void* y, void* h, int64_t rows,
    int64_t hidden, float eps, RowNormDataType dtype, ResidualRmsNormKernel kernel, cudaStream_t stream) noexcept
{
    int32_t const id = static_cast<int32_t>(kernel);
    if (rows < 0 || hidden < 0 || !isValidResidualRmsNormKernel(id)
        || !isValidRowNormDataType(static_cast<int32_t>(dtype)) || !std::isfinite(eps) || !(eps > 0.0F))
    {
        return cudaErrorInvalidValue;
    }
    if (rows == 0 || hidden == 0)
    {
        return cudaSuccess;
    }
    if (rows > INT64_MAX / hidden || x == nullptr || r == nullptr || gamma == nullptr || y == nullptr || h == nullptr)
    {
        return cudaErrorInvalidValue;
    }
    RowShape const shape = kShapes[id];
    switch (dtype)
    {
    case RowNormDataType::kFLOAT: return launchTyped<float>(x, r, gamma, y, h, rows, hidden, eps, shape, stream);
    case RowNormDataType::kHALF: return launchTyped<__half>(x, r, gamma, y, h, rows, hidden, eps, shape, stream);
    case RowNormDataType::kBF16:
        return launchTyped<__nv_bfloat16>(x, r, gamma, y, h, rows, hidden, eps, shape, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace tpb
