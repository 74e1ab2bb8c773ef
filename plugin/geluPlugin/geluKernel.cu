// GELU kernels. Pure CUDA: no TensorRT header may be included here (see geluKernel.h).
//
// Numerics (the ulp bounds are the contract the kernel check, plugin/tests/geluKernelCheck.cu, and the
// spec's tolerance model, ops/gelu/gelu.py, hold every variant to; plugin/geluPlugin/README.md has the
// table). Every variant of one dtype and form but the naive one computes with the same per-element
// function (fastGeluErf / fastGeluTanh), so the tune rule changes the speed, never the numbers.
//
// Erf form, y = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2. Never 0.5 x (1 + erf(x / sqrt 2)): for x < 0
// the sum 1 + erf cancels (x = -5 loses 21 of fp32's 24 bits), so both kernels compute erfc:
//   Phi(x) = h for x < 0, 1 - h for x >= 0, h = erfc(|x| / sqrt 2) / 2 = exp(-x^2 / 2) E(s) / 2,
// with E(s) ~ erfcx(t) = exp(t^2) erfc(t), t = |x| / sqrt 2, a polynomial in s = 1 / (1 + t / 2), fitted
// (relative error) over t in [0, 10.2] (beyond, exp(-t^2) is below fp32's smallest subnormal).
//   * fp32: degree 10 (fit error 9e-8 with its float32 coefficients), exp(-x^2 / 2) from expf of the rounded square times the
//     square's FMA residual (exp(-(a + r) / 2) = exp(-a / 2) (1 - r / 2)): the argument's rounding
//     would otherwise cost x^2 / 2 ulps in the tail. Bound 16 ulps: the fit, 10 Horner FMAs, rcp.approx's
//     1 ulp in s (amplified by up to 2.3), expf's 2 ulps; emulated at the worst signs of those errors,
//     11.3 ulps (plugin/scripts/gelu_erfcx_fit.py), subnormal results included (the exponential is
//     multiplied in last, so they are rounded once).
//   * fp16 / bf16: degree 5 (fit error 2.1e-5, ~0.04 fp16 ulp), exp2f of the rounded argument: 1 ulp.
// Tanh form, 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2 / pi) (x + 0.044715 x^3), computed as
// Swish is (plugin/swishPlugin/swishPluginKernel.cu, fastSwish): x rcp(1 + 2^t), t = -2u log2 e =
// x (c0 + c1 x^2), ex2.approx.ftz and rcp.approx.ftz; below z = 2u = -80 (t > kFarTailT) the far tail
// x 2^t = (x h) h, h = exp2f(t / 2) accurate, as 2^t overflows there while the exact result is a normal
// or subnormal number (fp32 and bf16; fp16 rounds every such result to zero anyway). t carries a
// relative error of ~4 units of 2^-24 (the constants, x^2, the FMA, the product), which exp turns into
// |z| times that: fp32 bound 4 + (4 + 5 |z|) (1 - sigmoid(z)) ulps, z = 2u (float64); fp16 / bf16 1 ulp.
// Edge values (both forms): +-0 -> +-0 (the sign kept), +inf -> +inf, NaN -> NaN, -inf -> NaN, as the
// float64 reference x Phi(x) = -inf * 0 (the limit is -0; plugin/geluPlugin/README.md says why the
// reference's value is kept: the twin and every textbook form give NaN too).
// The naive kernel computes the same functions with IEEE libm instead of the fitted polynomial and the
// approximate MUFU instructions (erfcxf, expf, a true division), one scalar element per thread: the
// contrast, inside the same bounds.
#include "geluKernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstring>

