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

//! Sums of N values over the warp at once (every lane gets the totals).
template <int32_t N>
__device__ __forceinline__ void warpSumN(float (&v)[N])
{
#pragma unroll
    for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2)
    {
#pragma unroll
        for (int32_t j = 0; j < N; ++j)
        {
            v[j] += __shfl_xor_sync(0xffffffffU, v[j], offset);
        }
    }
}

//! Sums of N values over the block at once: two barriers for all N (blockSum's contract; \p shared holds
//! kMaxWarps x N floats, reusable right after the call).
template <int32_t N>
__device__ __forceinline__ void blockSumN(float (&v)[N], float* shared)
{
    int32_t const lane = static_cast<int32_t>(threadIdx.x) % kWarpSize;
    int32_t const warp = static_cast<int32_t>(threadIdx.x) / kWarpSize;
    int32_t const warps = static_cast<int32_t>(blockDim.x) / kWarpSize;
    warpSumN<N>(v);
    if (lane == 0)
    {
#pragma unroll
        for (int32_t j = 0; j < N; ++j)
        {
            shared[j * kMaxWarps + warp] = v[j];
        }
    }
    __syncthreads();
#pragma unroll
    for (int32_t j = 0; j < N; ++j)
    {
        v[j] = lane < warps ? shared[j * kMaxWarps + lane] : 0.0F;
    }
    warpSumN<N>(v);
    __syncthreads();
}

//! The row sums of the rows shape: a warp's or the block's.
template <bool kWarpPerRow, int32_t N>
__device__ __forceinline__ void rowSumN(float (&v)[N], float* shared)
{
    if constexpr (kWarpPerRow)
    {
        warpSumN<N>(v);
    }
    else
    {
        blockSumN<N>(v, shared);
    }
}

//! 16 raw bytes at \p p (16-byte aligned), converted where used: a 16-bit row held raw takes half the
//! registers of its floats. kNoL1: ld.global.nc.L1::no_allocate, for data read once (the row), so it does
//! not evict the weights every row reads from L1; only for memory the kernel never writes.
template <bool kNoL1>
__device__ __forceinline__ uint4 loadRaw(void const* p)
{
    uint4 v;
    if constexpr (kNoL1)
    {
        asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
            : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
            : "l"(p));
    }
    else
    {
        v = *reinterpret_cast<uint4 const*>(p);
    }
    return v;
}

//! A read-only (weights) vector's raw bytes through the non-coherent path.
__device__ __forceinline__ uint4 loadRawLdg(void const* p)
{
    return __ldg(reinterpret_cast<uint4 const*>(p));
}

//! kElems floats of a raw 16-byte vector of T.
template <typename T>
__device__ __forceinline__ void unpack(uint4 const& raw, float (&out)[Vec<T>::kElems])
{
    T values[Vec<T>::kElems];
    memcpy(values, &raw, sizeof(raw));
#pragma unroll
    for (int32_t i = 0; i < Vec<T>::kElems; ++i)
    {
        out[i] = toFloat(values[i]);
    }
}

//! The rows one unit (a warp, or the block) of the rows shape handles, kRows at a time, and the thread's
//! place in the row (its first vector, the stride between its vectors). chunk == 0: groups of kRows rows
//! stride over the units (the grid covers them: one group per unit, a one-shot grid). chunk > 0: the unit
//! owns the rows [unit x chunk, unit x chunk + chunk) and walks them in order (the prefetch shape).
//! row, end and step are uniform over the unit (the block shape's barriers).
struct RowRange
{
    int32_t lane;
    int32_t stride;
    int64_t row;
    int64_t end;
    int64_t step;
};

template <bool kWarpPerRow, int32_t kRows>
__device__ __forceinline__ RowRange rowRange(int64_t rows, int64_t chunk)
{
    RowRange r{};
    int64_t unit = 0;
    int64_t units = 0;
    if constexpr (kWarpPerRow)
    {
        int32_t const warps = static_cast<int32_t>(blockDim.x) / kWarpSize;
        r.lane = static_cast<int32_t>(threadIdx.x) % kWarpSize;
        r.stride = kWarpSize;
        unit = static_cast<int64_t>(blockIdx.x) * warps + static_cast<int32_t>(threadIdx.x) / kWarpSize;
        units = static_cast<int64_t>(gridDim.x) * warps;
    }
    else
    {
        r.lane = static_cast<int32_t>(threadIdx.x);
        r.stride = static_cast<int32_t>(blockDim.x);
        unit = blockIdx.x;
        units = gridDim.x;
    }
    if (chunk > 0)
    {
        r.row = unit * chunk < rows ? unit * chunk : rows;
        r.end = rows - r.row > chunk ? r.row + chunk : rows;
        r.step = kRows;
    }
    else
    {
        r.row = unit * kRows;
        r.end = rows;
        r.step = units * kRows;
    }
    return r;
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
    // The rows shapes (issue 24, rowsKernel in each ...Kernel.cu): kAUTO's warp-or-block choice, the row
    // held as raw 16-byte vectors (16-bit I/O: half the registers of floats), N-value reductions.
    kPREFETCH = 4,      //!< a unit (warp or block) walks kPrefetchRows rows in order, the next row's loads in
                        //!< flight while it reduces and writes the current one (loads never pause)
    kTWO_ROWS = 5,      //!< a unit normalises two rows at once: twice the bytes in flight, one set of
                        //!< barriers for both; a one-shot grid (warp while a lane holds <= 4 vectors)
    kWEIGHTS_FIRST = 6, //!< one row per unit, the weights' loads issued before the row's (no dependent L2/L1
                        //!< round trip after the reduction), the row read with L1::no_allocate
};

