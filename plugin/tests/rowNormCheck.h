// Host helpers of the row-normalisation kernel checks (layerNormKernelCheck.cu,
// residualRmsNormKernelCheck.cu): device buffers (RAII), dtype conversions on the host, poisoned
// outputs with guard elements, and the comparison with a float64 reference in ulps of the output dtype
// with an absolute floor (the numbers of ops/layer_norm and ops/residual_rms_norm's specs).
#pragma once

#include "cudaCheck.h"
#include "rowNormTypes.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace rncheck
{

using tpb::RowNormDataType;

class DeviceBuffer
{
public:
    explicit DeviceBuffer(size_t bytes)
    {
        if (!TPB_CUDA_OK(cudaMalloc(&mData, bytes == 0 ? 1 : bytes)))
        {
            mData = nullptr;
        }
    }
    ~DeviceBuffer()
    {
        if (mData != nullptr)
        {
            TPB_CUDA_OK(cudaFree(mData));
        }
    }
    DeviceBuffer(DeviceBuffer const&) = delete;
    DeviceBuffer& operator=(DeviceBuffer const&) = delete;
    bool valid() const
    {
        return mData != nullptr;
    }
    unsigned char* bytes() const
    {
        return static_cast<unsigned char*>(mData);
    }

private:
    void* mData{nullptr};
};

//! Copies \p bytes from the host onto \p stream, ordered before the launch that follows on it. Never a synchronous
//! cudaMemcpy: from pageable memory it returns once the bytes are staged, not landed, on the legacy stream, which a
//! non-blocking stream's launch does not wait for (under load the kernel ran before the poison landed, 2026-12-07).
inline bool upload(unsigned char* dst, void const* src, size_t bytes, cudaStream_t stream)
{
    return TPB_CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}

class Stream
{
public:
    Stream()
    {
        if (!TPB_CUDA_OK(cudaStreamCreateWithFlags(&mStream, cudaStreamNonBlocking)))
        {
            mStream = nullptr;
        }
    }
    ~Stream()
    {
        if (mStream != nullptr)
        {
            TPB_CUDA_OK(cudaStreamDestroy(mStream));
        }
    }
    Stream(Stream const&) = delete;
    Stream& operator=(Stream const&) = delete;
    bool valid() const
    {
        return mStream != nullptr;
    }
    cudaStream_t get() const
    {
        return mStream;
    }

private:
    cudaStream_t mStream{nullptr};
};

struct Tally
{
    int64_t passed{0};
    int64_t failed{0};
    void add(bool ok)
    {
        (ok ? passed : failed) += 1;
    }
};

inline char const* dtypeName(RowNormDataType dtype)
{
    return dtype == RowNormDataType::kFLOAT ? "fp32" : dtype == RowNormDataType::kHALF ? "fp16" : "bf16";
}

inline size_t itemSize(RowNormDataType dtype)
{
    return dtype == RowNormDataType::kFLOAT ? 4 : 2;
}

//! Host value -> the dtype's bits (round to nearest even), into \p out at element \p i.
inline void store(RowNormDataType dtype, std::vector<unsigned char>& out, size_t i, double value)
{
    if (dtype == RowNormDataType::kFLOAT)
    {
        float const f = static_cast<float>(value);
        std::memcpy(out.data() + 4 * i, &f, 4);
    }
    else if (dtype == RowNormDataType::kHALF)
    {
        __half const h = __double2half(value);
        std::memcpy(out.data() + 2 * i, &h, 2);
    }
    else
    {
        __nv_bfloat16 const b = __float2bfloat16(static_cast<float>(value));
        std::memcpy(out.data() + 2 * i, &b, 2);
    }
}

inline double load(RowNormDataType dtype, std::vector<unsigned char> const& in, size_t i)
{
    if (dtype == RowNormDataType::kFLOAT)
    {
        float f;
        std::memcpy(&f, in.data() + 4 * i, 4);
        return f;
    }
    if (dtype == RowNormDataType::kHALF)
    {
        __half h;
        std::memcpy(&h, in.data() + 2 * i, 2);
        return static_cast<double>(__half2float(h));
    }
    __nv_bfloat16 b;
    std::memcpy(&b, in.data() + 2 * i, 2);
    return static_cast<double>(__bfloat162float(b));
}

//! The value the dtype holds for \p value (what the kernel reads): the reference is computed from these.
//! Rounded as store() rounds, without a buffer (it runs for every compared element).
inline double rounded(RowNormDataType dtype, double value)
{
    if (dtype == RowNormDataType::kFLOAT)
    {
        return static_cast<double>(static_cast<float>(value));
    }
    if (dtype == RowNormDataType::kHALF)
    {
        return static_cast<double>(__half2float(__double2half(value)));
    }
    return static_cast<double>(__bfloat162float(__float2bfloat16(static_cast<float>(value))));
}

//! ulp of |value| in the dtype (at least the subnormal spacing).
inline double ulpOf(RowNormDataType dtype, double value)
{
    int const digits = dtype == RowNormDataType::kFLOAT ? 24 : dtype == RowNormDataType::kHALF ? 11 : 8;
    int const minExp = dtype == RowNormDataType::kFLOAT ? -126 : dtype == RowNormDataType::kHALF ? -14 : -126;
    double const a = std::fabs(value);
    int e = minExp;
    if (a > 0.0 && std::isfinite(a))
    {
        e = std::max(minExp, std::ilogb(a));
    }
    return std::ldexp(1.0, e - (digits - 1));
}

//! The poison written over outputs and their guard elements before a launch: -77777 (fp32), -7777.0 (16-bit).
inline double poisonValue(RowNormDataType dtype)
{
    return dtype == RowNormDataType::kFLOAT ? -77777.0 : -7776.0;
}

struct Bound
{
    double ulps;
    double abs;
};

//! Compare \p count outputs with \p ref (float64): NaN where NaN, the same infinity, else within
//! max(ulps ulp(ref), abs). Also: the \p guard elements after the outputs still hold the poison.
//! Prints the first few mismatches under \p label. Returns the number of bad elements.
inline int64_t compare(RowNormDataType dtype, std::vector<unsigned char> const& got, std::vector<double> const& ref,
    size_t count, size_t guard, Bound bound, char const* label, double* worstUlps = nullptr)
{
    int64_t bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < count; ++i)
    {
        double const g = load(dtype, got, i);
        double const r = ref[i];
        bool ok = false;
        if (std::isnan(r))
        {
            ok = std::isnan(g);
        }
        else if (std::isinf(r) || std::isinf(rounded(dtype, r)))
        {
            ok = g == rounded(dtype, r);
        }
        else if (std::isfinite(g))
        {
            double const err = std::fabs(g - r);
            ok = err <= std::max(bound.ulps * ulpOf(dtype, r), bound.abs);
            worst = std::max(worst, err / ulpOf(dtype, r));
        }
        if (!ok)
        {
            if (bad < 4)
            {
                std::printf("  %s: element %zu got %.9g, reference %.9g (bound %g ulp or %g)\n", label, i, g, r,
                    bound.ulps, bound.abs);
            }
            ++bad;
        }
    }
    double const poison = rounded(dtype, poisonValue(dtype));
    for (size_t i = count; i < count + guard; ++i)
    {
        if (load(dtype, got, i) != poison)
        {
            if (bad < 4)
            {
                std::printf("  %s: guard element %zu past the output was written\n", label, i - count);
            }
            ++bad;
        }
    }
    if (worstUlps != nullptr)
    {
        *worstUlps = worst;
    }
    return bad;
}

//! Host bytes of \p count poison values (and the guard).
inline std::vector<unsigned char> poisoned(RowNormDataType dtype, size_t count)
{
    std::vector<unsigned char> out(count * itemSize(dtype));
    for (size_t i = 0; i < count; ++i)
    {
        store(dtype, out, i, poisonValue(dtype));
    }
    return out;
}

} // namespace rncheck