namespace tpb
{
namespace
{

//! L2 eviction priority of the one-shot kernels' loads (geluKernels.def's POLICY column).
enum class GeluCachePolicy : int32_t
{
    kDEFAULT = 0,
    kEVICT_FIRST_LOADS = 1, //!< ld.global.cs: the input is read exactly once
};

// Block size of the unaligned fallback.
constexpr int32_t kScalarBlockSize = 256;
// gridDim.x limit for compute capability >= 3.0.
constexpr int64_t kMaxGridX = 2147483647;
constexpr int64_t kVectorBytes = 16;

constexpr int64_t ceilDiv(int64_t numerator, int64_t denominator)
{
    return (numerator + denominator - 1) / denominator;
}

// cudaPeekAtLastError, not cudaGetLastError: reports the launch's error without erasing an error an
// earlier, unrelated call of the caller left pending (see launchGelu in the header).
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

constexpr float kRsqrt2 = 0.70710678118654752F;
constexpr float kLog2E = 1.4426950408889634F;
// s = 1 / (1 + kErfcxP t): the variable of the erfcx polynomials below.
constexpr float kErfcxP = 0.5F;

// erfcx(t) / 2 ~ E(s), degree 10 (fp32), Horner from s^10 down to s^0; relative fit error 6e-9 on t in
// [0, 10.2] in float64, 9e-8 with these float32 coefficients (plugin/scripts/gelu_erfcx_fit.py makes both).
__device__ __forceinline__ float halfErfcxFp32(float s)
{
    float e = 1.358900219e-02F;
    e = fmaf(e, s, -1.033035442e-01F);
    e = fmaf(e, s, 3.161829710e-01F);
    e = fmaf(e, s, -4.772269130e-01F);
    e = fmaf(e, s, 3.364373744e-01F);
    e = fmaf(e, s, -1.225285381e-01F);
    e = fmaf(e, s, 1.412709802e-01F);
    e = fmaf(e, s, 1.120579168e-01F);
    e = fmaf(e, s, 1.425893903e-01F);
    e = fmaf(e, s, 1.409273297e-01F);
    e = fmaf(e, s, 4.072150205e-06F);
    return e;
}

// erfcx(t) / 2 ~ E(s), degree 5 (fp16, bf16): relative fit error 2.1e-5.
__device__ __forceinline__ float halfErfcx16(float s)
{
    float e = -9.771378338e-02F;
    e = fmaf(e, s, 2.689175010e-01F);
    e = fmaf(e, s, 2.107858844e-02F);
    e = fmaf(e, s, 1.706998944e-01F);
    e = fmaf(e, s, 1.367898732e-01F);
    e = fmaf(e, s, 2.383245155e-04F);
    return e;
}

//! Erf-form GELU in fp32 arithmetic; kWide: the fp32 output's accuracy (see the top), else 16-bit.
//! kFlushTiny (fp16 only): the exponential through ex2.approx.ftz, which flushes exp(-x^2 / 2) below
//! 2^-126 (|x| > 13.2), where every fp16 result rounds to zero anyway; bf16 keeps fp32's range.
template <bool kWide, bool kFlushTiny = false>
__device__ __forceinline__ float fastGeluErf(float x)
{
    float const s = rcpApproxFtz(fmaf(fabsf(x), kErfcxP * kRsqrt2, 1.0F)); // 1 + t/2 >= 1: never subnormal
    // exp(-x^2 / 2) is 0 beyond |x| = 14.5; clamped (fminf drops a NaN: x itself carries it below), so
    // that x = +-inf gives 0, not inf - inf in the residual.
    float const xc = fminf(fabsf(x), 16.0F);
    float const a = xc * xc;
    float g;
    float e;
    if constexpr (kWide)
    {
        float const residual = fmaf(xc, xc, -a); // x^2 = a + residual exactly
        g = expf(-0.5F * a);
        g = fmaf(g, -0.5F * residual, g);
        e = halfErfcxFp32(s);
    }
    else
    {
        float const exponent = a * (-0.5F * kLog2E);
        if constexpr (kFlushTiny)
        {
            g = ex2ApproxFtz(exponent);
        }
        else
        {
            g = exp2f(exponent);
        }
        e = halfErfcx16(s);
    }
    // x < 0: y = x h = (x E) g, the exponential last, so a subnormal result is rounded once, at the end.
    // x >= 0 (and NaN): y = x (1 - h) = x (1 - g E); x = +inf: g = 0, y = inf. -0 stays -0 (x >= 0 path).
    return x < 0.0F ? (x * e) * g : x * fmaf(-g, e, 1.0F);
}

// Tanh form: t = -2 u log2 e = x (kTanhC0 + kTanhC1 x^2).
constexpr float kTanhC0 = -2.0F * 0.79788456080286536F * 1.4426950408889634F;
constexpr float kTanhC1 = kTanhC0 * 0.044715F;
constexpr float kFarTailZ = -80.0F;
constexpr float kFarTailT = -kFarTailZ * 1.4426950408889634F; // t above this: z = 2u below kFarTailZ

template <bool kFarTail>
__device__ __forceinline__ float fastGeluTanh(float x)
{
    float const t = x * fmaf(x * x, kTanhC1, kTanhC0);
    if constexpr (kFarTail)
    {
        if (t > kFarTailT)
        {
            float const h = exp2f(-0.5F * t); // accurate exp2f: normal down to t / 2 = -126
            return (x * h) * h;
        }
    }
    return x * rcpApproxFtz(1.0F + ex2ApproxFtz(t));
}

// The naive kernel's numerics: IEEE libm and division, no fitted polynomial, no approximate MUFU op.
__device__ __forceinline__ float naiveGeluErf(float x)
{
    // libm's erfcxf (exp(t^2) erfc(t), documented within 4 ulps) times exp(-x^2 / 2), the exponential
    // multiplied in last as in the fast kernels: erfcf itself is subnormal for x < -13, and x times a
    // subnormal erfcf would magnify its few bits' error by |x| / 2 in the result's ulps. The square's
    // residual as in fastGeluErf. Emulated worst case at the documented errors' worst signs: 14.2 ulps.
    float const xc = fminf(fabsf(x), 16.0F);
    float const a = xc * xc;
    float g = expf(-0.5F * a);
    g = fmaf(g, -0.5F * fmaf(xc, xc, -a), g);
    float const h = 0.5F * erfcxf(fabsf(x) * kRsqrt2);
    return x < 0.0F ? (x * h) * g : x * fmaf(-g, h, 1.0F);
}

__device__ __forceinline__ float naiveGeluTanh(float x)
{
    float const z = 2.0F * 0.79788456080286536F * (x + 0.044715F * x * x * x);
    if (z < kFarTailZ)
    {
        float const h = expf(0.5F * z);
        return (x * h) * h;
    }
    return x / (1.0F + expf(-z));
}

template <GeluApproximation kForm>
__device__ __forceinline__ float naiveGelu(float x)
{
    if constexpr (kForm == GeluApproximation::kERF)
    {
        return naiveGeluErf(x);
    }
    else
    {
        return naiveGeluTanh(x);
    }
}

// Per-type conversions and the per-type fast GELU, used by the vector and the scalar paths alike. A
// 16-byte vector is four 32-bit words: one float each, or a packed pair of half / bf16 values.
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
    template <GeluApproximation kForm>
    static __device__ __forceinline__ float gelu(float x)
    {
        if constexpr (kForm == GeluApproximation::kERF)
        {
            return fastGeluErf<true>(x);
        }
        else
        {
            return fastGeluTanh<true>(x);
        }
    }
    template <GeluApproximation kForm>
    static __device__ __forceinline__ uint32_t geluWord(uint32_t word)
    {
        return __float_as_uint(gelu<kForm>(__uint_as_float(word)));
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
    template <GeluApproximation kForm>
    static __device__ __forceinline__ float gelu(float x)
    {
        if constexpr (kForm == GeluApproximation::kERF)
        {
            return fastGeluErf<false, true>(x);
        }
        else
        {
            return fastGeluTanh<false>(x); // fp16: every far-tail result rounds to zero
        }
    }
    template <GeluApproximation kForm>
    static __device__ __forceinline__ uint32_t geluWord(uint32_t word)
    {
        float2 values = __half22float2(bitCast<__half2>(word));
        values.x = gelu<kForm>(values.x);
        values.y = gelu<kForm>(values.y);
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
    template <GeluApproximation kForm>
    static __device__ __forceinline__ float gelu(float x)
    {
        if constexpr (kForm == GeluApproximation::kERF)
        {
            return fastGeluErf<false>(x);
        }
        else
        {
            return fastGeluTanh<true>(x); // bf16 has fp32's exponent range: the far tail is representable
        }
    }
    template <GeluApproximation kForm>
    static __device__ __forceinline__ uint32_t geluWord(uint32_t word)
    {
        float2 values = __bfloat1622float2(bitCast<__nv_bfloat162>(word));
        values.x = gelu<kForm>(values.x);
        values.y = gelu<kForm>(values.y);
        return bitCast<uint32_t>(__float22bfloat162_rn(values));
    }
};

template <typename T, GeluApproximation kForm>
__device__ __forceinline__ uint4 geluVector(uint4 vector)
{
    vector.x = ElementOps<T>::template geluWord<kForm>(vector.x);
    vector.y = ElementOps<T>::template geluWord<kForm>(vector.y);
    vector.z = ElementOps<T>::template geluWord<kForm>(vector.z);
    vector.w = ElementOps<T>::template geluWord<kForm>(vector.w);
    return vector;
}

template <GeluCachePolicy kPolicy>
__device__ __forceinline__ uint4 loadVector(uint4 const* address)
{
    if constexpr (kPolicy == GeluCachePolicy::kEVICT_FIRST_LOADS)
    {
        return __ldcs(address);
    }
    else
    {
        return *address;
    }
}

// The contrast: scalar accesses, IEEE libm, one element per thread, 256-thread blocks; the grid-stride
// loop iterates more than once only beyond 256 x (2^31 - 1) elements.
template <typename T, GeluApproximation kForm>
__global__ void geluNaiveKernel(T const* input, T* output, int64_t count)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += stride)
    {
        output[index] = ElementOps<T>::fromFloat(naiveGelu<kForm>(ElementOps<T>::toFloat(input[index])));
    }
}

// One-shot vectorised kernel: the grid covers the tensor; each thread issues kVectors independent 16-byte
// loads, stores the results and exits (Swish's winning shape: full occupancy, the block scheduler
// balances the last wave). The count % (16 / sizeof(T)) scalar tail is done by block 0's first threads.
// No __restrict__: in place (input == output) is allowed; every element is loaded and stored by one
// thread, all loads before the stores.
template <typename T, GeluApproximation kForm, int32_t kVectors, int32_t kBlock, GeluCachePolicy kPolicy>
__global__ void __launch_bounds__(kBlock) geluOneShotKernel(
    uint4 const* input, uint4* output, int64_t vectorCount, T const* tailInput, T* tailOutput, int32_t tailCount)
{
    int64_t const base = static_cast<int64_t>(blockIdx.x) * (kBlock * kVectors) + threadIdx.x;
    uint4 vectors[kVectors];
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        vectors[k] = index < vectorCount ? loadVector<kPolicy>(input + index) : make_uint4(0U, 0U, 0U, 0U);
    }
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        if (index < vectorCount)
        {
            output[index] = geluVector<T, kForm>(vectors[k]);
        }
    }
    if (blockIdx.x == 0 && static_cast<int32_t>(threadIdx.x) < tailCount)
    {
        float const x = ElementOps<T>::toFloat(tailInput[threadIdx.x]);
        tailOutput[threadIdx.x] = ElementOps<T>::fromFloat(ElementOps<T>::template gelu<kForm>(x));
    }
}

