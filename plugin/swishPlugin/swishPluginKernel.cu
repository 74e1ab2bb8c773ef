// Swish kernels. Pure CUDA: no TensorRT header may be included here (see swishPluginKernel.h).
#include "swishPluginKernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>

namespace tpb
{
namespace
{

// Naive baseline: one element per thread, 256-thread blocks (the seed kernel's configuration).
constexpr int32_t kNaiveBlockSize = 256;

// Vectorised kernels: each thread keeps kVectorsPerThread independent 16-byte loads in flight per
// loop iteration. With kVectorBlocksPerSm resident 256-thread blocks that is 1024 threads x 64 B =
// 64 KiB of outstanding reads per SM, several times what Little's law asks for on HBM GPUs (bandwidth x
// ~0.6 us latency / SMs: ~16 KiB per SM on an H100, ~20 KiB on an H200). Four blocks per SM is not a
// measured chip property but a guarantee: __launch_bounds__ below caps registers so that they fit.
constexpr int32_t kVectorBlockSize = 256;
constexpr int32_t kVectorsPerThread = 4;
constexpr int32_t kVectorBlocksPerSm = 4;

// gridDim.x limit for compute capability >= 3.0.
constexpr int64_t kMaxGridX = 2147483647;

constexpr int64_t kVectorBytes = 16;

constexpr int64_t ceilDiv(int64_t numerator, int64_t denominator)
{
    return (numerator + denominator - 1) / denominator;
}

// Status of the launch just enqueued. cudaPeekAtLastError, not cudaGetLastError: a launch error
// (invalid configuration, too many resources) is not sticky, so peeking reports it without erasing
// it, and without erasing an error that an earlier, unrelated call of the caller left pending
// (cudaGetLastError would reset that one to cudaSuccess behind the caller's back). The price: a
// pending earlier error is returned here as well (see launchSwish in the header).
cudaError_t launchStatus() noexcept
{
    return cudaPeekAtLastError();
}

template <typename To, typename From>
__device__ __forceinline__ To bitCast(From const& from)
{
    static_assert(sizeof(To) == sizeof(From), "bitCast needs equal sizes");
    To to;
    memcpy(&to, &from, sizeof(To));
    return to;
}

// Below this z = beta * x every kernel takes the far-tail branch (farTailSwish in the naive kernel, its
// exp2f twin in fastSwish). __expf(-z)
// overflows to +inf for z < ~-88.72 (the fast path would return -0 where the exact result is a
// normal or subnormal number: x = -89 gives -1.98e-37, x = -100 gives -3.7e-42), and in the naive
// kernel expf(-z) overflows at the same point. -80 leaves a margin below which both paths are
// still finite, and no input of the benchmarks' distributions gets near it (one compare per element).
constexpr float kFarTailZ = -80.0F;

// Swish for z = beta * x < kFarTailZ (rare): x * e / (1 + e) with e = exp(z), where 1 + e rounds to
// 1 in fp32 (e < e^-80 < 2^-115), so the result is x * e. e itself is subnormal for z < -87.3 and a
// subnormal carries few significant bits (e^-100 is 27 subnormal steps, ~2% apart), which x * e
// would scale up to ~|x| ulps of error. Hence exp(z) = exp(z/2)^2: z/2 is exact, exp(z/2) is normal
// down to z = -174 (accurate expf, not __expf: that would flush), and (x * h) * h rounds once into
// the subnormal range at the end. Error: 2 x expf's 2 ulp + 3 roundings, far inside the fp32 bound
// (3 + (4 + 3.4 |z|) ulps here). Only for |x| > e^70 with z < -174 (beta < ~1e-28) is h itself
// subnormal and the result loses bits. z = -inf (x = -inf, beta > 0): -inf * 0 = NaN, as the
// float64 reference.
__device__ __forceinline__ float farTailSwish(float x, float z)
{
    float const h = expf(0.5F * z);
    return (x * h) * h;
}

// Fast Swish, every dtype, in fp32 with the cheapest instructions there are: one FMUL,
// ex2.approx.ftz, one FADD, rcp.approx.ftz, one FMUL per element, shared by the vectorised kernels
// and the unaligned fallback so that every non-naive path of a dtype has identical numerics.
// History (docs/kernel-notes.md): the 16-bit types moved to this math first (2026-12-02: on the H200
// the fp16 kernels were issue-bound at 90 % of the issue slots, 84-86 % of the copy ceiling); fp32
// followed, because its accurate-rounding reciprocal (__frcp_rn: MUFU.RCP, two FFMA and a slow-path
// test) and non-ftz __expf kept fp32 at 65 % of the issue slots and 1.5-2 % behind a copy of the same
// shape at 256 MiB (Nsight Compute at 1 GiB: 2.6 IPC against fp16's 1.8).
// The check's bound (docs/kernel-notes.md, "Numerics contract") is unchanged:
// fp32 3 + (4 + 3.4 |z|) (1 - sigmoid(z)) ulps, z = beta * x; fp16/bf16 1 ulp.
//  * t = x * (-beta * log2 e), so exp(-beta x) = 2^t; the product beta * -log2 e is common to every
//    element of a thread and computed once. Its rounding and t's cost |z|/2 ulp of e each, as z's
//    and __expf's own pre-scaling did; ex2.approx is __expf's instruction (2 ulp). These reach the
//    sigmoid scaled by 1 - sigmoid(z): (2 + |z|)(1 - sigmoid(z)) ulps, doubled into output ulps.
//  * rcp.approx.ftz is within 1 ulp (__frcp_rn: 0.5). With the rounding of 1 + e and of the final
//    product that is at most 1/sigmoid + 1.5 output ulps: 2.5 where sigmoid -> 1 (the bound's
//    constant is 3), 3.5 at sigmoid = 0.5 where the bound is 5.
//  * ftz is harmless: t is subnormal only for a tiny x, and 2^0 = 1 is then the right factor (x itself
//    is multiplied without ftz, so x * 0.5 stays a subnormal: the check rejects a flushed result);
//    2^t below fp32's normal range only adds < 2^-126 to 1; 1 + 2^t >= 1, so rcp never sees a
//    subnormal. A 16-bit input is an fp32 normal number or zero.
//  * kFarTail (fp32 and bf16, which share fp32's exponent range): z = beta x < kFarTailZ, where 2^t
//    overflows while the exact result is a normal or subnormal number, takes farTailSwish's route
//    (exp of z/2, squared) through an accurate exp2f of t/2; one compare per element on the hot path,
//    and the loads/stores stay 128-bit. fp16 needs no far tail: for z < -80 the exact
//    |x e^z| < 65504 e^-80 ~ 1e-30 rounds to zero, which is what x * rcp(inf) = -0 gives.
//  * x = +inf -> t = -inf -> 2^t = 0 -> +inf. x = -inf -> far tail, -inf * 0 = NaN, deliberately: the
//    float64 reference x * sigmoid(beta x) is also -inf * 0 = NaN. NaN -> NaN.
constexpr float kNegLog2E = -1.4426950408889634F;
constexpr float kFarTailT = -kFarTailZ * 1.4426950408889634F; // t above this: z below kFarTailZ

__device__ __forceinline__ float ex2ApproxFtz(float t)
{
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(t));
    return r;
}

__device__ __forceinline__ float rcpApproxFtz(float d)
{
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
    return r;
}

template <bool kFarTail>
__device__ __forceinline__ float fastSwish(float x, float beta)
{
    float const t = x * (beta * kNegLog2E);
    if constexpr (kFarTail)
    {
        if (t > kFarTailT)
        {
            float const h = exp2f(-0.5F * t); // accurate exp2f: normal down to t/2 = -126
            return (x * h) * h;
        }
    }
    return x * rcpApproxFtz(1.0F + ex2ApproxFtz(t));
}

// Per-type conversions and the per-type Swish (fastSwish, with the far tail where the type needs it),
// used by the vector and the scalar paths alike, so every non-naive path of a dtype has the same
// numerics. A 16-byte vector is handled as four 32-bit words: one float, or a packed
// pair of half/bf16 values converted with the paired intrinsics.
template <typename T>
struct ElementOps;

template <>
struct ElementOps<float>
{
    static __device__ __forceinline__ float toFloat(float value)
    {
        return value;
    }
    static __device__ __forceinline__ float fromFloat(float value)
    {
        return value;
    }
    static __device__ __forceinline__ float swish(float x, float beta)
    {
        return fastSwish<true>(x, beta);
    }
    static __device__ __forceinline__ uint32_t swishWord(uint32_t word, float beta)
    {
        return __float_as_uint(fastSwish<true>(__uint_as_float(word), beta));
    }
};

template <>
struct ElementOps<__half>
{
    static __device__ __forceinline__ float toFloat(__half value)
    {
        return __half2float(value);
    }
    static __device__ __forceinline__ __half fromFloat(float value)
    {
        return __float2half_rn(value);
    }
    static __device__ __forceinline__ float swish(float x, float beta)
    {
        return fastSwish<false>(x, beta);
    }
    static __device__ __forceinline__ uint32_t swishWord(uint32_t word, float beta)
    {
        float2 values = __half22float2(bitCast<__half2>(word));
        values.x = swish(values.x, beta);
        values.y = swish(values.y, beta);
        return bitCast<uint32_t>(__float22half2_rn(values));
    }
};

template <>
struct ElementOps<__nv_bfloat16>
{
    static __device__ __forceinline__ float toFloat(__nv_bfloat16 value)
    {
        return __bfloat162float(value);
    }
    static __device__ __forceinline__ __nv_bfloat16 fromFloat(float value)
    {
        return __float2bfloat16_rn(value);
    }
    static __device__ __forceinline__ float swish(float x, float beta)
    {
        return fastSwish<true>(x, beta);
    }
    static __device__ __forceinline__ uint32_t swishWord(uint32_t word, float beta)
    {
        float2 values = __bfloat1622float2(bitCast<__nv_bfloat162>(word));
        values.x = swish(values.x, beta);
        values.y = swish(values.y, beta);
        return bitCast<uint32_t>(__float22bfloat162_rn(values));
    }
};

//! L2 eviction priority of the one-shot kernels' accesses (see swishOneShotKernel).
enum class CachePolicy : int32_t
{
    kDEFAULT = 0,
    kEVICT_FIRST_LOADS = 1, //!< ld.global.cs: input lines are the first victims
    kEVICT_FIRST_ALL = 2,   //!< ld.global.cs and st.global.cs
    //! loads carry an L2 cache-policy descriptor (createpolicy ... L2::evict_first, ld ... L2::cache_hint):
    //! the mechanism of cudaAccessPolicyWindow's streaming property, per instruction. The .cs qualifier
    //! is only a hint whose L2 effect on sm_90 is not documented; the descriptor is the L2's own policy.
    kL2_EVICT_FIRST_LOADS = 3,
};

__device__ __forceinline__ uint4 loadVectorL2EvictFirst(uint4 const* address)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    uint64_t policy;
    asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    uint4 vector;
    asm volatile("ld.global.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
                 : "=r"(vector.x), "=r"(vector.y), "=r"(vector.z), "=r"(vector.w)
                 : "l"(address), "l"(policy));
    return vector;
#else
    return __ldcs(address); // no L2 cache-policy descriptors before sm_80
#endif
}

