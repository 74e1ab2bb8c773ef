// Standalone correctness check of the Swish kernels (pure CUDA, no TensorRT).
//
// For every dtype x kernel it runs random and edge-value inputs over a range of sizes, with aligned
// and misaligned pointers, in place, on a non-default stream, and compares against a float64
// reference x / (1 + exp(-beta * x)) computed from the dtype-rounded input. Outputs (and guard
// regions around them) are poisoned before each launch so that unwritten or out-of-range writes are
// detected. The comparison is the numerics contract (docs/kernel-notes.md, "Numerics contract"),
// shared with the Python check: error in ulps of the output dtype, the ulp floored at the
// subnormal spacing, so a flushed subnormal result fails (no flush-to-zero allowance here).
// Planted faults (a wrong far tail, one ulp off, one element beyond its bound, a flushed subnormal)
// are applied to a real kernel output on every run and must be rejected. Exit code 0 only if every
// check passes. Kept small enough to run under compute-sanitizer.
//
// In place and out of place, a kernel's output is the same bit for bit (the same code on the same values).
//
// Usage: swish_kernel_check [--large]
//   --large  additionally runs 2^31 + 2^20 + 5 elements per dtype x kernel (needs ~17 GB of device
//            memory) to exercise 64-bit indexing: the input is x[i] = f(i) (a hash of i), so an
//            element read or written at a wrong index shows; windows at the start, around 2^30 and
//            2^31, the middle, the end and at pseudo-random places are compared.
#include "cudaCheck.h"
#include "swishPluginKernel.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
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

// ---- Numerics contract (identical constants in the Python check) --------------------------------
//   err_ulps = |got - ref| / ulp_d(ref),  ulp_d(v) = 2^(max(floor(log2 |v|), EMIN_d) - P_d)
//   pass iff err_ulps <= bound: fp16/bf16 1.0; fp32 3 + (4 + 3.4 |z|) (1 - sigmoid(z)), z = beta * x
//   (fp32: ex2.approx's 2 ulp of e (the instruction behind __expf's documented 2 + floor(1.173 |z|))
//   and the roundings of beta * -log2 e and of t = x * that, |z| * 2^-24 relative together, each doubled
//   on the way into ulps of the output, which may sit at the top of its binade; e's error reaches
//   sigmoid(z) = 1/(1+e) scaled by 1 - sigmoid(z). The rest: rcp.approx's 1 ulp of sigmoid (1/sigmoid
//   output ulps), the rounding of 1 + e (1) and of the product (0.5): 2.5 where sigmoid -> 1, under the
//   constant 3; 3.5 at sigmoid = 1/2, where the (1 - sigmoid) term adds 2 more)
//   NaN ref <-> NaN got; inf ref -> got == ref; finite ref with non-finite got fails.

struct DTypeInfo
{
    SwishDataType dtype;
    char const* name;
    size_t elementSize;
    int32_t precisionBits; //!< P: explicit significand bits
    int32_t minExponent;   //!< EMIN: exponent of the smallest normal
    //! Planted "wrong tail" fault: +0 for every x below this (where the result is still many ulps
    //! above the floor, so zeroing it must be caught).
    double wrongTailBelow;
};

constexpr std::array<DTypeInfo, 3> kDTypes{{
    {SwishDataType::kFLOAT, "fp32", 4, 23, -126, -16.8},
    {SwishDataType::kHALF, "fp16", 2, 10, -14, -11.8},
    {SwishDataType::kBF16, "bf16", 2, 7, -126, -9.2},
}};

constexpr double kHalfBoundUlps = 1.0; // fp16/bf16: fp32 compute, then one round-to-nearest
constexpr double kFp32BaseUlps = 3.0;
constexpr double kFp32ExpUlps = 4.0;   // times (1 - sigmoid(z)): ex2.approx's constant 2 ulp, doubled
constexpr double kFp32SlopeUlps = 3.4; // times |z| (1 - sigmoid(z)): the argument's roundings (__expf's 1.173 |z|), doubled

//! ulp of v in the dtype, floored at the subnormal spacing (v == 0 -> the floor).
double ulpOf(double v, DTypeInfo const& info)
{
    int32_t const exponent = v == 0.0 ? info.minExponent : std::max(std::ilogb(v), info.minExponent);
    return std::ldexp(1.0, exponent - info.precisionBits);
}

//! Bound in ulps for input x (finite).
double boundUlps(double x, float beta, DTypeInfo const& info)
{
    if (info.dtype != SwishDataType::kFLOAT)
    {
        return kHalfBoundUlps;
    }
    double const z = static_cast<double>(beta) * x;
    // 1 - sigmoid(z) = 1 / (1 + e^z): 0 for huge positive z (e^z = inf), 1 for huge negative.
    return kFp32BaseUlps + (kFp32ExpUlps + kFp32SlopeUlps * std::fabs(z)) / (1.0 + std::exp(z));
}