// Persistent grid-stride kernel (Swish's "vectorized"): kVectors independent 16-byte loads per thread per
// iteration, a grid of at most kPersistentBlocksPerSm blocks per SM (queried per launch), the scalar tail
// by block 0. For contrast with the one-shot shapes (and for config kernel lists that name it).
constexpr int32_t kPersistentBlocksPerSm = 4;

template <typename T, GeluApproximation kForm, int32_t kVectors, int32_t kBlock>
__global__ void __launch_bounds__(kBlock, kPersistentBlocksPerSm) geluPersistentKernel(
    uint4 const* input, uint4* output, int64_t vectorCount, T const* tailInput, T* tailOutput, int32_t tailCount)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    for (; index + (kVectors - 1) * stride < vectorCount; index += kVectors * stride)
    {
        uint4 vectors[kVectors];
#pragma unroll
        for (int32_t k = 0; k < kVectors; ++k)
        {
            vectors[k] = input[index + k * stride];
        }
#pragma unroll
        for (int32_t k = 0; k < kVectors; ++k)
        {
            output[index + k * stride] = geluVector<T, kForm>(vectors[k]);
        }
    }
    for (; index < vectorCount; index += stride)
    {
        output[index] = geluVector<T, kForm>(input[index]);
    }
    if (blockIdx.x == 0 && static_cast<int32_t>(threadIdx.x) < tailCount)
    {
        float const x = ElementOps<T>::toFloat(tailInput[threadIdx.x]);
        tailOutput[threadIdx.x] = ElementOps<T>::fromFloat(ElementOps<T>::template gelu<kForm>(x));
    }
}