template <bool kStreaming>
__device__ __forceinline__ uint4 loadVector(uint4 const* address)
{
    if constexpr (kStreaming)
    {
        return __ldcs(address); // evict-first: the data is touched exactly once
    }
    else
    {
        return *address;
    }
}

template <CachePolicy kPolicy>
__device__ __forceinline__ uint4 loadVectorWithPolicy(uint4 const* address)
{
    if constexpr (kPolicy == CachePolicy::kL2_EVICT_FIRST_LOADS)
    {
        return loadVectorL2EvictFirst(address);
    }
    else
    {
        return loadVector<kPolicy != CachePolicy::kDEFAULT>(address);
    }
}

template <bool kStreaming>
__device__ __forceinline__ void storeVector(uint4* address, uint4 value)
{
    if constexpr (kStreaming)
    {
        __stcs(address, value);
    }
    else
    {
        *address = value;
    }
}

template <typename T>
__device__ __forceinline__ uint4 swishVector(uint4 vector, float beta)
{
    vector.x = ElementOps<T>::swishWord(vector.x, beta);
    vector.y = ElementOps<T>::swishWord(vector.y, beta);
    vector.z = ElementOps<T>::swishWord(vector.z, beta);
    vector.w = ElementOps<T>::swishWord(vector.w, beta);
    return vector;
}

