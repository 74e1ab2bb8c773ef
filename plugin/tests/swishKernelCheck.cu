// Standalone correctness check of the Swish kernels (pure CUDA, no TensorRT).
//
// For every dtype x kernel it runs random and edge-value inputs over a range of sizes, with aligned
// and misaligned pointers, on a non-default stream, and compares against a float64 reference
// x / (1 + exp(-beta * x)) computed from the dtype-rounded input. Outputs (and guard regions around
// them) are poisoned before each launch so that unwritten or out-of-range writes are detected.
// Exit code 0 only if every check passes. Kept small enough to run under compute-sanitizer.
//
// Usage: swish_kernel_check [--large]
//   --large  additionally runs 2^31 + 2^20 + 5 elements per dtype (needs ~18 GB of device memory) to
//            exercise 64-bit indexing; results are sampled at the start, end and a few strides.
#include "cudaCheck.h"
#include "swishPluginKernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace
{

using tpb::SwishDataType;
using tpb::SwishKernel;

//! Owning device allocation (RAII). valid() is false when cudaMalloc failed (already reported).
class DeviceBuffer
{
public:
    explicit DeviceBuffer(size_t bytes)
    {
        if (!TPB_CUDA_OK(cudaMalloc(&mData, bytes)))
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

//! Owning non-blocking stream (RAII): launches never go to the legacy default stream.
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

struct DTypeInfo
{
    SwishDataType dtype;
    char const* name;
    size_t elementSize;
    // |out - ref| <= atol + rtol * |ref|
    double rtol;
    double atol;
};

// fp32: the fast path's __expf error is ~1e-6 relative at most where the result is not tiny.
// fp16: 1 ulp is 9.8e-4 relative (output rounding is half of that) plus compute error.
// bf16: 1 ulp is 7.8e-3 relative; 2 ulp leaves room for rounding of the fp32 intermediate.
constexpr std::array<DTypeInfo, 3> kDTypes{{
    {SwishDataType::kFLOAT, "fp32", 4, 1e-5, 1e-6},
    {SwishDataType::kHALF, "fp16", 2, 2e-3, 1e-4},
    {SwishDataType::kBF16, "bf16", 2, 1.6e-2, 1e-3},
}};

constexpr std::array<SwishKernel, tpb::kSwishKernelCount> kKernels{
    SwishKernel::kNAIVE, SwishKernel::kVECTORIZED, SwishKernel::kVECTORIZED_STREAMING, SwishKernel::kVECTORIZED_ONESHOT,
    SwishKernel::kVECTORIZED_ONESHOT_X1, SwishKernel::kVECTORIZED_ONESHOT_X4, SwishKernel::kVECTORIZED_ONESHOT_X1_B128,
    SwishKernel::kVECTORIZED_ONESHOT_X2_B128, SwishKernel::kVECTORIZED_ONESHOT_X1_EF, SwishKernel::kVECTORIZED_ONESHOT_X1_CS,
    SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF, SwishKernel::kVECTORIZED_ONESHOT_SIZED,
    SwishKernel::kVECTORIZED_ONESHOT_X1_L2EF, SwishKernel::kVECTORIZED_ONESHOT_X1_B128_L2EF,
    SwishKernel::kVECTORIZED_ONESHOT_X1_B1024, SwishKernel::kVECTORIZED_ONESHOT_WAVES};

constexpr std::array<float, 2> kBetas{1.0F, 1.702F};

// Small sizes hit the scalar tail (count % elements-per-16B) and partially filled blocks; the
// larger ones the unrolled main loop and the grid-stride loop.
constexpr std::array<int64_t, 10> kSizes{0, 1, 3, 7, 8, 9, 1023, 4096 + 5, (1 << 20) + 3, 3000017};

// Misaligned runs (offset by one element) use only sizes up to this, to keep the run short.
constexpr int64_t kMaxMisalignedSize = (1 << 20) + 3;

// Guard elements before and after every output; they must still hold the poison after a launch.
constexpr int64_t kGuardElements = 16;

// Poison byte: 0x7B7B is 61280 in fp16, 0x7B7B7B7B about 1.3e36 in fp32 / bf16. These are finite
// values that no test input can produce, so an unwritten element is always reported.
constexpr int kPoisonByte = 0x7B;

enum class Alignment
{
    kBothAligned,
    kBothMisaligned,
    kOutputMisaligned,
};

char const* alignmentName(Alignment alignment)
{
    switch (alignment)
    {
    case Alignment::kBothAligned: return "aligned";
    case Alignment::kBothMisaligned: return "in+out misaligned";
    case Alignment::kOutputMisaligned: return "out misaligned";
    }
    return "?";
}

// Host-side element encode/decode (rounding to nearest even, like the device conversions).
void storeElement(SwishDataType dtype, float value, unsigned char* destination)
{
    switch (dtype)
    {
    case SwishDataType::kFLOAT: std::memcpy(destination, &value, sizeof(float)); return;
    case SwishDataType::kHALF:
    {
        __half const h = __float2half_rn(value);
        std::memcpy(destination, &h, sizeof(h));
        return;
    }
    case SwishDataType::kBF16:
    {
        __nv_bfloat16 const b = __float2bfloat16_rn(value);
        std::memcpy(destination, &b, sizeof(b));
        return;
    }
    }
}

double loadElement(SwishDataType dtype, unsigned char const* source)
{
    switch (dtype)
    {
    case SwishDataType::kFLOAT:
    {
        float f = 0.0F;
        std::memcpy(&f, source, sizeof(f));
        return f;
    }
    case SwishDataType::kHALF:
    {
        __half h;
        std::memcpy(&h, source, sizeof(h));
        return __half2float(h);
    }
    case SwishDataType::kBF16:
    {
        __nv_bfloat16 b;
        std::memcpy(&b, source, sizeof(b));
        return __bfloat162float(b);
    }
    }
    return std::numeric_limits<double>::quiet_NaN();
}

double referenceSwish(double x, float beta)
{
    // x * sigmoid(beta * x) in float64. x = -inf gives -inf / inf = NaN, which the kernels match.
    return x / (1.0 + std::exp(-static_cast<double>(beta) * x));
}

bool withinTolerance(double out, double ref, DTypeInfo const& info)
{
    if (std::isnan(ref))
    {
        return std::isnan(out);
    }
    if (std::isnan(out))
    {
        return false;
    }
    if (std::isinf(ref))
    {
        return out == ref;
    }
    if (std::isinf(out))
    {
        return false;
    }
    return std::fabs(out - ref) <= info.atol + info.rtol * std::fabs(ref);
}

// Edge values, placed at the start (vectorised main path) and the end (scalar tail) of every input.
std::vector<float> edgeValues()
{
    float const inf = std::numeric_limits<float>::infinity();
    return {1.0F, -1.0F, 20.0F, -20.0F, 100.0F, -100.0F, 0.0F, 1e-38F, -1e-38F, inf, -inf,
        std::numeric_limits<float>::quiet_NaN()};
}

// Inputs encoded in dtype: a mix of normal*8, uniform(-100, 100), uniform(-1e-3, 1e-3) and
// uniform(-10, 10), with the edge values at both ends.
std::vector<unsigned char> makeInput(DTypeInfo const& info, int64_t count, uint32_t seed)
{
    std::mt19937 generator(seed);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
    std::vector<float> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
    {
        float value = 0.0F;
        switch (i % 4)
        {
        case 0: value = normal(generator) * 8.0F; break;
        case 1: value = uniform(generator) * 100.0F; break;
        case 2: value = uniform(generator) * 1e-3F; break;
        default: value = uniform(generator) * 10.0F; break;
        }
        values[static_cast<size_t>(i)] = value;
    }
    std::vector<float> const edges = edgeValues();
    int64_t const nbEdges = static_cast<int64_t>(edges.size());
    for (int64_t k = 0; k < nbEdges && k < count; ++k)
    {
        values[static_cast<size_t>(k)] = edges[static_cast<size_t>(k)];
    }
    for (int64_t k = 0; k < nbEdges && count >= 2 * nbEdges; ++k)
    {
        values[static_cast<size_t>(count - 1 - k)] = edges[static_cast<size_t>(k)];
    }
    std::vector<unsigned char> encoded(static_cast<size_t>(count) * info.elementSize);
    for (int64_t i = 0; i < count; ++i)
    {
        storeElement(info.dtype, values[static_cast<size_t>(i)], encoded.data() + i * info.elementSize);
    }
    return encoded;
}

struct Tally
{
    int64_t passed{0};
    int64_t failed{0};
    void record(bool ok)
    {
        ok ? ++passed : ++failed;
    }
};

struct CaseSpec
{
    DTypeInfo const* info;
    SwishKernel kernel;
    float beta;
    int64_t count;
    Alignment alignment;
};

void reportCase(CaseSpec const& spec, char const* what)
{
    std::fprintf(stderr, "FAIL [%s %s beta=%.3f n=%lld %s]: %s\n", spec.info->name, tpb::swishKernelName(spec.kernel),
        static_cast<double>(spec.beta), static_cast<long long>(spec.count), alignmentName(spec.alignment), what);
}

//! One launch + full check. Input/output device buffers are large enough for the biggest case.
bool runCase(CaseSpec const& spec, std::vector<unsigned char> const& hostInput, std::vector<double> const& reference,
    DeviceBuffer const& inputBuffer, DeviceBuffer const& outputBuffer, cudaStream_t stream)
{
    size_t const elementSize = spec.info->elementSize;
    bool const inputMisaligned = spec.alignment == Alignment::kBothMisaligned;
    bool const outputMisaligned = spec.alignment != Alignment::kBothAligned;
    unsigned char* const input = inputBuffer.bytes() + (inputMisaligned ? elementSize : 0);
    // Output region: guard | [misalignment element] | count elements | guard
    size_t const regionElements = static_cast<size_t>(spec.count + 2 * kGuardElements + 1);
    size_t const outputOffsetElements = static_cast<size_t>(kGuardElements) + (outputMisaligned ? 1 : 0);
    unsigned char* const output = outputBuffer.bytes() + outputOffsetElements * elementSize;

    if (!TPB_CUDA_OK(cudaMemcpyAsync(input, hostInput.data(), hostInput.size(), cudaMemcpyHostToDevice, stream))
        || !TPB_CUDA_OK(cudaMemsetAsync(outputBuffer.bytes(), kPoisonByte, regionElements * elementSize, stream)))
    {
        reportCase(spec, "setup failed");
        return false;
    }
    cudaError_t const launchStatus
        = tpb::launchSwish(input, output, spec.count, spec.beta, spec.info->dtype, spec.kernel, stream);
    if (!TPB_CUDA_OK(launchStatus) || !TPB_CUDA_OK(cudaGetLastError()) || !TPB_CUDA_OK(cudaStreamSynchronize(stream)))
    {
        reportCase(spec, "launch failed");
        return false;
    }
    std::vector<unsigned char> region(regionElements * elementSize);
    if (!TPB_CUDA_OK(cudaMemcpy(region.data(), outputBuffer.bytes(), region.size(), cudaMemcpyDeviceToHost)))
    {
        reportCase(spec, "copy back failed");
        return false;
    }

    bool ok = true;
    size_t const outputBegin = outputOffsetElements * elementSize;
    size_t const outputEnd = outputBegin + static_cast<size_t>(spec.count) * elementSize;
    for (size_t b = 0; b < region.size(); ++b)
    {
        if ((b < outputBegin || b >= outputEnd) && region[b] != kPoisonByte)
        {
            reportCase(spec, "write outside the output range");
            ok = false;
            break;
        }
    }
    int32_t reported = 0;
    for (int64_t i = 0; i < spec.count; ++i)
    {
        double const out = loadElement(spec.info->dtype, region.data() + outputBegin + i * elementSize);
        double const ref = reference[static_cast<size_t>(i)];
        if (!withinTolerance(out, ref, *spec.info))
        {
            ok = false;
            if (reported++ < 5)
            {
                double const x = loadElement(spec.info->dtype, hostInput.data() + i * elementSize);
                char message[256];
                std::snprintf(message, sizeof(message), "index %lld x=%.9g out=%.9g ref=%.9g",
                    static_cast<long long>(i), x, out, ref);
                reportCase(spec, message);
            }
        }
    }
    return ok;
}

//! Argument validation of launchSwish; none of these may launch anything.
void checkInvalidArguments(Tally& tally, cudaStream_t stream, DeviceBuffer const& buffer)
{
    void* const data = buffer.bytes();
    tally.record(tpb::launchSwish(data, data, -1, 1.0F, SwishDataType::kFLOAT, SwishKernel::kNAIVE, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchSwish(nullptr, data, 4, 1.0F, SwishDataType::kFLOAT, SwishKernel::kVECTORIZED, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchSwish(data, nullptr, 4, 1.0F, SwishDataType::kHALF, SwishKernel::kVECTORIZED, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchSwish(nullptr, nullptr, 0, 1.0F, SwishDataType::kBF16, SwishKernel::kNAIVE, stream)
        == cudaSuccess);
    tally.record(
        tpb::launchSwish(data, data, 4, 1.0F, static_cast<SwishDataType>(7), SwishKernel::kNAIVE, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchSwish(data, data, 4, 1.0F, SwishDataType::kFLOAT,
                     static_cast<SwishKernel>(tpb::kSwishKernelCount), stream)
        == cudaErrorInvalidValue);
    tally.record(std::string(tpb::swishKernelName(SwishKernel::kNAIVE)) == "naive"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED)) == "vectorized"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_STREAMING)) == "vectorized_streaming"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_ONESHOT_X1)) == "vectorized_oneshot_x1"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_ONESHOT_X4)) == "vectorized_oneshot_x4"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_ONESHOT_X2_B128)) == "vectorized_oneshot_x2_b128"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF)) == "vectorized_oneshot_x1_b128_ef"
        && std::string(tpb::swishKernelName(SwishKernel::kVECTORIZED_ONESHOT_X1_B1024)) == "vectorized_oneshot_x1_b1024");
    tally.record(TPB_CUDA_OK(tpb::launchEmptyKernel(stream)) && TPB_CUDA_OK(cudaStreamSynchronize(stream)));
    tally.record(TPB_CUDA_OK(cudaGetLastError()));
}