double referenceSwish(double x, float beta)
{
    // x * sigmoid(beta * x) in float64. x = -inf gives -inf / inf = NaN, which the kernels match.
    return x / (1.0 + std::exp(-static_cast<double>(beta) * x));
}

//! Reference, its ulp and the bound of every element of one input at one beta.
struct Expected
{
    std::vector<double> ref;
    std::vector<double> ulp;
    std::vector<double> bound;
};

Expected makeExpected(std::vector<double> const& x, float beta, DTypeInfo const& info)
{
    Expected expected;
    expected.ref.resize(x.size());
    expected.ulp.resize(x.size());
    expected.bound.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i)
    {
        double const ref = referenceSwish(x[i], beta);
        expected.ref[i] = ref;
        expected.ulp[i] = std::isfinite(ref) ? ulpOf(ref, info) : 1.0;
        expected.bound[i] = std::isfinite(x[i]) ? boundUlps(x[i], beta, info) : 0.0;
    }
    return expected;
}

//! err_ulps of one element; 0 where a special-value rule holds, +inf where it fails.
double errorUlps(double got, double ref, double ulp)
{
    double const inf = std::numeric_limits<double>::infinity();
    if (std::isnan(ref))
    {
        return std::isnan(got) ? 0.0 : inf;
    }
    if (std::isinf(ref))
    {
        return got == ref ? 0.0 : inf;
    }
    if (!std::isfinite(got))
    {
        return inf;
    }
    return std::fabs(got - ref) / ulp;
}

//! Largest err_ulps and err/bound seen (the margin the lead reads off the GPU's log).
struct ErrorStats
{
    double maxUlps{0.0};
    double maxRatio{0.0};
    void merge(ErrorStats const& other)
    {
        maxUlps = std::max(maxUlps, other.maxUlps);
        maxRatio = std::max(maxRatio, other.maxRatio);
    }
};

struct Verdict
{
    int64_t wrong{0};
    ErrorStats stats;
    std::vector<int64_t> firstWrong; //!< up to kReportedPerCase indices
};

constexpr size_t kReportedPerCase = 5;

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

std::vector<double> decode(DTypeInfo const& info, unsigned char const* data, int64_t count)
{
    std::vector<double> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
    {
        values[static_cast<size_t>(i)] = loadElement(info.dtype, data + i * info.elementSize);
    }
    return values;
}

//! Compare count output elements (encoded in the dtype) with expected[offset ...].
Verdict checkOutput(DTypeInfo const& info, unsigned char const* output, int64_t count, Expected const& expected,
    int64_t offset = 0)
{
    Verdict verdict;
    for (int64_t i = 0; i < count; ++i)
    {
        size_t const e = static_cast<size_t>(offset + i);
        double const got = loadElement(info.dtype, output + i * info.elementSize);
        double const err = errorUlps(got, expected.ref[e], expected.ulp[e]);
        double const ratio = expected.bound[e] > 0.0 ? err / expected.bound[e] : (err > 0.0 ? err : 0.0);
        verdict.stats.maxUlps = std::max(verdict.stats.maxUlps, err);
        verdict.stats.maxRatio = std::max(verdict.stats.maxRatio, ratio);
        if (!(err <= expected.bound[e]))
        {
            if (verdict.firstWrong.size() < kReportedPerCase)
            {
                verdict.firstWrong.push_back(offset + i);
            }
            ++verdict.wrong;
        }
    }
    return verdict;
}

// Edge values (numerics contract), placed at the start (vectorised main path, misaligned head) and
// in the last elements (scalar/vector tail) of every input: zeros, fp32/bf16 subnormals, fp16
// subnormals (1e-38 is 0 in fp16), the fp32 far tail (exp(-z) overflows; -100 has a subnormal
// result), fp16's large range, infinities and NaN.
std::vector<float> edgeValues()
{
    float const inf = std::numeric_limits<float>::infinity();
    return {0.0F, -0.0F, 1e-38F, -1e-38F, 1e-6F, -1e-6F, 1.0F, -1.0F, 20.0F, -20.0F, 88.5F, -88.5F, -89.0F,
        -100.0F, 60000.0F, -60000.0F, inf, -inf, std::numeric_limits<float>::quiet_NaN()};
}

// Inputs encoded in dtype: a mix of normal*8, uniform(-100, 100), uniform(-1e-3, 1e-3) and
// uniform(-10, 10), the edge values first and last (for counts below twice their number the end
// copy overwrites part of the start copy: the tail always holds them). normal*8 and uniform*100 put
// ~2 % and ~42 % of their elements below the planted wrong-tail thresholds (-9.2 ... -16.8); the
// planted-fault check counts them on every run.
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
    for (int64_t k = std::max<int64_t>(0, nbEdges - count); k < nbEdges; ++k)
    {
        values[static_cast<size_t>(count - nbEdges + k)] = edges[static_cast<size_t>(k)];
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
    ErrorStats stats;
    void record(bool ok)
    {
        ok ? ++passed : ++failed;
    }
};