// Per-element Swish of the naive kernel and of the scalar fast paths, one body each (the planted slowdown
// below re-does elements with the very same code, so its writes are bit for bit the kernels' own).
template <typename T>
__device__ __forceinline__ T naiveSwish(T value, float beta)
{
    float const x = ElementOps<T>::toFloat(value);
    float const z = beta * x;
    return ElementOps<T>::fromFloat(z < kFarTailZ ? farTailSwish(x, z) : x / (1.0f + expf(-z)));
}

template <typename T>
__device__ __forceinline__ T fastSwishElement(T value, float beta)
{
    return ElementOps<T>::fromFloat(ElementOps<T>::swish(ElementOps<T>::toFloat(value), beta));
}

#if defined(TPB_PLANTED_SLOWDOWN_PERMILLE) && TPB_PLANTED_SLOWDOWN_PERMILLE > 0
// Test only, never in the default build (plugin/CMakeLists.txt: TPB_PLANTED_SLOWDOWN_PERMILLE, 0 = off): a
// planted slowdown of about PERMILLE/1000 of each launch's timed latency, for checking the verdict (issue 28).
// Each launch takes one of two halves, the one that costs time where it runs; the work's output is unchanged:
// - Traffic, where the launch's input + output exceed the L2 (TPB_PLANTED_SLOWDOWN_L2_MIB, 50: the H100's): the
//   kernel is bound by DRAM bandwidth, and PERMILLE/1000 more of its own traffic costs about that much time. A
//   kernel over n items (16-byte vectors; elements in the naive and scalar kernels) runs over n + extra, extra =
//   floor(n * PERMILLE / 1000): item i >= n is item i - n done again, i.e. the first PERMILLE/1000 of the tensor
//   is read and written a second time with the same code and so the same values (two threads may write one
//   element, both the same bits). The extra items sit at the end of the index space (the one-shot kernel's extra
//   blocks are dispatched last; the grid-stride kernels extend each thread's sequence past n), so the re-done
//   part was evicted from the L2 by then: real DRAM traffic.
// - Latency, where the tensors fit the L2 (a launch- or latency-bound kernel, or one within the L2's bandwidth):
//   each thread, after its work, spins for PERMILLE/1000 of the clock cycles its own work took, and the threads of
//   the grid's last wave for PERMILLE/1000 of a launch allowance too (TPB_PLANTED_SLOWDOWN_LAUNCH_NS, 3000: what
//   CUDA events time around a launch beyond its blocks' own work, H100 blocked start: 3.55-3.58 us for one block
//   of 256 elements, of which about 0.6-1 us is the block's work), at an assumed SM clock of 1980 MHz. Where the
//   grid is one wave the kernel ends with its threads: about PERMILLE/1000 of the timed latency.
// Why two halves, each alone: a spin alone is hidden by other warps where DRAM is the bound (H100, 2026-12-07,
// PERMILLE = 25: +0.1-0.4 % at 64 Mi elements); traffic alone costs a launch-bound kernel almost nothing; both at
// once cost up to twice PERMILLE/1000 (20: +2.2 to +13 %, 2026-12-07); and a wait for the grid's last block
// (one device-wide count) costs its fences and atomics, 1.3-2 us a launch by themselves (20: +53 % at 256
// elements, 2026-12-07, docs/runs/h100-2026-12-07d). In place (input == output, allowed) a re-done item is only
// read (volatile, so it is not optimised away): its element may already hold the result, so computing it again
// would not be idempotent.
static_assert(TPB_PLANTED_SLOWDOWN_PERMILLE <= 1000, "TPB_PLANTED_SLOWDOWN_PERMILLE: at most 1000");
#ifndef TPB_PLANTED_SLOWDOWN_L2_MIB
#define TPB_PLANTED_SLOWDOWN_L2_MIB 50
#endif
#ifndef TPB_PLANTED_SLOWDOWN_LAUNCH_NS
#define TPB_PLANTED_SLOWDOWN_LAUNCH_NS 3000
#endif
static_assert(TPB_PLANTED_SLOWDOWN_L2_MIB > 0 && TPB_PLANTED_SLOWDOWN_L2_MIB <= 1024,
    "TPB_PLANTED_SLOWDOWN_L2_MIB: 1 to 1024");
