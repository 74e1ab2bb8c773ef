// LayerNorm kernels. Pure CUDA: no TensorRT header (see layerNormKernel.h).
//
// Numerics (every variant alike, fp32 for every I/O type): the corrected two-pass algorithm over the
// row held in registers (Chan, Golub & LeVeque 1983). Pass 1: m = sum(x) / H. Pass 2: d = x - m,
// s1 = sum(d), s2 = sum(d^2). Then c = s1 / H (the rounding error of m, recovered from values of the
// row's own spread), var = (s2 - s1 c) / H, rstd = rsqrt(var + eps), y = fma((d - c) rstd, gamma, beta).
// Rows whose mean is far above their spread (mean >> std: sum(x) = one big rounded number) keep their
// accuracy: a plain two-pass output carries m's rounding error (~1e-7 |mean| / std), E[x^2] - E[x]^2
// loses every digit (plugin/tests/layerNormKernelCheck.cu plants such rows).
#include "layerNormKernel.h"
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
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape) RowShape::shape,
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
};
constexpr char const* kNames[] = {
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape) #name,
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
};
// ids dense from 0: the id of each line is its position
#define TPB_LAYER_NORM_KERNEL(id, enumerator, name, shape)                                                            \
    static_assert(static_cast<int32_t>(LayerNormKernel::enumerator) == id && id < kLayerNormKernelCount,              \
        "layerNormKernels.def: ids must be dense from 0");
#include "layerNormKernels.def"
#undef TPB_LAYER_NORM_KERNEL
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(kLayerNormKernelCount), "one name per id");

//! The row in registers: kVpt 16-byte vectors per thread. kWarpPerRow: a warp per row (lanes stride
//! 32 vectors), rows striding over the grid's warps; else a block per row (threads stride blockDim.x).
template <typename T, int32_t kVpt, bool kWarpPerRow>
__global__ void __launch_bounds__(kWarpPerRow ? rownorm::kWarpRowThreads : rownorm::kBlockMaxThreads)
    layerNormRegistersKernel(T const* __restrict__ x, T const* __restrict__ gamma,
    T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int32_t hidden, float eps)
{
    constexpr int32_t kE = Vec<T>::kElems;
    __shared__ float shared1[rownorm::kMaxWarps];
    __shared__ float2 shared2[rownorm::kMaxWarps];
    int32_t const vectors = hidden / kE;
    float const h = static_cast<float>(hidden);
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
    // warp per row: the loop condition is uniform in a warp; block per row: in a block (the barriers)
    for (; row < rows; row += rowStep)
    {
        T const* xr = x + row * hidden;
        float v[kVpt][kE];
        float sum = 0.0F;
#pragma unroll
        for (int32_t k = 0; k < kVpt; ++k)
        {
            int32_t const idx = lane + k * stride;
            if (idx < vectors)
            {
                rownorm::loadVector(xr + static_cast<int64_t>(idx) * kE, v[k]);
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    sum += v[k][i];
                }
            }
        }
        sum = kWarpPerRow ? rownorm::warpSum(sum) : rownorm::blockSum(sum, shared1);
        float const m = sum / h;
        float2 s = make_float2(0.0F, 0.0F);
#pragma unroll
        for (int32_t k = 0; k < kVpt; ++k)
        {
            if (lane + k * stride < vectors)
            {
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    float const d = v[k][i] - m;
                    v[k][i] = d;
                    s.x += d;
                    s.y = fmaf(d, d, s.y);
                }
            }
        }
        s = kWarpPerRow ? rownorm::warpSum2(s) : rownorm::blockSum2(s, shared2);
        float const c = s.x / h;
        float const var = fmaxf((s.y - s.x * c) / h, 0.0F);
        float const rstd = rsqrtf(var + eps);
        T* yr = y + row * hidden;
#pragma unroll
        for (int32_t k = 0; k < kVpt; ++k)
        {
            int32_t const idx = lane + k * stride;
            if (idx < vectors)
            {
                float g[kE];
                float b[kE];
                rownorm::loadVectorLdg(gamma + static_cast<int64_t>(idx) * kE, g);
                rownorm::loadVectorLdg(beta + static_cast<int64_t>(idx) * kE, b);
#pragma unroll
                for (int32_t i = 0; i < kE; ++i)
                {
                    v[k][i] = fmaf((v[k][i] - c) * rstd, g[i], b[i]);
                }
                rownorm::storeVector(yr + static_cast<int64_t>(idx) * kE, v[k]);
            }
        }
    }
}