//! The rows shapes (kPREFETCH and after).
constexpr bool isRowsShape(RowShape shape) noexcept
{
    return shape == RowShape::kPREFETCH || shape == RowShape::kTWO_ROWS || shape == RowShape::kWEIGHTS_FIRST;
}

//! The launch one call gets: shape (never kAUTO), vectors per thread, block size, grid size.
struct RowLaunch
{
    RowShape shape{RowShape::kGENERIC};
    int32_t vectorsPerThread{0};
    int32_t threads{0};
    int64_t blocks{0};
    int32_t rowsPerBlock{1}; //!< units (rows at a time) per block: 8 warps, or 1 block
    int64_t chunk{0};        //!< kPREFETCH: rows a unit walks in order (rowRange); else 0
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
//! kPREFETCH: at most 4 rows a unit, behind one another (the loads of rows 2..4 overlap the reductions of
//! rows 1..3), and fewer where the rows would not fill the resident units twice (prefetchGrid): a small
//! tensor keeps one row a unit, its rows side by side (the probe also times at most 2 and 8).
constexpr int32_t kPrefetchRows = 4;
//! kTWO_ROWS: a warp per row pair only while a lane holds <= 4 vectors a row (8 in all).
constexpr int32_t kTwoRowsWarpMaxVpt = 4;

//! The launch of \p requested for rows x hidden of \p elems elements per 16-byte vector. The register
//! shapes need hidden % elems == 0 and 16-byte aligned pointers (\p aligned); otherwise, and for rows too
//! long to hold (more than kBlockMaxThreads x kBlockMaxVpt vectors), the generic shape runs (always correct).
//! The rows shapes (isRowsShape) take kAUTO's layout, with vectorsPerThread <= 8 in either, and their own
//! grid: kTWO_ROWS covers rows / 2 units; kPREFETCH one row a unit here, prefetchGrid sets its chunk.
inline RowLaunch planRows(RowShape requested, int64_t rows, int64_t hidden, int32_t elems, bool aligned) noexcept
{
    if (isRowsShape(requested))
    {
        int32_t const warpLimit = requested == RowShape::kTWO_ROWS ? kTwoRowsWarpMaxVpt : kAutoWarpMaxVpt;
        int64_t const vectors = hidden / elems;
        bool const useWarp = aligned && hidden % elems == 0 && vectors <= int64_t{kWarpSize} * warpLimit;
        RowLaunch plan = planRows(useWarp ? RowShape::kWARP : RowShape::kBLOCK, rows, hidden, elems, aligned);
        if (plan.shape == RowShape::kGENERIC)
        {
            return plan;
        }
        int64_t const perUnit = requested == RowShape::kTWO_ROWS ? 2 : 1;
        plan.blocks = std::min<int64_t>(ceilDiv(rows, perUnit * plan.rowsPerBlock), kMaxGridX);
        return plan;
    }
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

//! The prefetch shape's grid: each unit walks a chunk of rows in order. \p residentUnits: how many units
//! the device holds at once (SMs x resident blocks x units a block, from the occupancy API at launch: no
//! chip constant). A chunk of rows / residentUnits rows, between \p groupRows and \p maxRows and a
//! multiple of groupRows: rows that do not fill the device twice keep one group a unit (no serial rows
//! where the units could run side by side); the grid never exceeds kMaxGridX blocks (the chunk grows).
inline void prefetchGrid(RowLaunch& plan, int64_t rows, int64_t residentUnits, int32_t groupRows, int32_t maxRows) noexcept
{
    int64_t const group = std::max<int32_t>(1, groupRows);
    int64_t perUnit = std::max<int64_t>(group, std::min<int64_t>(maxRows, rows / std::max<int64_t>(1, residentUnits)));
    perUnit = ceilDiv(perUnit, group) * group;
    plan.blocks = std::max<int64_t>(1, std::min<int64_t>(ceilDiv(rows, perUnit * plan.rowsPerBlock), kMaxGridX));
    plan.chunk = ceilDiv(ceilDiv(rows, plan.blocks * plan.rowsPerBlock), group) * group;
}

//! prefetchGrid for \p kernel on the current device: its resident units from the SM count and the occupancy
//! API (no chip constant). Both row norms' prefetch launches call this one.
template <typename Kernel>
cudaError_t planPrefetch(
    RowLaunch& plan, Kernel kernel, int64_t rows, int32_t groupRows, int32_t maxRows) noexcept
{
    int device = 0;
    int sms = 0;
    int perSm = 0;
    cudaError_t status = cudaGetDevice(&device);
    status = status == cudaSuccess ? cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) : status;
    status = status == cudaSuccess ? cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel, plan.threads, 0)
                                   : status;
    if (status == cudaSuccess)
    {
        prefetchGrid(plan, rows, int64_t{sms} * perSm * plan.rowsPerBlock, groupRows, maxRows);
    }
    return status;
}

} // namespace rownorm
} // namespace tpb