static_assert(TPB_PLANTED_SLOWDOWN_LAUNCH_NS >= 0 && TPB_PLANTED_SLOWDOWN_LAUNCH_NS <= 1000000,
    "TPB_PLANTED_SLOWDOWN_LAUNCH_NS: 0 to 1 ms");
constexpr int64_t kPlantedPermille = TPB_PLANTED_SLOWDOWN_PERMILLE;
constexpr int64_t kPlantedL2Bytes = int64_t{TPB_PLANTED_SLOWDOWN_L2_MIB} << 20;
constexpr long long kPlantedClockMhz = 1980; // the H100 SXM's highest SM clock: the allowance in cycles
constexpr long long kPlantedLaunchCycles = TPB_PLANTED_SLOWDOWN_LAUNCH_NS * kPlantedClockMhz / 1000;
constexpr unsigned int kPlantedThreadsPerSm = 2048; // sm_90's resident threads: a wave's blocks at most
// Items at or beyond 2^62 are never re-done (no tensor has that many): n + extra <= max(n, 2^62), so neither
// it nor the grid arithmetic over it (ceilDiv) can overflow.
constexpr int64_t kPlantedItemsMax = int64_t{1} << 62;

//! n + floor(n * PERMILLE / 1000), computed without overflow (PERMILLE <= 1000), at most max(n, 2^62).
__host__ __device__ constexpr int64_t plantedItems(int64_t items)
{
    int64_t const extra = items / 1000 * kPlantedPermille + items % 1000 * kPlantedPermille / 1000;
    int64_t const room = items < kPlantedItemsMax ? kPlantedItemsMax - items : 0;
    return items + (extra < room ? extra : room);
}

static_assert(plantedItems(0) == 0 && plantedItems(999) == 999 + 999 * kPlantedPermille / 1000
        && plantedItems(1000) == 1000 + kPlantedPermille && plantedItems(kPlantedItemsMax) == kPlantedItemsMax
        && plantedItems(INT64_MAX) == INT64_MAX && plantedItems(kPlantedItemsMax - 1) == kPlantedItemsMax,
    "plantedItems: floor(n * PERMILLE / 1000) more, at most max(n, 2^62)");

//! Whether a launch over \p items items of \p itemBytes bytes takes the traffic half: its input + output exceed the
//! L2 (2 * items * itemBytes > L2, without overflow).
__host__ __device__ constexpr bool plantedTraffic(int64_t items, int64_t itemBytes)
{
    return items > kPlantedL2Bytes / 2 / itemBytes;
}

//! The items a launch's grid covers: its own n, and the re-done extra where it takes the traffic half.
__host__ __device__ constexpr int64_t plantedGridItems(int64_t items, int64_t itemBytes)
{
    return plantedTraffic(items, itemBytes) ? plantedItems(items) : items;
}

// at the configured L2 (TPB_PLANTED_SLOWDOWN_L2_MIB: 1 in the GPU check's correctness build, 50 timed), not only 50
static_assert(!plantedTraffic(kPlantedL2Bytes / 2 / 16, 16) && plantedTraffic(kPlantedL2Bytes / 2 / 16 + 1, 16)
        && plantedGridItems(1000, 2) == 1000 && plantedGridItems(int64_t{1} << 30, 4) == plantedItems(int64_t{1} << 30),
    "plantedTraffic: input + output beyond the L2");

// A volatile load into a scratch register of its own: kept by the compilers although nothing uses it.
__device__ __forceinline__ void plantedReadOnly(uint4 const* address)
{
    asm volatile("{\n\t.reg .b32 r<4>;\n\tld.volatile.global.v4.u32 {r0, r1, r2, r3}, [%0];\n\t}" : : "l"(address));
}

template <typename T>
__device__ __forceinline__ void plantedReadOnly(T const* address)
{
    static_assert(sizeof(T) == 2 || sizeof(T) == 4, "16- and 32-bit elements");
    if constexpr (sizeof(T) == 4)
    {
        asm volatile("{\n\t.reg .b32 r;\n\tld.volatile.global.b32 r, [%0];\n\t}" : : "l"(address));
    }
    else
    {
        asm volatile("{\n\t.reg .b16 r;\n\tld.volatile.global.b16 r, [%0];\n\t}" : : "l"(address));
    }
}