//! The rows shapes (rownorm::RowShape kPREFETCH, kTWO_ROWS, kWEIGHTS_FIRST; the same numerics as
//! layerNormRegistersKernel, the same order of sums within a thread). A unit (a warp, or the block) holds
//! kRows rows as raw 16-byte vectors (kVpt a thread and row) and reduces them together (two barriers per
//! pass for all kRows rows). kPrefetch: the unit walks its chunk of rows in order and issues the next
//! group's loads before it reduces the current one. kWeightsFirst: each row's gamma and beta are loaded (raw)
//! before its x, and x through L1::no_allocate.
template <typename T, int32_t kVpt, bool kWarpPerRow, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
__global__ void __launch_bounds__(kWarpPerRow ? rownorm::kWarpRowThreads : rownorm::kBlockMaxThreads)
    layerNormRowsKernel(T const* __restrict__ x, T const* __restrict__ gamma, T const* __restrict__ beta,
        T* __restrict__ y, int64_t rows, int32_t hidden, float eps, int64_t chunk)
{
    constexpr int32_t kE = Vec<T>::kElems;
    __shared__ float shared[rownorm::kMaxWarps * 2 * kRows];
    int32_t const vectors = hidden / kE;
    float const h = static_cast<float>(hidden);
    rownorm::RowRange const rr = rownorm::rowRange<kWarpPerRow, kRows>(rows, chunk);
    // the raw rows [row, row + kRows) (rows at or past end, vectors past the row: zeros, never read back)
    auto load = [&](int64_t row, uint4 (&buf)[kRows][kVpt]) {
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                int32_t const idx = rr.lane + k * rr.stride;
                buf[j][k] = row + j < rr.end && idx < vectors
                    ? rownorm::loadRaw<kWeightsFirst>(x + (row + j) * hidden + static_cast<int64_t>(idx) * kE)
                    : make_uint4(0, 0, 0, 0);
            }
        }
    };
    uint4 cur[kRows][kVpt];
    if constexpr (kPrefetch)
    {
        load(rr.row, cur);
    }
    // uniform over the unit: warp (shuffles) or block (barriers)
    for (int64_t row = rr.row; row < rr.end; row += rr.step)
    {
        // kWeightsFirst: this row's weights, issued before its x (raw; in every iteration, not hoisted out of
        // the loop: a loop-invariant copy would be converted to floats once, twice the registers for 16-bit)
        uint4 gw[kWeightsFirst ? kVpt : 1];
        uint4 bw[kWeightsFirst ? kVpt : 1];
        if constexpr (kWeightsFirst)
        {
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                int32_t const idx = rr.lane + k * rr.stride;
                gw[k] = idx < vectors ? rownorm::loadRawLdg(gamma + static_cast<int64_t>(idx) * kE) : make_uint4(0, 0, 0, 0);
                bw[k] = idx < vectors ? rownorm::loadRawLdg(beta + static_cast<int64_t>(idx) * kE) : make_uint4(0, 0, 0, 0);
            }
        }
        uint4 next[kRows][kVpt];
        if constexpr (kPrefetch)
        {
            load(row + kRows, next); // in flight while this group is reduced and written
        }
        else
        {
            load(row, cur);
        }
        float sum[kRows];
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
            sum[j] = 0.0F;
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                if (rr.lane + k * rr.stride < vectors)
                {
                    float v[kE];
                    rownorm::unpack<T>(cur[j][k], v);
#pragma unroll
                    for (int32_t i = 0; i < kE; ++i)
                    {
                        sum[j] += v[i];
                    }
                }
            }
        }
        rownorm::rowSumN<kWarpPerRow, kRows>(sum, shared);
        float m[kRows];
        float s[2 * kRows];
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
            m[j] = sum[j] / h;
            s[2 * j] = 0.0F;
            s[2 * j + 1] = 0.0F;
#pragma unroll
            for (int32_t k = 0; k < kVpt; ++k)
            {
                if (rr.lane + k * rr.stride < vectors)
                {
                    float v[kE];
                    rownorm::unpack<T>(cur[j][k], v);
#pragma unroll
                    for (int32_t i = 0; i < kE; ++i)
                    {
                        float const d = v[i] - m[j];
                        s[2 * j] += d;
                        s[2 * j + 1] = fmaf(d, d, s[2 * j + 1]);
                    }
                }
            }
        }
        rownorm::rowSumN<kWarpPerRow, 2 * kRows>(s, shared);