// every valid id (11 and 15 are retired: checkInvalidArguments checks that they are refused)
constexpr std::array<SwishKernel, tpb::kSwishKernelCount - 2> kKernels{
    SwishKernel::kNAIVE, SwishKernel::kVECTORIZED, SwishKernel::kVECTORIZED_STREAMING, SwishKernel::kVECTORIZED_ONESHOT,
    SwishKernel::kVECTORIZED_ONESHOT_X1, SwishKernel::kVECTORIZED_ONESHOT_X4, SwishKernel::kVECTORIZED_ONESHOT_X1_B128,
    SwishKernel::kVECTORIZED_ONESHOT_X2_B128, SwishKernel::kVECTORIZED_ONESHOT_X1_EF, SwishKernel::kVECTORIZED_ONESHOT_X1_CS,
    SwishKernel::kVECTORIZED_ONESHOT_X1_B128_EF, SwishKernel::kVECTORIZED_ONESHOT_X1_L2EF,
    SwishKernel::kVECTORIZED_ONESHOT_X1_B128_L2EF, SwishKernel::kVECTORIZED_ONESHOT_X1_B1024};

// Every size and layout runs at these betas.
constexpr std::array<float, 2> kBetas{1.0F, 1.702F};

// Run at kExtraBetaSizes only (aligned and misaligned): the numerics are per element, so two sizes
// that reach both the vector path and the tail are enough. beta <= 0 (0: sigmoid = 1/2 everywhere,
// 0 * inf = NaN; -1.5: the far tail at large positive x) and huge beta (saturated sigmoid; z
// overflows to +-inf in fp32).
constexpr std::array<float, 4> kExtraBetas{0.0F, -1.5F, 1e4F, 1e30F};
constexpr std::array<int64_t, 2> kExtraBetaSizes{1023, 4096 + 5};

// Small sizes hit the scalar tail (count % elements-per-16B) and partially filled blocks; the
// larger ones the unrolled main loop and the grid-stride loop.
constexpr std::array<int64_t, 10> kSizes{0, 1, 3, 7, 8, 9, 1023, 4096 + 5, (1 << 20) + 3, 3000017};

// Misaligned runs (offset by one element) use only sizes up to this, to keep the run short.
constexpr int64_t kMaxMisalignedSize = (1 << 20) + 3;

// In-place runs (input == output), at beta 1.702, aligned and misaligned.
constexpr std::array<int64_t, 3> kInPlaceSizes{7, 4096 + 5, (1 << 20) + 3};

// Guard elements before and after every output; they must still hold the poison after a launch.
constexpr int64_t kGuardElements = 16;

// Poison byte: 0x7B7B is 61280 in fp16, 0x7B7B7B7B about 1.3e36 in fp32 / bf16. These are finite
// values that no test input can produce, so an unwritten element is always reported.
constexpr int kPoisonByte = 0x7B;

enum class Layout
{
    kAligned,
    kBothMisaligned,
    kOutputMisaligned,
    kInputMisaligned,
    kInPlace,
    kInPlaceMisaligned,
};

char const* layoutName(Layout layout)
{
    switch (layout)
    {
    case Layout::kAligned: return "aligned";
    case Layout::kBothMisaligned: return "in+out misaligned";
    case Layout::kOutputMisaligned: return "out misaligned";
    case Layout::kInputMisaligned: return "in misaligned";
    case Layout::kInPlace: return "in place";
    case Layout::kInPlaceMisaligned: return "in place misaligned";
    }
    return "?";
}

template <size_t N>
bool contains(std::array<int64_t, N> const& values, int64_t value)
{
    return std::find(values.begin(), values.end(), value) != values.end();
}

//! The layouts run for one (count, beta).
std::vector<Layout> layoutsFor(int64_t count, float beta, bool extraBeta)
{
    std::vector<Layout> layouts{Layout::kAligned};
    if (extraBeta)
    {
        layouts.push_back(Layout::kBothMisaligned);
        return layouts;
    }
    if (count <= kMaxMisalignedSize)
    {
        layouts.insert(layouts.end(), {Layout::kBothMisaligned, Layout::kOutputMisaligned, Layout::kInputMisaligned});
    }
    if (beta == kBetas[1] && contains(kInPlaceSizes, count))
    {
        layouts.insert(layouts.end(), {Layout::kInPlace, Layout::kInPlaceMisaligned});
    }
    return layouts;
}

struct CaseSpec
{
    DTypeInfo const* info;
    SwishKernel kernel;
    float beta;
    int64_t count;
    Layout layout;
};

void reportCase(CaseSpec const& spec, char const* what)
{
    std::fprintf(stderr, "FAIL [%s %s beta=%g n=%lld %s]: %s\n", spec.info->name, tpb::swishKernelName(spec.kernel),
        static_cast<double>(spec.beta), static_cast<long long>(spec.count), layoutName(spec.layout), what);
}