// Fallback for pointers that are not 16-byte aligned (views at odd element offsets): scalar accesses,
// the fast kernels' numerics.
template <typename T, GeluApproximation kForm>
__global__ void __launch_bounds__(kScalarBlockSize) geluScalarFastKernel(T const* input, T* output, int64_t count)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < count;
         index += stride)
    {
        output[index] = ElementOps<T>::fromFloat(ElementOps<T>::template gelu<kForm>(ElementOps<T>::toFloat(input[index])));
    }
}

bool isAligned16(void const* pointer) noexcept
{
    return reinterpret_cast<uintptr_t>(pointer) % kVectorBytes == 0;
}

template <typename T, GeluApproximation kForm>
cudaError_t launchNaive(T const* input, T* output, int64_t count, int32_t block, cudaStream_t stream) noexcept
{
    int64_t const blocks = ceilDiv(count, block);
    unsigned int const gridSize = static_cast<unsigned int>(blocks < kMaxGridX ? blocks : kMaxGridX);
    geluNaiveKernel<T, kForm><<<gridSize, static_cast<unsigned int>(block), 0, stream>>>(input, output, count);
    return launchStatus();
}

template <typename T, GeluApproximation kForm>
cudaError_t launchScalarFast(T const* input, T* output, int64_t count, cudaStream_t stream) noexcept
{
    // One element per thread per iteration: as many resident threads as the GPU holds (asked of the
    // occupancy API, not assumed).
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess)
    {
        return status;
    }
    int smCount = 0;
    status = cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount, device);
    if (status != cudaSuccess)
    {
        return status;
    }
    int residentBlocks = 0;
    status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &residentBlocks, geluScalarFastKernel<T, kForm>, kScalarBlockSize, 0);
    if (status != cudaSuccess)
    {
        return status;
    }
    int64_t const blocksNeeded = ceilDiv(count, kScalarBlockSize);
    int64_t const blocksCap = static_cast<int64_t>(smCount > 0 ? smCount : 1) * (residentBlocks > 0 ? residentBlocks : 1);
    unsigned int const gridSize = static_cast<unsigned int>(blocksNeeded < blocksCap ? blocksNeeded : blocksCap);
    geluScalarFastKernel<T, kForm><<<gridSize, kScalarBlockSize, 0, stream>>>(input, output, count);
    return launchStatus();
}

