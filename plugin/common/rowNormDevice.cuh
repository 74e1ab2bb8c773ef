// Device helpers shared by the row-normalisation kernels (layerNormPlugin, residualRmsNormPlugin):
// 16-byte vectors of fp32/fp16/bf16 converted to fp32, warp and block sums, launch bookkeeping.
// Pure CUDA: no TensorRT header (included only by the ...Kernel.cu files).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <algorithm>
#include <cstring>

namespace tpb
{
namespace rownorm
{

constexpr int32_t kWarpSize = 32;
constexpr int32_t kMaxWarps = 32; //!< 1024 threads
constexpr int64_t kVectorBytes = 16;
//! gridDim.x we launch at most; the kernels stride over the rest of the rows (64-bit row counts).
constexpr int64_t kMaxGridX = 1 << 20;

constexpr int64_t ceilDiv(int64_t numerator, int64_t denominator)
{
    return (numerator + denominator - 1) / denominator;
}

template <typename T>
struct Vec
{
    static constexpr int32_t kElems = static_cast<int32_t>(kVectorBytes / sizeof(T));
};

__device__ __forceinline__ float toFloat(float v)
{
    return v;
}
__device__ __forceinline__ float toFloat(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ float toFloat(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T fromFloat(float v);
template <>
__device__ __forceinline__ float fromFloat<float>(float v)
{
    return v;
}
template <>
__device__ __forceinline__ __half fromFloat<__half>(float v)
{
    return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

//! One 16-byte vector at \p p (16-byte aligned) as kElems floats.
template <typename T>
__device__ __forceinline__ void loadVector(T const* p, float (&out)[Vec<T>::kElems])
{
    uint4 const raw = *reinterpret_cast<uint4 const*>(p);
    T values[Vec<T>::kElems];
    memcpy(values, &raw, sizeof(raw));
#pragma unroll
    for (int32_t i = 0; i < Vec<T>::kElems; ++i)
    {
        out[i] = toFloat(values[i]);
    }
}

//! A read-only (weights) vector through the non-coherent path.
template <typename T>
__device__ __forceinline__ void loadVectorLdg(T const* p, float (&out)[Vec<T>::kElems])
{
    uint4 const raw = __ldg(reinterpret_cast<uint4 const*>(p));
    T values[Vec<T>::kElems];
    memcpy(values, &raw, sizeof(raw));
#pragma unroll
    for (int32_t i = 0; i < Vec<T>::kElems; ++i)
    {
        out[i] = toFloat(values[i]);
    }
}

template <typename T>
__device__ __forceinline__ void storeVector(T* p, float const (&in)[Vec<T>::kElems])
{
    T values[Vec<T>::kElems];
#pragma unroll
    for (int32_t i = 0; i < Vec<T>::kElems; ++i)
    {
        values[i] = fromFloat<T>(in[i]);
    }
    uint4 raw;
    memcpy(&raw, values, sizeof(raw));
    *reinterpret_cast<uint4*>(p) = raw;
}

__device__ __forceinline__ float warpSum(float v)
{
#pragma unroll
    for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2)
    {
        v += __shfl_xor_sync(0xffffffffU, v, offset);
    }
    return v;
}

__device__ __forceinline__ float2 warpSum2(float2 v)
{
#pragma unroll
    for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2)
    {
        v.x += __shfl_xor_sync(0xffffffffU, v.x, offset);
        v.y += __shfl_xor_sync(0xffffffffU, v.y, offset);
    }
    return v;
}

//! Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
//! \p shared holds kMaxWarps floats; reusable right after the call (the trailing barrier).
__device__ __forceinline__ float blockSum(float v, float* shared)
{
    int32_t const lane = static_cast<int32_t>(threadIdx.x) % kWarpSize;
    int32_t const warp = static_cast<int32_t>(threadIdx.x) / kWarpSize;
    int32_t const warps = static_cast<int32_t>(blockDim.x) / kWarpSize;
    v = warpSum(v);
    if (lane == 0)
    {
        shared[warp] = v;
    }
    __syncthreads();
    // every warp sums the partials itself: no broadcast step
    float const total = warpSum(lane < warps ? shared[lane] : 0.0F);
    __syncthreads();
    return total;
}

//! blockSum of two values at once (\p shared holds kMaxWarps float2).
__device__ __forceinline__ float2 blockSum2(float2 v, float2* shared)
{
    int32_t const lane = static_cast<int32_t>(threadIdx.x) % kWarpSize;
    int32_t const warp = static_cast<int32_t>(threadIdx.x) / kWarpSize;
    int32_t const warps = static_cast<int32_t>(blockDim.x) / kWarpSize;
    v = warpSum2(v);
    if (lane == 0)
    {
        shared[warp] = v;
    }
    __syncthreads();
    float2 const total = warpSum2(lane < warps ? shared[lane] : make_float2(0.0F, 0.0F));
    __syncthreads();
    return total;
}

inline bool aligned16(void const* p) noexcept
{
    return (reinterpret_cast<uintptr_t>(p) % kVectorBytes) == 0;
}

//! The smallest of 1, 2, 4, 8, 16 vectors per thread that covers \p vectors with \p threads threads; 0 if none.
inline int32_t vectorsPerThread(int64_t vectors, int64_t threads) noexcept
{
    for (int32_t vpt = 1; vpt <= 16; vpt *= 2)
    {
        if (vectors <= threads * vpt)
        {
            return vpt;
        }
    }
    return 0;
}

} // namespace rownorm
} // namespace tpb

namespace tpb
{
namespace rownorm
{

//! How a row-normalisation kernel variant maps rows onto threads (the 4th column of the kernel tables).
enum class RowShape : int32_t
{
    kGENERIC = 0, //!< one block of scalar threads per row, passes over global memory: any hidden, any alignment
    kAUTO = 1,    //!< row in registers: warp per row while a lane holds <= 8 vectors, else block per row
    kBLOCK = 2,   //!< row in registers, one block per row at every hidden size
    kWARP = 3,    //!< row in registers, one warp per row while a lane holds <= 16 vectors, else block per row
};

//! The launch one call gets: shape (never kAUTO), vectors per thread, block size, grid size.
struct RowLaunch
{
    RowShape shape{RowShape::kGENERIC};
    int32_t vectorsPerThread{0};
    int32_t threads{0};
    int64_t blocks{0};
    int32_t rowsPerBlock{1};
};

constexpr int32_t kGenericThreads = 256;
constexpr int32_t kWarpRowThreads = 256; //!< 8 rows per block in the warp-per-row shape
constexpr int32_t kBlockTargetVpt = 4;   //!< block per row: threads for 4 vectors each (then 8, 16 at 1024 threads)
constexpr int32_t kAutoWarpMaxVpt = 8;
constexpr int32_t kWarpMaxVpt = 16;
//! Block per row: at most 512 threads of at most 8 vectors (__launch_bounds__(512): 128 registers, the
//! row's 8 x 8 floats and the rest without spilling; ptxas -v, sm_90). Longer rows run the generic shape.
constexpr int32_t kBlockMaxThreads = 512;
constexpr int32_t kBlockMaxVpt = 8;

//! The launch of \p requested for rows x hidden of \p elems elements per 16-byte vector. The register
//! shapes need hidden % elems == 0 and 16-byte aligned pointers (\p aligned); otherwise, and for rows too
//! long to hold (more than kBlockMaxThreads x kBlockMaxVpt vectors), the generic shape runs (always correct).
inline RowLaunch planRows(RowShape requested, int64_t rows, int64_t hidden, int32_t elems, bool aligned) noexcept
{
    RowLaunch plan;
    bool const vectorizable = aligned && hidden % elems == 0 && hidden / elems <= int64_t{kBlockMaxThreads} * kBlockMaxVpt;
    int64_t const vectors = hidden / elems;
    if (requested != RowShape::kGENERIC && vectorizable)
    {
        int32_t const warpLimit = requested == RowShape::kWARP ? kWarpMaxVpt : kAutoWarpMaxVpt;
        if (requested != RowShape::kBLOCK && vectors <= int64_t{kWarpSize} * warpLimit)
        {
            plan.shape = RowShape::kWARP;
            plan.vectorsPerThread = vectorsPerThread(vectors, kWarpSize);
            plan.threads = kWarpRowThreads;
            plan.rowsPerBlock = kWarpRowThreads / kWarpSize;
            plan.blocks = std::min<int64_t>(ceilDiv(rows, plan.rowsPerBlock), kMaxGridX);
            return plan;
        }
        int64_t threads = ceilDiv(ceilDiv(vectors, kBlockTargetVpt), kWarpSize) * kWarpSize;
        threads = std::max<int64_t>(kWarpSize, std::min<int64_t>(threads, kBlockMaxThreads));
        int32_t const vpt = vectorsPerThread(vectors, threads);
        if (vpt > 0 && vpt <= kBlockMaxVpt)
        {
            plan.shape = RowShape::kBLOCK;
            plan.vectorsPerThread = vpt;
            plan.threads = static_cast<int32_t>(threads);
            plan.blocks = std::min<int64_t>(rows, kMaxGridX);
            return plan;
        }
    }
    plan.shape = RowShape::kGENERIC;
    plan.threads = kGenericThreads;
    plan.blocks = std::min<int64_t>(rows, kMaxGridX);
    return plan;
}

} // namespace rownorm
} // namespace tpb