void reportWrongElements(CaseSpec const& spec, Verdict const& verdict, std::vector<double> const& x,
    std::vector<unsigned char> const& output, Expected const& expected)
{
    for (int64_t i : verdict.firstWrong)
    {
        size_t const e = static_cast<size_t>(i);
        double const got = loadElement(spec.info->dtype, output.data() + i * spec.info->elementSize);
        char message[256];
        std::snprintf(message, sizeof(message), "index %lld x=%.9g out=%.9g ref=%.9g err=%.3g ulp bound=%.3g ulp",
            static_cast<long long>(i), x[e], got, expected.ref[e], errorUlps(got, expected.ref[e], expected.ulp[e]),
            expected.bound[e]);
        reportCase(spec, message);
    }
    if (verdict.wrong > static_cast<int64_t>(verdict.firstWrong.size()))
    {
        char message[96];
        std::snprintf(message, sizeof(message), "%lld wrong elements in all", static_cast<long long>(verdict.wrong));
        reportCase(spec, message);
    }
}

//! One launch + full check. Input/output device buffers are large enough for the biggest case.
//! The output elements (without guards) are copied to *outputCopy when it is given.
bool runCase(CaseSpec const& spec, std::vector<unsigned char> const& hostInput, std::vector<double> const& x,
    Expected const& expected, DeviceBuffer const& inputBuffer, DeviceBuffer const& outputBuffer, cudaStream_t stream,
    ErrorStats& stats, std::vector<unsigned char>* outputCopy = nullptr)
{
    size_t const elementSize = spec.info->elementSize;
    bool const inPlace = spec.layout == Layout::kInPlace || spec.layout == Layout::kInPlaceMisaligned;
    bool const inputMisaligned = spec.layout == Layout::kBothMisaligned || spec.layout == Layout::kInputMisaligned;
    bool const outputMisaligned = spec.layout == Layout::kBothMisaligned || spec.layout == Layout::kOutputMisaligned
        || spec.layout == Layout::kInPlaceMisaligned;
    // Output region: guard | [misalignment element] | count elements | guard
    size_t const regionElements = static_cast<size_t>(spec.count + 2 * kGuardElements + 1);
    size_t const outputOffsetElements = static_cast<size_t>(kGuardElements) + (outputMisaligned ? 1 : 0);
    unsigned char* const output = outputBuffer.bytes() + outputOffsetElements * elementSize;
    // In place: the input is copied into the (poisoned) output region and the kernel reads it there.
    unsigned char* const input = inPlace ? output : inputBuffer.bytes() + (inputMisaligned ? elementSize : 0);

    if (!TPB_CUDA_OK(cudaMemsetAsync(outputBuffer.bytes(), kPoisonByte, regionElements * elementSize, stream))
        || !TPB_CUDA_OK(cudaMemcpyAsync(input, hostInput.data(), hostInput.size(), cudaMemcpyHostToDevice, stream)))
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
    std::vector<unsigned char> outputElements(region.begin() + static_cast<std::ptrdiff_t>(outputBegin),
        region.begin() + static_cast<std::ptrdiff_t>(outputEnd));
    Verdict const verdict = checkOutput(*spec.info, outputElements.data(), spec.count, expected);
    stats.merge(verdict.stats);
    if (verdict.wrong > 0)
    {
        ok = false;
        reportWrongElements(spec, verdict, x, outputElements, expected);
    }
    if (outputCopy != nullptr)
    {
        *outputCopy = std::move(outputElements);
    }
    return ok;
}

//! FNV-1a of an output's bytes: in-place and out-of-place runs of one kernel compared bit for bit.
uint64_t outputHash(std::vector<unsigned char> const& bytes)
{
    uint64_t hash = 14695981039346656037ULL;
    for (unsigned char byte : bytes)
    {
        hash = (hash ^ byte) * 1099511628211ULL;
    }
    return hash;
}

//! The out-of-place layout whose run of a kernel an in-place layout must equal bit for bit: the same kernel
//! code on the same values (aligned: the vector path; misaligned: the scalar fallback). A build with the
//! planted slowdown (TPB_PLANTED_SLOWDOWN_PERMILLE) re-does part of the tensor, re-reading only in place.
Layout outOfPlaceTwin(Layout layout)
{
    return layout == Layout::kInPlaceMisaligned ? Layout::kBothMisaligned : Layout::kAligned;
}

// ---- Planted faults: the checker must reject each one ------------------------------------------

//! Bits of a 16-bit element (fp16/bf16).
uint16_t bits16(unsigned char const* element)
{
    uint16_t bits = 0;
    std::memcpy(&bits, element, sizeof(bits));
    return bits;
}