//! > 2^31 elements: constant input (memset pattern), sampled verification.
bool runLargeCase(DTypeInfo const& info, SwishKernel kernel, cudaStream_t stream)
{
    // 1 Mi + 5 elements past 2^31: indices that overflow int32 and a count % 8 tail.
    int64_t const count = (int64_t{1} << 31) + (int64_t{1} << 20) + 5;
    size_t const bytes = static_cast<size_t>(count) * info.elementSize;
    DeviceBuffer input(bytes);
    DeviceBuffer output(bytes);
    if (!input.valid() || !output.valid())
    {
        std::fprintf(stderr, "FAIL [%s %s large]: allocation of 2 x %zu bytes failed\n", info.name,
            tpb::swishKernelName(kernel), bytes);
        return false;
    }
    // Input bytes 0x3C: fp32 ~0.0115, fp16 ~1.0586, bf16 ~0.0115.
    unsigned char const inputByte = 0x3C;
    if (!TPB_CUDA_OK(cudaMemsetAsync(input.bytes(), inputByte, bytes, stream))
        || !TPB_CUDA_OK(cudaMemsetAsync(output.bytes(), kPoisonByte, bytes, stream)))
    {
        return false;
    }
    float const beta = 1.702F;
    if (!TPB_CUDA_OK(tpb::launchSwish(input.bytes(), output.bytes(), count, beta, info.dtype, kernel, stream))
        || !TPB_CUDA_OK(cudaStreamSynchronize(stream)))
    {
        return false;
    }
    std::vector<unsigned char> pattern(info.elementSize, inputByte);
    double const ref = referenceSwish(loadElement(info.dtype, pattern.data()), beta);

    // Samples of 64 Ki elements: the start, around 2^30 and 2^31 elements, the middle and the end.
    int64_t const window = 1 << 16;
    std::array<int64_t, 5> const starts{
        0, (int64_t{1} << 30) - window / 2, (int64_t{1} << 31) - window / 2, count / 2, count - window};
    std::vector<unsigned char> sample(static_cast<size_t>(window) * info.elementSize);
    for (int64_t start : starts)
    {
        if (!TPB_CUDA_OK(cudaMemcpy(sample.data(), output.bytes() + start * static_cast<int64_t>(info.elementSize),
                sample.size(), cudaMemcpyDeviceToHost)))
        {
            // Already reported; clear it so it is not attributed to the next launch check.
            static_cast<void>(cudaGetLastError());
            return false;
        }
        for (int64_t i = 0; i < window; ++i)
        {
            double const out = loadElement(info.dtype, sample.data() + i * info.elementSize);
            if (!withinTolerance(out, ref, info))
            {
                std::fprintf(stderr, "FAIL [%s %s large]: index %lld out=%.9g ref=%.9g\n", info.name,
                    tpb::swishKernelName(kernel), static_cast<long long>(start + i), out, ref);
                return false;
            }
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    bool runLarge = false;
    for (int i = 1; i < argc; ++i)
    {
        if (std::string(argv[i]) == "--large")
        {
            runLarge = true;
        }
        else
        {
            std::fprintf(stderr, "usage: %s [--large]\n", argv[0]);
            return 2;
        }
    }

    Stream stream;
    if (!stream.valid())
    {
        std::printf("swish_kernel_check: 0 passed, 1 failed\n");
        return 1;
    }

    int64_t const maxCount = kSizes.back();
    size_t const maxElementSize = 4;
    DeviceBuffer inputBuffer(static_cast<size_t>(maxCount + 1) * maxElementSize);
    DeviceBuffer outputBuffer(static_cast<size_t>(maxCount + 2 * kGuardElements + 1) * maxElementSize);
    if (!inputBuffer.valid() || !outputBuffer.valid())
    {
        std::printf("swish_kernel_check: 0 passed, 1 failed\n");
        return 1;
    }

    int64_t totalPassed = 0;
    int64_t totalFailed = 0;

    Tally apiTally;
    checkInvalidArguments(apiTally, stream.get(), inputBuffer);
    std::printf("%-5s %-21s %5lld passed %5lld failed\n", "api", "argument checks", static_cast<long long>(apiTally.passed),
        static_cast<long long>(apiTally.failed));
    totalPassed += apiTally.passed;
    totalFailed += apiTally.failed;

    for (DTypeInfo const& info : kDTypes)
    {
        std::array<Tally, tpb::kSwishKernelCount> tallies{};
        uint32_t seed = 1234;
        for (int64_t count : kSizes)
        {
            std::vector<unsigned char> const hostInput = makeInput(info, count, seed++);
            for (float beta : kBetas)
            {
                std::vector<double> reference(static_cast<size_t>(count));
                for (int64_t i = 0; i < count; ++i)
                {
                    reference[static_cast<size_t>(i)]
                        = referenceSwish(loadElement(info.dtype, hostInput.data() + i * info.elementSize), beta);
                }
                for (Alignment alignment :
                    {Alignment::kBothAligned, Alignment::kBothMisaligned, Alignment::kOutputMisaligned})
                {
                    if (alignment != Alignment::kBothAligned && count > kMaxMisalignedSize)
                    {
                        continue;
                    }
                    for (SwishKernel kernel : kKernels)
                    {
                        CaseSpec const spec{&info, kernel, beta, count, alignment};
                        tallies[static_cast<size_t>(kernel)].record(
                            runCase(spec, hostInput, reference, inputBuffer, outputBuffer, stream.get()));
                    }
                }
            }
        }
        if (runLarge)
        {
            for (SwishKernel kernel : kKernels)
            {
                tallies[static_cast<size_t>(kernel)].record(runLargeCase(info, kernel, stream.get()));
            }
        }
        for (SwishKernel kernel : kKernels)
        {
            Tally const& tally = tallies[static_cast<size_t>(kernel)];
            std::printf("%-5s %-21s %5lld passed %5lld failed\n", info.name, tpb::swishKernelName(kernel),
                static_cast<long long>(tally.passed), static_cast<long long>(tally.failed));
            totalPassed += tally.passed;
            totalFailed += tally.failed;
        }
    }

    std::printf("swish_kernel_check: %lld passed, %lld failed\n", static_cast<long long>(totalPassed),
        static_cast<long long>(totalFailed));
    return totalFailed == 0 ? 0 : 1;
}