// The traffic half's functions are __noinline__ (a call where they are used): inlined, their unrolled loads and
// stores sat between a kernel's own work and the latency half's spin, and the kernels that took the spin cost
// +0.2-0.6 us a launch beyond it at any size within the L2 (H100 2026-12-07, PERMILLE = 20: +2.5 to +14 % where
// 2 % is 0.07-0.2 us; not profiled, so that the code's layout is the cause is a reading). As calls, the spin
// follows the work directly; the call's cost lands only in launches bound by DRAM bandwidth.
//! The vector items first + k * step (k < kItems) that lie in [vectorCount, plantedItems(vectorCount)):
//! each is vector item - vectorCount done again, loads first (kItems in flight), with the kernel's cache
//! policy (kPolicy; stores evict-first only with kEVICT_FIRST_ALL, as the kernels).
template <typename T, int32_t kItems, CachePolicy kPolicy>
__device__ __noinline__ void plantedRedoVectors(
    uint4 const* input, uint4* output, int64_t vectorCount, int64_t first, int64_t step, float beta)
{
    int64_t const items = plantedItems(vectorCount);
    bool const inPlace = static_cast<void const*>(input) == static_cast<void const*>(output);
    uint4 vectors[kItems];
#pragma unroll
    for (int32_t k = 0; k < kItems; ++k)
    {
        int64_t const index = first + static_cast<int64_t>(k) * step;
        bool const redo = index >= vectorCount && index < items;
        if (redo && inPlace)
        {
            plantedReadOnly(input + (index - vectorCount));
        }
        vectors[k] = redo && !inPlace ? loadVectorWithPolicy<kPolicy>(input + (index - vectorCount))
                                      : make_uint4(0U, 0U, 0U, 0U);
    }
#pragma unroll
    for (int32_t k = 0; k < kItems; ++k)
    {
        int64_t const index = first + static_cast<int64_t>(k) * step;
        if (index >= vectorCount && index < items && !inPlace)
        {
            storeVector<kPolicy == CachePolicy::kEVICT_FIRST_ALL>(
                output + (index - vectorCount), swishVector<T>(vectors[k], beta));
        }
    }
}

//! A grid-stride thread's re-done vectors: its sequence first, first + stride, ... continued from its first
//! index >= vectorCount (where its own loop stopped) up to plantedItems(vectorCount), kItems at a time.
template <typename T, int32_t kItems, CachePolicy kPolicy>
__device__ __noinline__ void plantedRedoVectorsStrided(
    uint4 const* input, uint4* output, int64_t vectorCount, int64_t first, int64_t stride, float beta)
{
    int64_t const items = plantedItems(vectorCount);
    for (int64_t index = first; index < items; index += kItems * stride)
    {
        plantedRedoVectors<T, kItems, kPolicy>(input, output, vectorCount, index, stride, beta);
    }
}

//! A grid-stride thread's re-done elements (the naive kernel with kNaive, else the scalar fast kernel):
//! its sequence threadIndex, threadIndex + stride, ... continued past count up to plantedItems(count).
template <typename T, bool kNaive>
__device__ __noinline__ void plantedRedoElements(T const* input, T* output, int64_t count, float beta)
{
    int64_t const items = plantedItems(count);
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (index < count)
    {
        index += (count - index + stride - 1) / stride * stride; // the first of its indices >= count
    }
    bool const inPlace = static_cast<void const*>(input) == static_cast<void const*>(output);
    for (; index < items; index += stride)
    {
        int64_t const element = index - count;
        if (inPlace)
        {
            plantedReadOnly(input + element);
        }
        else if constexpr (kNaive)
        {
            output[element] = naiveSwish(input[element], beta);
        }
        else
        {
            output[element] = fastSwishElement(input[element], beta);
        }
    }
}
//! Whether this block is in the grid's last wave: the last (SMs x blocks an SM holds) blocks, at most.
__device__ __forceinline__ bool plantedLastWave()
{
    unsigned int sms;
    asm("mov.u32 %0, %%nsmid;" : "=r"(sms));
    unsigned int const perSm = kPlantedThreadsPerSm / blockDim.x;
    unsigned long long const wave = static_cast<unsigned long long>(sms) * (perSm > 0U ? perSm : 1U);
    return blockIdx.x + wave >= gridDim.x;
}

//! The latency half: spin for PERMILLE/1000 of \p ownCycles, the clock cycles the thread's own work took, and in
//! the grid's last wave for PERMILLE/1000 of the launch allowance too.
__device__ __forceinline__ void plantedSpin(long long ownCycles)
{
    long long const cycles = (ownCycles + (plantedLastWave() ? kPlantedLaunchCycles : 0LL)) * kPlantedPermille / 1000;
    long long const until = clock64() + cycles;
    while (clock64() < until)
    {
    }
}
// A kernel's first statement: the thread's clock at its start.
#define TPB_PLANTED_SLOWDOWN_START long long const plantedStart = clock64();
// After a kernel's own work over \p items items of \p itemBytes: the traffic half (a call of a planted* function
// above, the re-done items) where the launch's tensors exceed the L2, else the latency half.
#define TPB_PLANTED_SLOWDOWN(items, itemBytes, ...)                                                                    \
    {                                                                                                                  \
        long long const plantedOwn = clock64() - plantedStart;                                                         \
        if (plantedTraffic(items, itemBytes))                                                                          \
        {                                                                                                              \
            __VA_ARGS__;                                                                                               \
        }                                                                                                              \
        else                                                                                                           \
        {                                                                                                              \
            plantedSpin(plantedOwn);                                                                                   \
        }                                                                                                              \
    }
// The items a launch's grid covers: its own n, + the re-done extra where it takes the traffic half.
#define TPB_PLANTED_SLOWDOWN_ITEMS(items, itemBytes) plantedGridItems(items, itemBytes)
#else
#define TPB_PLANTED_SLOWDOWN_START
#define TPB_PLANTED_SLOWDOWN(items, itemBytes, ...)
#define TPB_PLANTED_SLOWDOWN_ITEMS(items, itemBytes) (items)
#endif