//! One planted fault: prints the verdict, returns true (PASS) when the checker rejected it, i.e. the
//! faulty copy has more wrong elements than the real output (which should have none).
bool reportPlanted(
    DTypeInfo const& info, char const* fault, int64_t planted, Verdict const& clean, Verdict const& faulty)
{
    bool const detected = planted > 0 && faulty.wrong > clean.wrong;
    std::printf("      planted %-5s %-34s %6lld elements changed: %s (%lld wrong, real output %lld)\n", info.name,
        fault, static_cast<long long>(planted), detected ? "detected" : "MISSED", static_cast<long long>(faulty.wrong),
        static_cast<long long>(clean.wrong));
    if (!detected)
    {
        std::fprintf(stderr, "FAIL [%s planted %s]: not detected (%lld elements changed)\n", info.name, fault,
            static_cast<long long>(planted));
    }
    return detected;
}

//! Apply the planted faults of the numerics contract to a copy of a real output (count elements,
//! the random input from makeInput) and record each as PASS when detected.
void checkPlantedFaults(DTypeInfo const& info, std::vector<double> const& x, std::vector<unsigned char> const& output,
    Expected const& expected, Tally& tally)
{
    int64_t const count = static_cast<int64_t>(x.size());
    size_t const size = info.elementSize;
    Verdict const clean = checkOutput(info, output.data(), count, expected);

    // (a) wrong tail: +0 for every x below the dtype's threshold. The random part of the input
    // (between the edge copies) must reach below it, or the fault would only be planted at edges.
    {
        int64_t const nbEdges = static_cast<int64_t>(edgeValues().size());
        int64_t randomBelow = 0;
        int64_t planted = 0;
        std::vector<unsigned char> faulty = output;
        for (int64_t i = 0; i < count; ++i)
        {
            if (x[static_cast<size_t>(i)] < info.wrongTailBelow)
            {
                storeElement(info.dtype, 0.0F, faulty.data() + i * size);
                ++planted;
                randomBelow += (i >= nbEdges && i < count - nbEdges) ? 1 : 0;
            }
        }
        char fault[64];
        std::snprintf(fault, sizeof(fault), "wrong tail (+0 below x=%g)", info.wrongTailBelow);
        std::printf("      %s inputs below %g: %lld random, %lld in all\n", info.name, info.wrongTailBelow,
            static_cast<long long>(randomBelow), static_cast<long long>(planted));
        Verdict const faultyVerdict = checkOutput(info, faulty.data(), count, expected);
        bool const detected = reportPlanted(info, fault, planted, clean, faultyVerdict);
        if (randomBelow == 0)
        {
            std::fprintf(stderr, "FAIL [%s planted wrong tail]: no random input below %g\n", info.name,
                info.wrongTailBelow);
        }
        tally.record(detected && randomBelow > 0);
    }

    if (info.dtype == SwishDataType::kFLOAT)
    {
        // (c) fp32: one element one ulp beyond its bound (a 1-ulp shift is inside the __expf bound).
        // Moved toward zero: the fp32 grid there is at most as coarse as at ref, so rounding the
        // planted value keeps it at least bound + 0.5 ulp away.
        int64_t planted = 0;
        std::vector<unsigned char> faulty = output;
        for (int64_t i = 0; i < count && planted == 0; ++i)
        {
            size_t const e = static_cast<size_t>(i);
            double const ref = expected.ref[e];
            if (std::isfinite(ref) && std::fabs(ref) >= 1.0)
            {
                double const shifted = ref - std::copysign((expected.bound[e] + 1.0) * expected.ulp[e], ref);
                storeElement(info.dtype, static_cast<float>(shifted), faulty.data() + i * size);
                planted = 1;
            }
        }
        tally.record(reportPlanted(
            info, "one element bound + 1 ulp", planted, clean, checkOutput(info, faulty.data(), count, expected)));
    }
    else
    {
        // (b) fp16/bf16: every finite element moved one ulp away from zero (+1 on the magnitude bits).
        uint16_t const exponentMask = info.dtype == SwishDataType::kHALF ? 0x7C00 : 0x7F80;
        int64_t planted = 0;
        std::vector<unsigned char> faulty = output;
        for (int64_t i = 0; i < count; ++i)
        {
            uint16_t const bits = bits16(faulty.data() + i * size);
            if ((bits & exponentMask) != exponentMask)
            {
                uint16_t const moved = static_cast<uint16_t>(bits + 1);
                std::memcpy(faulty.data() + i * size, &moved, sizeof(moved));
                ++planted;
            }
        }
        tally.record(reportPlanted(
            info, "one ulp off (away from zero)", planted, clean, checkOutput(info, faulty.data(), count, expected)));
    }

    // (d) a subnormal result flushed to 0: the subnormal ref farthest from 0 in ulps (the edge values
    // guarantee one: 1e-38 in fp32/bf16, 1e-6 in fp16).
    {
        double const smallestNormal = std::ldexp(1.0, info.minExponent);
        int64_t chosen = -1;
        for (int64_t i = 0; i < count; ++i)
        {
            double const ref = expected.ref[static_cast<size_t>(i)];
            if (std::isfinite(ref) && ref != 0.0 && std::fabs(ref) < smallestNormal
                && (chosen < 0 || std::fabs(ref) > std::fabs(expected.ref[static_cast<size_t>(chosen)])))
            {
                chosen = i;
            }
        }
        std::vector<unsigned char> faulty = output;
        if (chosen >= 0)
        {
            storeElement(info.dtype, 0.0F, faulty.data() + chosen * size);
        }
        tally.record(reportPlanted(info, "subnormal result flushed to 0", chosen >= 0 ? 1 : 0, clean,
            checkOutput(info, faulty.data(), count, expected)));
    }
}