//! The SM count of the current device (the persistent grid's size).
cudaError_t multiProcessorCount(int& smCount) noexcept
{
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess)
    {
        status = cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount, device);
    }
    smCount = smCount > 0 ? smCount : 1;
    return status;
}

template <typename T, GeluApproximation kForm, int32_t kVectors, int32_t kBlock, GeluCachePolicy kPolicy>
cudaError_t launchVariant(T const* input, T* output, int64_t count, cudaStream_t stream) noexcept
{
    if constexpr (kVectors == 0)
    {
        return launchNaive<T, kForm>(input, output, count, kBlock, stream);
    }
    else if constexpr (kVectors < 0)
    {
        static_assert(kBlock >= 8, "the scalar tail (< 8 elements) is handled by block 0's first threads");
        if (!isAligned16(input) || !isAligned16(output))
        {
            return launchScalarFast<T, kForm>(input, output, count, stream);
        }
        int smCount = 0;
        cudaError_t const status = multiProcessorCount(smCount);
        if (status != cudaSuccess)
        {
            return status;
        }
        constexpr int64_t kElementsPerVector = kVectorBytes / static_cast<int64_t>(sizeof(T));
        int64_t const vectorCount = count / kElementsPerVector;
        int32_t const tailCount = static_cast<int32_t>(count % kElementsPerVector);
        int64_t const tailOffset = vectorCount * kElementsPerVector;
        // just enough threads for one unrolled iteration each, at most the resident capacity; at least one block
        int64_t const blocksNeeded = ceilDiv(ceilDiv(vectorCount, -kVectors), kBlock);
        int64_t const blocksCap = static_cast<int64_t>(smCount) * kPersistentBlocksPerSm;
        int64_t const blocks = blocksNeeded < 1 ? 1 : (blocksNeeded < blocksCap ? blocksNeeded : blocksCap);
        geluPersistentKernel<T, kForm, -kVectors, kBlock><<<static_cast<unsigned int>(blocks), kBlock, 0, stream>>>(
            reinterpret_cast<uint4 const*>(input), reinterpret_cast<uint4*>(output), vectorCount, input + tailOffset,
            output + tailOffset, tailCount);
        return launchStatus();
    }
    else
    {
        static_assert(kBlock >= 8, "the scalar tail (< 8 elements) is handled by block 0's first threads");
        if (!isAligned16(input) || !isAligned16(output))
        {
            return launchScalarFast<T, kForm>(input, output, count, stream);
        }
        constexpr int64_t kElementsPerVector = kVectorBytes / static_cast<int64_t>(sizeof(T));
        int64_t const vectorCount = count / kElementsPerVector;
        int32_t const tailCount = static_cast<int32_t>(count % kElementsPerVector);
        int64_t const tailOffset = vectorCount * kElementsPerVector;
        int64_t const blocksNeeded = ceilDiv(vectorCount, static_cast<int64_t>(kBlock) * kVectors);
        int64_t const blocks = blocksNeeded > 0 ? blocksNeeded : 1; // the tail alone still needs one block
        if (blocks > kMaxGridX)
        {
            return cudaErrorInvalidValue; // > 2^40 vectors: beyond any GPU's memory
        }
        geluOneShotKernel<T, kForm, kVectors, kBlock, kPolicy><<<static_cast<unsigned int>(blocks), kBlock, 0, stream>>>(
            reinterpret_cast<uint4 const*>(input), reinterpret_cast<uint4*>(output), vectorCount, input + tailOffset,
            output + tailOffset, tailCount);
        return launchStatus();
    }
}