// The baseline ("seed") kernel, kept on purpose: scalar accesses, accurate expf and a true IEEE
// division, one element per thread. The grid-stride loop only iterates more than once when the
// element count exceeds 256 * (2^31 - 1). Below kFarTailZ, expf(-z) would overflow (x / inf = -0
// where the exact result is a normal or subnormal number), so it shares farTailSwish (also IEEE
// expf and multiplies) with the fast kernels; above, x / (1 + expf(-z)) is finite and accurate.
template <typename T>
__global__ void swishNaiveKernel(T const* input, T* output, int64_t count, float beta)
{
    TPB_PLANTED_SLOWDOWN_START
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += stride)
    {
        output[index] = naiveSwish(input[index], beta);
    }
    TPB_PLANTED_SLOWDOWN(count, int64_t{sizeof(T)}, plantedRedoElements<T, true>(input, output, count, beta))
}

// Vectorised grid-stride kernel over vectorCount 16-byte vectors, plus the count % elementsPerVector
// scalar tail (handled by the first tailCount threads of the grid).
//
// No __restrict__: in-place operation (input == output) is allowed. It stays correct because every
// element is loaded and stored by the same thread, with all loads of an iteration issued before its
// stores.
template <typename T, bool kStreaming>
__global__ void __launch_bounds__(kVectorBlockSize, kVectorBlocksPerSm) swishVectorizedKernel(uint4 const* input,
    uint4* output, int64_t vectorCount, T const* tailInput, T* tailOutput, int32_t tailCount, float beta)
{
    TPB_PLANTED_SLOWDOWN_START
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    int64_t const threadIndex = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;

    // Each iteration touches vectors index, index + stride, ...: every load instruction of a warp is
    // coalesced into 512 contiguous bytes, and the kVectorsPerThread loads are independent.
    int64_t index = threadIndex;
    for (; index + (kVectorsPerThread - 1) * stride < vectorCount; index += kVectorsPerThread * stride)
    {
        uint4 vectors[kVectorsPerThread];
#pragma unroll
        for (int32_t k = 0; k < kVectorsPerThread; ++k)
        {
            vectors[k] = loadVector<kStreaming>(input + index + k * stride);
        }
#pragma unroll
        for (int32_t k = 0; k < kVectorsPerThread; ++k)
        {
            storeVector<kStreaming>(output + index + k * stride, swishVector<T>(vectors[k], beta));
        }
    }
    for (; index < vectorCount; index += stride)
    {
        storeVector<kStreaming>(output + index, swishVector<T>(loadVector<kStreaming>(input + index), beta));
    }

    if (threadIndex < tailCount)
    {
        float const x = ElementOps<T>::toFloat(tailInput[threadIndex]);
        tailOutput[threadIndex] = ElementOps<T>::fromFloat(ElementOps<T>::swish(x, beta));
    }
    TPB_PLANTED_SLOWDOWN(vectorCount, int64_t{sizeof(uint4)}, plantedRedoVectorsStrided<T, kVectorsPerThread,
        kStreaming ? CachePolicy::kEVICT_FIRST_ALL : CachePolicy::kDEFAULT>(
        input, output, vectorCount, index, stride, beta))
}

// One-shot vectorised kernel: the grid covers the tensor, each thread issues kVectors independent
// 16-byte loads, stores the results and exits. No minimum-blocks cap in the launch bounds, so
// registers stay low enough for full occupancy (2048 threads per SM on sm_90): as many bytes in
// flight per SM as the persistent kernel, twice the warps to hide the MUFU latency of exp/rcp, and
// the block scheduler balances the last wave. kVectors trades blocks for bytes in flight per warp:
// 1 spreads a small tensor over the most SMs, 4 keeps 64 B per thread outstanding (fp32 has the
// least MUFU work per byte, so it can afford it); docs/kernel-notes.md has the measurements.
//
// kBlock: 256 threads, or 128 (the block size of TensorRT 8.6's generated pointwise kernels, seen
// with Nsight Compute): smaller blocks finish and are replaced at a finer grain in the last wave.
//
// kPolicy: the L2 eviction priority of the lines the kernel brings in. The input is read exactly
// once, so its lines are the cheapest victims there are (clean, never needed again); marked
// evict-first, they are replaced before the dirty lines other work left in the L2, which would
// otherwise be written back to DRAM inside this kernel's time.
template <typename T, int32_t kVectors, int32_t kBlock, CachePolicy kPolicy>
__global__ void __launch_bounds__(kBlock) swishOneShotKernel(uint4 const* input, uint4* output,
    int64_t vectorCount, T const* tailInput, T* tailOutput, int32_t tailCount, float beta)
{
    TPB_PLANTED_SLOWDOWN_START
    constexpr bool kEvictFirstStores = kPolicy == CachePolicy::kEVICT_FIRST_ALL;
    int64_t const base = static_cast<int64_t>(blockIdx.x) * (kBlock * kVectors) + threadIdx.x;
    uint4 vectors[kVectors];
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        vectors[k] = index < vectorCount ? loadVectorWithPolicy<kPolicy>(input + index) : make_uint4(0U, 0U, 0U, 0U);
    }
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        if (index < vectorCount)
        {
            storeVector<kEvictFirstStores>(output + index, swishVector<T>(vectors[k], beta));
        }
    }
    if (blockIdx.x == 0 && static_cast<int32_t>(threadIdx.x) < tailCount)
    {
        float const x = ElementOps<T>::toFloat(tailInput[threadIdx.x]);
        tailOutput[threadIdx.x] = ElementOps<T>::fromFloat(ElementOps<T>::swish(x, beta));
    }
    TPB_PLANTED_SLOWDOWN(vectorCount, int64_t{sizeof(uint4)},
        plantedRedoVectors<T, kVectors, kPolicy>(input, output, vectorCount, base, kBlock, beta))
}