// ---- API checks ----------------------------------------------------------------------------------

//! A kernel the check launches with an invalid configuration to leave a pending launch error.
__global__ void invalidConfigurationKernel() {}

//! launchSwish must not clear an error an earlier, unrelated call left pending (it peeks instead of
//! cudaGetLastError). Before the fix the pending launch error was consumed inside
//! launchSwish and the caller's cudaGetLastError() returned cudaSuccess.
bool checkPendingErrorKept(cudaStream_t stream, DeviceBuffer const& buffer)
{
    constexpr int64_t kCount = 64;
    std::vector<unsigned char> input(static_cast<size_t>(kCount) * sizeof(float));
    for (int64_t i = 0; i < kCount; ++i)
    {
        storeElement(SwishDataType::kFLOAT, static_cast<float>(i) * 0.25F - 8.0F, input.data() + i * sizeof(float));
    }
    if (!TPB_CUDA_OK(cudaMemcpyAsync(buffer.bytes(), input.data(), input.size(), cudaMemcpyHostToDevice, stream))
        || !TPB_CUDA_OK(cudaStreamSynchronize(stream)))
    {
        return false;
    }
    invalidConfigurationKernel<<<1, 4096, 0, stream>>>(); // > 1024 threads per block
    // Which code the runtime gives it differs between versions (CUDA 13 on the H200:
    // cudaErrorInvalidValue): whatever it is, it must still be pending after launchSwish.
    cudaError_t const planted = cudaPeekAtLastError();
    // Its return value reports the pending error as well (documented); only the side effect matters.
    static_cast<void>(tpb::launchSwish(buffer.bytes(), buffer.bytes(), kCount, 1.0F, SwishDataType::kFLOAT,
        SwishKernel::kVECTORIZED_ONESHOT, stream));
    static_cast<void>(cudaStreamSynchronize(stream));
    cudaError_t const pending = cudaGetLastError();
    cudaError_t const afterClear = cudaGetLastError();
    bool const ok = planted != cudaSuccess && pending == planted && afterClear == cudaSuccess;
    if (!ok)
    {
        std::fprintf(stderr, "FAIL [api pending error]: planted %s; cudaGetLastError() after launchSwish = %s, then %s "
                             "(want the planted error, then cudaSuccess)\n",
            cudaGetErrorName(planted), cudaGetErrorName(pending), cudaGetErrorName(afterClear));
    }
    return ok;
}

//! Argument validation of launchSwish (none of these may launch anything), and error reporting.
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
    for (int32_t retired : {tpb::kSwishRetiredSized, tpb::kSwishRetiredWaves})
    {
        tally.record(!tpb::isValidSwishKernel(retired)
            && tpb::launchSwish(data, data, 4, 1.0F, SwishDataType::kHALF, static_cast<SwishKernel>(retired), stream)
                == cudaErrorInvalidValue);
    }
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
    tally.record(checkPendingErrorKept(stream, buffer));
}

// ---- > 2^31 elements, index-dependent input ------------------------------------------------------

// 1 Mi + 5 elements past 2^31: indices that overflow int32 and a count % 8 tail.
constexpr int64_t kLargeCount = (int64_t{1} << 31) + (int64_t{1} << 20) + 5;
constexpr int64_t kLargeWindow = int64_t{1} << 16;
constexpr int32_t kLargeRandomWindows = 8;
constexpr float kLargeBeta = 1.702F;

//! splitmix64 finaliser: integer-only, so host and device agree bit for bit.
__host__ __device__ inline uint64_t mixIndex(uint64_t index)
{
    uint64_t z = index + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

//! x[i] in fp32 before the dtype rounding: 24 hash bits mapped into [-20, 20). One exact int -> float
//! conversion and one multiply (no a*b+c that a compiler could contract into an FMA on one side only).
__host__ __device__ inline float largeInputValue(int64_t index)
{
    int32_t const bits = static_cast<int32_t>(mixIndex(static_cast<uint64_t>(index)) >> 40); // [0, 2^24)
    return static_cast<float>(bits - (1 << 23)) * (20.0F / 8388608.0F);
}

__host__ __device__ inline void encodeValue(float value, float& out)
{
    out = value;
}
__host__ __device__ inline void encodeValue(float value, __half& out)
{
    out = __float2half_rn(value);
}
__host__ __device__ inline void encodeValue(float value, __nv_bfloat16& out)
{
    out = __float2bfloat16_rn(value);
}

template <typename T>
__global__ void fillLargeInput(T* input, int64_t count)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        encodeValue(largeInputValue(i), input[i]);
    }
}