#pragma unroll
        for (int32_t j = 0; j < kRows; ++j)
        {
            float const c = s[2 * j] / h;
            float const var = fmaxf((s[2 * j + 1] - s[2 * j] * c) / h, 0.0F);
            float const rstd = rsqrtf(var + eps);
            if (row + j < rr.end)
            {
                T* yr = y + (row + j) * hidden;
#pragma unroll
                for (int32_t k = 0; k < kVpt; ++k)
                {
                    int32_t const idx = rr.lane + k * rr.stride;
                    if (idx < vectors)
                    {
                        float v[kE];
                        float g[kE];
                        float b[kE];
                        rownorm::unpack<T>(cur[j][k], v);
                        if constexpr (kWeightsFirst)
                        {
                            rownorm::unpack<T>(gw[k], g);
                            rownorm::unpack<T>(bw[k], b);
                        }
                        else
                        {
                            rownorm::unpack<T>(rownorm::loadRawLdg(gamma + static_cast<int64_t>(idx) * kE), g);
                            rownorm::unpack<T>(rownorm::loadRawLdg(beta + static_cast<int64_t>(idx) * kE), b);
                        }
#pragma unroll
                        for (int32_t i = 0; i < kE; ++i)
                        {
                            float const d = v[i] - m[j];
                            v[i] = fmaf((d - c) * rstd, g[i], b[i]);
                        }
                        rownorm::storeVector(yr + static_cast<int64_t>(idx) * kE, v);
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
                    cur[j][k] = next[j][k];
                }
            }
        }
    }
}

//! The generic (and naive) kernel: a block per row, one scalar element per thread and step, three
//! passes over the row in global memory (the second and third mostly from L1/L2). Any hidden, any
//! alignment; the same numerics as the register kernels.
template <typename T>
__global__ void __launch_bounds__(1024) layerNormGenericKernel(T const* __restrict__ x, T const* __restrict__ gamma,
    T const* __restrict__ beta, T* __restrict__ y, int64_t rows, int64_t hidden, float eps)
{
    __shared__ float shared1[rownorm::kMaxWarps];
    __shared__ float2 shared2[rownorm::kMaxWarps];
    float const h = static_cast<float>(hidden);
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x)
    {
        T const* xr = x + row * hidden;
        float sum = 0.0F;
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
        {
            sum += rownorm::toFloat(xr[i]);
        }
        float const m = rownorm::blockSum(sum, shared1) / h;
        float2 s = make_float2(0.0F, 0.0F);
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
        {
            float const d = rownorm::toFloat(xr[i]) - m;
            s.x += d;
            s.y = fmaf(d, d, s.y);
        }
        s = rownorm::blockSum2(s, shared2);
        float const c = s.x / h;
        float const var = fmaxf((s.y - s.x * c) / h, 0.0F);
        float const rstd = rsqrtf(var + eps);
        T* yr = y + row * hidden;
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
        {
            float const d = rownorm::toFloat(xr[i]) - m;
            yr[i] = rownorm::fromFloat<T>(fmaf((d - c) * rstd, rownorm::toFloat(gamma[i]), rownorm::toFloat(beta[i])));
        }
    }
}

template <typename T, bool kWarpPerRow>
cudaError_t launchRegisters(RowLaunch const& plan, T const* x, T const* gamma, T const* beta, T* y, int64_t rows,
    int32_t hidden, float eps, cudaStream_t stream) noexcept
{
    dim3 const grid(static_cast<uint32_t>(plan.blocks));
    dim3 const block(static_cast<uint32_t>(plan.threads));
    switch (plan.vectorsPerThread)
    {
    case 1: layerNormRegistersKernel<T, 1, kWarpPerRow><<<grid, block, 0, stream>>>(x, gamma, beta, y, rows, hidden, eps); break;
    case 2: layerNormRegistersKernel<T, 2, kWarpPerRow><<<grid, block, 0, stream>>>(x, gamma, beta, y, rows, hidden, eps); break;
    case 4: layerNormRegistersKernel<T, 4, kWarpPerRow><<<grid, block, 0, stream>>>(x, gamma, beta, y, rows, hidden, eps); break;
    case 8: layerNormRegistersKernel<T, 8, kWarpPerRow><<<grid, block, 0, stream>>>(x, gamma, beta, y, rows, hidden, eps); break;
    case 16:
        if constexpr (kWarpPerRow) // block per row stops at 8 (rownorm::kBlockMaxVpt)
        {
            layerNormRegistersKernel<T, 16, true><<<grid, block, 0, stream>>>(x, gamma, beta, y, rows, hidden, eps);
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
cudaError_t launchRowsVpt(RowLaunch plan, T const* x, T const* gamma, T const* beta, T* y, int64_t rows,
    int32_t hidden, float eps, int32_t maxRows, cudaStream_t stream) noexcept
{
    auto const kernel = layerNormRowsKernel<T, kVpt, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>;
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
        x, gamma, beta, y, rows, hidden, eps, chunk);
    return cudaPeekAtLastError();
}

template <typename T, bool kWarpPerRow, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t launchRows(RowLaunch const& plan, T const* x, T const* gamma, T const* beta, T* y, int64_t rows,
    int32_t hidden, float eps, int32_t maxRows, cudaStream_t stream) noexcept
{
    switch (plan.vectorsPerThread)
    {
    case 1:
        return launchRowsVpt<T, 1, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream);
    case 2:
        return launchRowsVpt<T, 2, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream);
    case 4:
        return launchRowsVpt<T, 4, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream);
    case 8:
        return launchRowsVpt<T, 8, kWarpPerRow, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream);
    default: return cudaErrorInvalidValue;
    }
}