template <typename T, int32_t kVectors, int32_t kBlock = kVectorBlockSize, CachePolicy kPolicy = CachePolicy::kDEFAULT>
cudaError_t launchOneShot(uint4 const* input, uint4* output, int64_t vectorCount, T const* tailInput, T* tailOutput,
    int32_t tailCount, float beta, cudaStream_t stream) noexcept
{
    static_assert(kBlock >= 8, "the scalar tail (< 8 elements) is handled by block 0's first threads");
    int64_t const blocksNeeded
        = ceilDiv(TPB_PLANTED_SLOWDOWN_ITEMS(vectorCount, int64_t{sizeof(uint4)}),
            static_cast<int64_t>(kBlock) * kVectors);
    int64_t const blocks = blocksNeeded > 0 ? blocksNeeded : 1; // the tail alone still needs one block
    if (blocks > kMaxGridX)
    {
        return cudaErrorInvalidValue; // > 2^40 vectors: beyond any GPU's memory
    }
    swishOneShotKernel<T, kVectors, kBlock, kPolicy><<<static_cast<unsigned int>(blocks), kBlock, 0, stream>>>(
        input, output, vectorCount, tailInput, tailOutput, tailCount, beta);
    return launchStatus();
}

bool isOneShot(SwishKernel kernel) noexcept
{
    return kernel == SwishKernel::kVECTORIZED_ONESHOT || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1
        || kernel == SwishKernel::kVECTORIZED_ONESHOT_X4 || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_B128
        || kernel == SwishKernel::kVECTORIZED_ONESHOT_X2_B128 || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_EF
        || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_CS || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF
        || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_L2EF || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_B128_L2EF
        || kernel == SwishKernel::kVECTORIZED_ONESHOT_X1_B1024;
}

// Fallback for pointers that are not 16-byte aligned (e.g. views at odd element offsets): scalar
// accesses, same fast math as the vectorised kernels.
template <typename T>
__global__ void __launch_bounds__(kVectorBlockSize) swishScalarFastKernel(
    T const* input, T* output, int64_t count, float beta)
{
    TPB_PLANTED_SLOWDOWN_START
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += stride)
    {
        output[index] = fastSwishElement(input[index], beta);
    }
    TPB_PLANTED_SLOWDOWN(count, int64_t{sizeof(T)}, plantedRedoElements<T, false>(input, output, count, beta))
}

__global__ void emptyKernel() {}

cudaError_t queryMultiProcessorCount(int32_t& smCount) noexcept
{
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess)
    {
        return status;
    }
    int value = 0;
    status = cudaDeviceGetAttribute(&value, cudaDevAttrMultiProcessorCount, device);
    if (status != cudaSuccess)
    {
        return status;
    }
    smCount = value > 0 ? value : 1;
    return cudaSuccess;
}

bool isAligned16(void const* pointer) noexcept
{
    return reinterpret_cast<uintptr_t>(pointer) % kVectorBytes == 0;
}

template <typename T>
cudaError_t launchTyped(
    T const* input, T* output, int64_t count, float beta, SwishKernel kernel, cudaStream_t stream) noexcept
{
    if (kernel == SwishKernel::kNAIVE)
    {
        int64_t const blocks = ceilDiv(TPB_PLANTED_SLOWDOWN_ITEMS(count, int64_t{sizeof(T)}), kNaiveBlockSize);
        unsigned int const gridSize = static_cast<unsigned int>(blocks < kMaxGridX ? blocks : kMaxGridX);
        swishNaiveKernel<T><<<gridSize, kNaiveBlockSize, 0, stream>>>(input, output, count, beta);
        return launchStatus();
    }

    // Only the persistent kernels size their grid to the SM count; the one-shot kernels (the
    // plugin's default) skip the two runtime calls on every enqueue.
    bool const aligned = isAligned16(input) && isAligned16(output);
    int32_t smCount = 1;
    if (!aligned || !isOneShot(kernel))
    {
        cudaError_t const status = queryMultiProcessorCount(smCount);
        if (status != cudaSuccess)
        {
            return status;
        }
    }

    if (!aligned)
    {
        // one element per thread per iteration: as many resident threads as the SM holds (asked of the
        // occupancy API, not assumed) keep enough bytes in flight
        int residentBlocks = 0;
        cudaError_t const status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
            &residentBlocks, swishScalarFastKernel<T>, kVectorBlockSize, 0);
        if (status != cudaSuccess)
        {
            return status;
        }
        int64_t const blocksNeeded = ceilDiv(TPB_PLANTED_SLOWDOWN_ITEMS(count, int64_t{sizeof(T)}), kVectorBlockSize);
        int64_t const blocksCap = static_cast<int64_t>(smCount) * (residentBlocks > 0 ? residentBlocks : 1);
        unsigned int const gridSize = static_cast<unsigned int>(blocksNeeded < blocksCap ? blocksNeeded : blocksCap);
        swishScalarFastKernel<T><<<gridSize, kVectorBlockSize, 0, stream>>>(input, output, count, beta);
        return launchStatus();
    }

    constexpr int64_t kElementsPerVector = kVectorBytes / static_cast<int64_t>(sizeof(T));
    int64_t const vectorCount = count / kElementsPerVector;
    int32_t const tailCount = static_cast<int32_t>(count % kElementsPerVector);
    int64_t const tailOffset = vectorCount * kElementsPerVector;

    auto const* vectorInput = reinterpret_cast<uint4 const*>(input);
    auto* vectorOutput = reinterpret_cast<uint4*>(output);
    T const* tailInput = input + tailOffset;
    T* tailOutput = output + tailOffset;
    switch (kernel)
    {
    case SwishKernel::kVECTORIZED_ONESHOT:
        return launchOneShot<T, 2>(vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1:
        return launchOneShot<T, 1>(vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X4:
        return launchOneShot<T, 4>(vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128:
        return launchOneShot<T, 1, 128>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X2_B128:
        return launchOneShot<T, 2, 128>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_EF:
        return launchOneShot<T, 1, kVectorBlockSize, CachePolicy::kEVICT_FIRST_LOADS>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_CS:
        return launchOneShot<T, 1, kVectorBlockSize, CachePolicy::kEVICT_FIRST_ALL>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF:
        return launchOneShot<T, 1, 128, CachePolicy::kEVICT_FIRST_LOADS>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_L2EF:
        return launchOneShot<T, 1, kVectorBlockSize, CachePolicy::kL2_EVICT_FIRST_LOADS>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128_L2EF:
        return launchOneShot<T, 1, 128, CachePolicy::kL2_EVICT_FIRST_LOADS>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B1024:
        return launchOneShot<T, 1, 1024>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta, stream);
    default: break;
    }

    // Persistent kernels: just enough threads for one unrolled iteration each (small tensors),
    // capped at the resident capacity (large tensors: grid-stride over the rest). At least
    // tailCount threads.
    int64_t threadsNeeded = ceilDiv(TPB_PLANTED_SLOWDOWN_ITEMS(vectorCount, int64_t{sizeof(uint4)}), kVectorsPerThread);
    threadsNeeded = threadsNeeded > tailCount ? threadsNeeded : tailCount;
    int64_t const blocksNeeded = ceilDiv(threadsNeeded, kVectorBlockSize);
    int64_t const blocksCap = static_cast<int64_t>(smCount) * kVectorBlocksPerSm;
    unsigned int const gridSize = static_cast<unsigned int>(blocksNeeded < blocksCap ? blocksNeeded : blocksCap);
    if (kernel == SwishKernel::kVECTORIZED_STREAMING)
    {
        swishVectorizedKernel<T, true><<<gridSize, kVectorBlockSize, 0, stream>>>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta);
    }
    else
    {
        swishVectorizedKernel<T, false><<<gridSize, kVectorBlockSize, 0, stream>>>(
            vectorInput, vectorOutput, vectorCount, tailInput, tailOutput, tailCount, beta);
    }
    return launchStatus();
}

} // namespace