bool launchFill(DTypeInfo const& info, unsigned char* input, int64_t count, cudaStream_t stream)
{
    constexpr int32_t kBlock = 256;
    constexpr unsigned int kGrid = 8192; // grid-stride over the rest
    switch (info.dtype)
    {
    case SwishDataType::kFLOAT:
        fillLargeInput<<<kGrid, kBlock, 0, stream>>>(reinterpret_cast<float*>(input), count);
        break;
    case SwishDataType::kHALF:
        fillLargeInput<<<kGrid, kBlock, 0, stream>>>(reinterpret_cast<__half*>(input), count);
        break;
    case SwishDataType::kBF16:
        fillLargeInput<<<kGrid, kBlock, 0, stream>>>(reinterpret_cast<__nv_bfloat16*>(input), count);
        break;
    }
    return TPB_CUDA_OK(cudaGetLastError());
}

//! Window starts: start, around 2^30 and 2^31, middle, end, then pseudo-random ones (fixed seed).
std::vector<int64_t> largeWindowStarts()
{
    std::vector<int64_t> starts{0, (int64_t{1} << 30) - kLargeWindow / 2, (int64_t{1} << 31) - kLargeWindow / 2,
        kLargeCount / 2, kLargeCount - kLargeWindow};
    std::mt19937_64 generator(20261124);
    std::uniform_int_distribution<int64_t> position(0, kLargeCount - kLargeWindow);
    for (int32_t k = 0; k < kLargeRandomWindows; ++k)
    {
        starts.push_back(position(generator));
    }
    return starts;
}

//! The input (filled once per dtype) and a poisoned output with guard elements after the end.
struct LargeBuffers
{
    DeviceBuffer input{static_cast<size_t>(kLargeCount) * 4};
    DeviceBuffer output{static_cast<size_t>(kLargeCount + kGuardElements) * 4};
};

bool runLargeCase(DTypeInfo const& info, SwishKernel kernel, LargeBuffers const& buffers, cudaStream_t stream,
    ErrorStats& stats)
{
    size_t const size = info.elementSize;
    size_t const bytes = static_cast<size_t>(kLargeCount) * size;
    CaseSpec const spec{&info, kernel, kLargeBeta, kLargeCount, Layout::kAligned};
    if (!TPB_CUDA_OK(cudaMemsetAsync(buffers.output.bytes(), kPoisonByte, bytes + kGuardElements * size, stream))
        || !TPB_CUDA_OK(tpb::launchSwish(
            buffers.input.bytes(), buffers.output.bytes(), kLargeCount, kLargeBeta, info.dtype, kernel, stream))
        || !TPB_CUDA_OK(cudaStreamSynchronize(stream)))
    {
        reportCase(spec, "launch failed");
        return false;
    }
    std::vector<unsigned char> guard(static_cast<size_t>(kGuardElements) * size);
    if (!TPB_CUDA_OK(cudaMemcpy(guard.data(), buffers.output.bytes() + bytes, guard.size(), cudaMemcpyDeviceToHost)))
    {
        return false;
    }
    bool ok = std::all_of(guard.begin(), guard.end(), [](unsigned char b) { return b == kPoisonByte; });
    if (!ok)
    {
        reportCase(spec, "write past the end");
    }

    std::vector<unsigned char> inputWindow(static_cast<size_t>(kLargeWindow) * size);
    std::vector<unsigned char> outputWindow(inputWindow.size());
    for (int64_t start : largeWindowStarts())
    {
        // Host copy of the input window from the same f(i), so the comparison also shows a wrong fill.
        for (int64_t i = 0; i < kLargeWindow; ++i)
        {
            storeElement(info.dtype, largeInputValue(start + i), inputWindow.data() + i * size);
        }
        if (!TPB_CUDA_OK(cudaMemcpy(outputWindow.data(), buffers.output.bytes() + start * static_cast<int64_t>(size),
                outputWindow.size(), cudaMemcpyDeviceToHost)))
        {
            return false;
        }
        std::vector<double> const x = decode(info, inputWindow.data(), kLargeWindow);
        Expected const expected = makeExpected(x, kLargeBeta, info);
        Verdict const verdict = checkOutput(info, outputWindow.data(), kLargeWindow, expected);
        stats.merge(verdict.stats);
        if (verdict.wrong > 0)
        {
            ok = false;
            char message[96];
            std::snprintf(message, sizeof(message), "window at %lld:", static_cast<long long>(start));
            reportCase(spec, message);
            reportWrongElements(spec, verdict, x, outputWindow, expected); // indices within the window
        }
    }
    return ok;
}