template <typename T, int32_t kRows, bool kPrefetch, bool kWeightsFirst>
cudaError_t launchRowsShape(RowLaunch const& plan, T const* x, T const* gamma, T const* beta, T* y, int64_t rows,
    int32_t hidden, float eps, cudaStream_t stream, int32_t maxRows = rownorm::kPrefetchRows) noexcept
{
    return plan.shape == RowShape::kWARP
        ? launchRows<T, true, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream)
        : launchRows<T, false, kRows, kPrefetch, kWeightsFirst>(plan, x, gamma, beta, y, rows, hidden, eps, maxRows, stream);
}

template <typename T>
cudaError_t launchTyped(void const* x, void const* gamma, void const* beta, void* y, int64_t rows, int64_t hidden,
    float eps, RowShape shape, cudaStream_t stream) noexcept
{
    auto const* xt = static_cast<T const*>(x);
    auto const* gt = static_cast<T const*>(gamma);
    auto const* bt = static_cast<T const*>(beta);
    auto* yt = static_cast<T*>(y);
    bool const aligned = rownorm::aligned16(x) && rownorm::aligned16(gamma) && rownorm::aligned16(beta)
        && rownorm::aligned16(y);
    RowLaunch const plan = rownorm::planRows(shape, rows, hidden, Vec<T>::kElems, aligned);
    if (plan.shape != RowShape::kGENERIC && rownorm::isRowsShape(shape))
    {
        int32_t const hid = static_cast<int32_t>(hidden);
        switch (shape)
        {
        case RowShape::kPREFETCH:
            return launchRowsShape<T, 1, true, false>(plan, xt, gt, bt, yt, rows, hid, eps, stream);
        case RowShape::kTWO_ROWS:
            return launchRowsShape<T, 2, false, false>(plan, xt, gt, bt, yt, rows, hid, eps, stream);
        default: return launchRowsShape<T, 1, false, true>(plan, xt, gt, bt, yt, rows, hid, eps, stream);
        }
    }
    switch (plan.shape)
    {
    case RowShape::kWARP:
        return launchRegisters<T, true>(plan, xt, gt, bt, yt, rows, static_cast<int32_t>(hidden), eps, stream);
    case RowShape::kBLOCK:
        return launchRegisters<T, false>(plan, xt, gt, bt, yt, rows, static_cast<int32_t>(hidden), eps, stream);
    default: break;
    }
    layerNormGenericKernel<T><<<dim3(static_cast<uint32_t>(plan.blocks)), dim3(static_cast<uint32_t>(plan.threads)),
        0, stream>>>(xt, gt, bt, yt, rows, hidden, eps);
    return cudaPeekAtLastError();
}

} // namespace

char const* layerNormKernelName(int32_t kernel) noexcept
{
    return isValidLayerNormKernel(kernel) ? kNames[kernel] : nullptr;
}

bool isValidLayerNormKernel(int32_t kernel) noexcept
{
    return kernel >= 0 && kernel < kLayerNormKernelCount;
}

cudaError_t launchLayerNorm(void const* x, void const* gamma, void const* beta, void* y, int64_t rows, int64_t hidden,
    float eps, RowNormDataType dtype, LayerNormKernel kernel, cudaStream_t stream) noexcept
{
    int32_t const id = static_cast<int32_t>(kernel);
    if (rows < 0 || hidden < 0 || !isValidLayerNormKernel(id) || !isValidRowNormDataType(static_cast<int32_t>(dtype))
        || !std::isfinite(eps) || !(eps > 0.0F))
    {
        return cudaErrorInvalidValue;
    }
    if (rows == 0 || hidden == 0)
    {
        return cudaSuccess;
    }
    if (rows > INT64_MAX / hidden || x == nullptr || gamma == nullptr || beta == nullptr || y == nullptr)
    {
        return cudaErrorInvalidValue;
    }
    RowShape const shape = kShapes[id];
    switch (dtype)
    {
    case RowNormDataType::kFLOAT: return launchTyped<float>(x, gamma, beta, y, rows, hidden, eps, shape, stream);
    case RowNormDataType::kHALF: return launchTyped<__half>(x, gamma, beta, y, rows, hidden, eps, shape, stream);
    case RowNormDataType::kBF16: return launchTyped<__nv_bfloat16>(x, gamma, beta, y, rows, hidden, eps, shape, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace tpb