char const* swishKernelName(SwishKernel kernel) noexcept
{
    switch (kernel)
    {
    case SwishKernel::kNAIVE: return "naive";
    case SwishKernel::kVECTORIZED: return "vectorized";
    case SwishKernel::kVECTORIZED_STREAMING: return "vectorized_streaming";
    case SwishKernel::kVECTORIZED_ONESHOT: return "vectorized_oneshot";
    case SwishKernel::kVECTORIZED_ONESHOT_X1: return "vectorized_oneshot_x1";
    case SwishKernel::kVECTORIZED_ONESHOT_X4: return "vectorized_oneshot_x4";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128: return "vectorized_oneshot_x1_b128";
    case SwishKernel::kVECTORIZED_ONESHOT_X2_B128: return "vectorized_oneshot_x2_b128";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_EF: return "vectorized_oneshot_x1_ef";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_CS: return "vectorized_oneshot_x1_cs";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF: return "vectorized_oneshot_x1_b128_ef";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_L2EF: return "vectorized_oneshot_x1_l2ef";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B128_L2EF: return "vectorized_oneshot_x1_b128_l2ef";
    case SwishKernel::kVECTORIZED_ONESHOT_X1_B1024: return "vectorized_oneshot_x1_b1024";
    }
    return "unknown";
}

bool isValidSwishKernel(int32_t kernel) noexcept
{
    return kernel >= 0 && kernel < kSwishKernelCount && kernel != kSwishRetiredSized && kernel != kSwishRetiredWaves;
}

bool isValidSwishDataType(int32_t dtype) noexcept
{
    return dtype == static_cast<int32_t>(SwishDataType::kFLOAT) || dtype == static_cast<int32_t>(SwishDataType::kHALF)
        || dtype == static_cast<int32_t>(SwishDataType::kBF16);
}

cudaError_t launchSwish(void const* input, void* output, int64_t count, float beta, SwishDataType dtype,
    SwishKernel kernel, cudaStream_t stream) noexcept
{
    if (count < 0 || !isValidSwishKernel(static_cast<int32_t>(kernel))
        || !isValidSwishDataType(static_cast<int32_t>(dtype)))
    {
        return cudaErrorInvalidValue;
    }
    if (count == 0)
    {
        return cudaSuccess;
    }
    if (input == nullptr || output == nullptr)
    {
        return cudaErrorInvalidValue;
    }

    switch (dtype)
    {
    case SwishDataType::kFLOAT:
        return launchTyped(static_cast<float const*>(input), static_cast<float*>(output), count, beta, kernel, stream);
    case SwishDataType::kHALF:
        return launchTyped(
            static_cast<__half const*>(input), static_cast<__half*>(output), count, beta, kernel, stream);
    case SwishDataType::kBF16:
        return launchTyped(static_cast<__nv_bfloat16 const*>(input), static_cast<__nv_bfloat16*>(output), count,
            beta, kernel, stream);
    }
    return cudaErrorInvalidValue;
}

cudaError_t launchEmptyKernel(cudaStream_t stream) noexcept
{
    emptyKernel<<<1, 1, 0, stream>>>();
    return launchStatus();
}

} // namespace tpb