void printRow(char const* dtype, char const* what, Tally const& tally)
{
    std::printf("%-5s %-21s %5lld passed %5lld failed  max_err_ulps %-9.3g max_err/bound %.3g\n", dtype, what,
        static_cast<long long>(tally.passed), static_cast<long long>(tally.failed), tally.stats.maxUlps,
        tally.stats.maxRatio);
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

    // Planted faults go on the output of the plugin's default kernel at this size and beta.
    constexpr int64_t kPlantedCount = 4096 + 5;
    constexpr float kPlantedBeta = 1.0F;
    constexpr SwishKernel kPlantedKernel = SwishKernel::kVECTORIZED_ONESHOT;

    std::unique_ptr<LargeBuffers> large;
    if (runLarge)
    {
        large = std::make_unique<LargeBuffers>();
        // A failed allocation is reported (its cases fail below); clear it so that it is not taken
        // for the error of the next launch.
        static_cast<void>(cudaGetLastError());
    }

    for (DTypeInfo const& info : kDTypes)
    {
        std::array<Tally, tpb::kSwishKernelCount> tallies{};
        Tally plantedTally;
        uint32_t seed = 1234;
        for (int64_t count : kSizes)
        {
            std::vector<unsigned char> const hostInput = makeInput(info, count, seed++);
            std::vector<double> const x = decode(info, hostInput.data(), count);
            bool const extraBetas = contains(kExtraBetaSizes, count);
            std::vector<float> betas(kBetas.begin(), kBetas.end());
            if (extraBetas)
            {
                betas.insert(betas.end(), kExtraBetas.begin(), kExtraBetas.end());
            }
            for (float beta : betas)
            {
                bool const isExtraBeta = std::find(kBetas.begin(), kBetas.end(), beta) == kBetas.end();
                Expected const expected = makeExpected(x, beta, info);
                std::vector<Layout> const layouts = layoutsFor(count, beta, isExtraBeta);
                bool const inPlaceRuns = std::find(layouts.begin(), layouts.end(), Layout::kInPlace) != layouts.end();
                // the out-of-place outputs' hashes, per layout (aligned, both misaligned) and kernel
                std::array<std::array<uint64_t, tpb::kSwishKernelCount>, 2> outOfPlaceHash{};
                for (Layout layout : layouts)
                {
                    bool const inPlace = layout == Layout::kInPlace || layout == Layout::kInPlaceMisaligned;
                    bool const twin = inPlaceRuns && (layout == Layout::kAligned || layout == Layout::kBothMisaligned);
                    for (SwishKernel kernel : kKernels)
                    {
                        CaseSpec const spec{&info, kernel, beta, count, layout};
                        bool const planted = count == kPlantedCount && beta == kPlantedBeta
                            && layout == Layout::kAligned && kernel == kPlantedKernel;
                        std::vector<unsigned char> output;
                        Tally& tally = tallies[static_cast<size_t>(kernel)];
                        bool ok = runCase(spec, hostInput, x, expected, inputBuffer, outputBuffer, stream.get(),
                            tally.stats, planted || twin || (inPlaceRuns && inPlace) ? &output : nullptr);
                        size_t const slot = static_cast<size_t>(kernel);
                        if (twin)
                        {
                            outOfPlaceHash[layout == Layout::kAligned ? 0 : 1][slot] = outputHash(output);
                        }
                        else if (inPlaceRuns && inPlace && !output.empty()
                            && outputHash(output)
                                != outOfPlaceHash[outOfPlaceTwin(layout) == Layout::kAligned ? 0 : 1][slot])
                        {
                            reportCase(spec, "output differs bit for bit from the same kernel's out-of-place output");
                            ok = false;
                        }
                        tally.record(ok);
                        if (planted)
                        {
                            checkPlantedFaults(info, x, output, expected, plantedTally);
                        }
                    }
                }
            }
        }
        if (large != nullptr)
        {
            bool const filled = large->input.valid() && large->output.valid()
                && launchFill(info, large->input.bytes(), kLargeCount, stream.get())
                && TPB_CUDA_OK(cudaStreamSynchronize(stream.get()));
            for (SwishKernel kernel : kKernels)
            {
                Tally& tally = tallies[static_cast<size_t>(kernel)];
                tally.record(filled && runLargeCase(info, kernel, *large, stream.get(), tally.stats));
            }
        }
        for (SwishKernel kernel : kKernels)
        {
            Tally const& tally = tallies[static_cast<size_t>(kernel)];
            printRow(info.name, tpb::swishKernelName(kernel), tally);
            totalPassed += tally.passed;
            totalFailed += tally.failed;
        }
        std::printf("%-5s %-21s %5lld passed %5lld failed\n", info.name, "planted faults",
            static_cast<long long>(plantedTally.passed), static_cast<long long>(plantedTally.failed));
        totalPassed += plantedTally.passed;
        totalFailed += plantedTally.failed;
    }

    std::printf("swish_kernel_check: %lld passed, %lld failed\n", static_cast<long long>(totalPassed),
        static_cast<long long>(totalFailed));
    return totalFailed == 0 ? 0 : 1;
}