template <typename T, GeluApproximation kForm>
cudaError_t launchTyped(T const* input, T* output, int64_t count, GeluKernel kernel, cudaStream_t stream) noexcept
{
    switch (kernel)
    {
#define TPB_GELU_KERNEL(name, label, vectors, block, policy)                                                   \
    case GeluKernel::name:                                                                                     \
        return launchVariant<T, kForm, vectors, block, GeluCachePolicy::policy>(input, output, count, stream);
#include "geluKernels.def"
#undef TPB_GELU_KERNEL
    }
    return cudaErrorInvalidValue;
}

template <typename T>
cudaError_t launchForm(void const* input, void* output, int64_t count, GeluApproximation approximation,
    GeluKernel kernel, cudaStream_t stream) noexcept
{
    auto const* typedInput = static_cast<T const*>(input);
    auto* typedOutput = static_cast<T*>(output);
    if (approximation == GeluApproximation::kTANH)
    {
        return launchTyped<T, GeluApproximation::kTANH>(typedInput, typedOutput, count, kernel, stream);
    }
    return launchTyped<T, GeluApproximation::kERF>(typedInput, typedOutput, count, kernel, stream);
}

constexpr char const* kKernelNames[] = {
#define TPB_GELU_KERNEL(name, label, vectors, block, policy) label,
#include "geluKernels.def"
#undef TPB_GELU_KERNEL
};
static_assert(sizeof(kKernelNames) / sizeof(kKernelNames[0]) == static_cast<size_t>(kGeluKernelCount),
    "one name per variant");
static_assert(static_cast<int32_t>(GeluKernel::kNAIVE) == 0, "the naive kernel is variant 0");

} // namespace

char const* geluKernelName(int32_t kernel) noexcept
{
    return isValidGeluKernel(kernel) ? kKernelNames[kernel] : nullptr;
}

bool isValidGeluKernel(int32_t kernel) noexcept
{
    return kernel >= 0 && kernel < kGeluKernelCount;
}

bool isValidGeluDataType(int32_t dtype) noexcept
{
    return dtype == static_cast<int32_t>(GeluDataType::kFLOAT) || dtype == static_cast<int32_t>(GeluDataType::kHALF)
        || dtype == static_cast<int32_t>(GeluDataType::kBF16);
}

bool isValidGeluApproximation(int32_t approximation) noexcept
{
    return approximation == static_cast<int32_t>(GeluApproximation::kERF)
        || approximation == static_cast<int32_t>(GeluApproximation::kTANH);
}

cudaError_t launchGelu(void const* input, void* output, int64_t count, GeluApproximation approximation,
    GeluDataType dtype, GeluKernel kernel, cudaStream_t stream) noexcept
{
    if (count < 0 || !isValidGeluKernel(static_cast<int32_t>(kernel))
        || !isValidGeluDataType(static_cast<int32_t>(dtype))
        || !isValidGeluApproximation(static_cast<int32_t>(approximation)))
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
    case GeluDataType::kFLOAT: return launchForm<float>(input, output, count, approximation, kernel, stream);
    case GeluDataType::kHALF: return launchForm<__half>(input, output, count, approximation, kernel, stream);
    case GeluDataType::kBF16: return launchForm<__nv_bfloat16>(input, output, count, approximation, kernel, stream);
    }
    return cudaErrorInvalidValue;
}

} // namespace tpb
