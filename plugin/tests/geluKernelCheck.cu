// Standalone correctness check of the GELU kernels (pure CUDA, no TensorRT), after swishKernelCheck.cu.
//
// For every dtype x form (erf, tanh) x kernel variant (all of geluKernels.def, read through
// kGeluKernelCount / geluKernelName) it runs random and edge-value inputs over a range of sizes (zero,
// odd sizes, every tail length), with aligned and misaligned pointers, in place, on a non-default
// stream, and compares against the float64 reference computed from the dtype-rounded input:
//   erf form  x Phi(x) = x erfc(-x / sqrt 2) / 2,
//   tanh form 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2 / pi) (x + 0.044715 x^3).
// Outputs (and guard regions around them) are poisoned before each launch so that unwritten or
// out-of-range writes are detected. The comparison is the numerics contract of geluKernel.cu, shared
// with the Python check (ops/gelu/gelu.py: gelu_ulp_bound): error in ulps of the output dtype, the ulp
// floored at the subnormal spacing, so a flushed subnormal result fails. Planted faults (a wrong tail,
// one ulp off, one element beyond its bound, a flushed subnormal) are applied to a real kernel output on
// every run and must be rejected. Exit code 0 only if every check passes.
//
// Usage: gelu_kernel_check [--large]
//   --large  additionally runs 2^31 + 2^20 + 5 elements per dtype x kernel (erf form; needs ~17 GB of
//            device memory) to exercise 64-bit indexing, windows compared as swish_kernel_check does.
#include "cudaCheck.h"
#include "geluKernel.h"

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

using tpb::GeluApproximation;
using GeluDataType = tpb::GeluDataType;
using tpb::GeluKernel;

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

// ---- Numerics contract (identical constants in ops/gelu/gelu.py) ---------------------------------
//   err_ulps = |got - ref| / ulp_d(ref),  ulp_d(v) = 2^(max(floor(log2 |v|), EMIN_d) - P_d)
//   pass iff err_ulps <= bound:
//     fp16 / bf16 (both forms): 1.0 (fp32 compute, then one round-to-nearest)
//     fp32 erf form: kFp32ErfUlps (geluKernel.cu: the fitted erfcx polynomial, its Horner roundings,
//       rcp.approx's ulp in s, expf's 2 ulps, emulated with the worst signs of each: plugin/scripts/
//       gelu_erfcx_fit.py)
//     fp32 tanh form: 4 + (4 + 5 |z|) (1 - sigmoid(z)), z = 2u (Swish's model, z for beta x: t's
//       relative error of ~4 units of 2^-24 reaches exp(-z) multiplied by |z|, and sigmoid(z) scaled by
//       1 - sigmoid(z); doubled into output ulps)
//   NaN ref <-> NaN got; inf ref -> got == ref; finite ref with non-finite got fails.

struct DTypeInfo
{
    GeluDataType dtype;
    char const* name;
    size_t elementSize;
    int32_t precisionBits; //!< P: explicit significand bits
    int32_t minExponent;   //!< EMIN: exponent of the smallest normal
    //! Planted "wrong tail" fault: +0 for every x below this (where the result is still many ulps
    //! above the floor, so zeroing it must be caught).
    double wrongTailBelow;
};

constexpr std::array<DTypeInfo, 3> kDTypes{{
    {GeluDataType::kFLOAT, "fp32", 4, 23, -126, -8.0},
    {GeluDataType::kHALF, "fp16", 2, 10, -14, -3.0},
    {GeluDataType::kBF16, "bf16", 2, 7, -126, -8.0},
}};

constexpr double kHalfBoundUlps = 1.0;
constexpr double kFp32ErfUlps = 16.0;
constexpr double kFp32TanhBaseUlps = 4.0;
constexpr double kFp32TanhExpUlps = 4.0;
constexpr double kFp32TanhSlopeUlps = 5.0;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

//! ulp of v in the dtype, floored at the subnormal spacing (v == 0 -> the floor).
double ulpOf(double v, DTypeInfo const& info)
{
    int32_t const exponent = v == 0.0 ? info.minExponent : std::max(std::ilogb(v), info.minExponent);
    return std::ldexp(1.0, exponent - info.precisionBits);
}

//! z = 2u of the tanh form.
double tanhZ(double x)
{
    return 2.0 * kSqrt2OverPi * (x + 0.044715 * x * x * x);
}

//! Bound in ulps for input x (finite).
double boundUlps(double x, GeluApproximation form, DTypeInfo const& info)
{
    if (info.dtype != GeluDataType::kFLOAT)
    {
        return kHalfBoundUlps;
    }
    if (form == GeluApproximation::kERF)
    {
        return kFp32ErfUlps;
    }
    double const z = tanhZ(x);
    // 1 - sigmoid(z) = 1 / (1 + e^z): 0 for huge positive z (e^z = inf), 1 for huge negative.
    return kFp32TanhBaseUlps + (kFp32TanhExpUlps + kFp32TanhSlopeUlps * std::fabs(z)) / (1.0 + std::exp(z));
}

double referenceGelu(double x, GeluApproximation form)
{
    if (form == GeluApproximation::kERF)
    {
        // x Phi(x) through erfc: no cancellation for x < 0. x = -inf gives -inf * 0 = NaN (the kernels match).
        return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    }
    // x sigmoid(2u) = 0.5 x (1 + tanh(u)); x = -inf: -inf / inf = NaN.
    return x / (1.0 + std::exp(-tanhZ(x)));
}

//! Reference, its ulp and the bound of every element of one input in one form.
struct Expected
{
    std::vector<double> ref;
    std::vector<double> ulp;
    std::vector<double> bound;
};

Expected makeExpected(std::vector<double> const& x, GeluApproximation form, DTypeInfo const& info)
{
    Expected expected;
    expected.ref.resize(x.size());
    expected.ulp.resize(x.size());
    expected.bound.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i)
    {
        double const ref = referenceGelu(x[i], form);
        expected.ref[i] = ref;
        expected.ulp[i] = std::isfinite(ref) ? ulpOf(ref, info) : 1.0;
        expected.bound[i] = std::isfinite(x[i]) ? boundUlps(x[i], form, info) : 0.0;
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
void storeElement(GeluDataType dtype, float value, unsigned char* destination)
{
    switch (dtype)
    {
    case GeluDataType::kFLOAT: std::memcpy(destination, &value, sizeof(float)); return;
    case GeluDataType::kHALF:
    {
        __half const h = __float2half_rn(value);
        std::memcpy(destination, &h, sizeof(h));
        return;
    }
    case GeluDataType::kBF16:
    {
        __nv_bfloat16 const b = __float2bfloat16_rn(value);
        std::memcpy(destination, &b, sizeof(b));
        return;
    }
    }
}

double loadElement(GeluDataType dtype, unsigned char const* source)
{
    switch (dtype)
    {
    case GeluDataType::kFLOAT:
    {
        float f = 0.0F;
        std::memcpy(&f, source, sizeof(f));
        return f;
    }
    case GeluDataType::kHALF:
    {
        __half h;
        std::memcpy(&h, source, sizeof(h));
        return __half2float(h);
    }
    case GeluDataType::kBF16:
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
// subnormals (1e-38 is 0 in fp16), the erf form's cancellation region (x < -3: 1 + erf cancels), the
// subnormal results of fp32 (x ~ -13.1 .. -14.2 erf, -9 .. -10 tanh), the tanh form's far tail (z < -80),
// fp16's large range, huge values (x^2 and x^3 overflow), infinities and NaN.
std::vector<float> edgeValues()
{
    float const inf = std::numeric_limits<float>::infinity();
    return {0.0F, -0.0F, 1e-38F, -1e-38F, 1e-6F, -1e-6F, 1.0F, -1.0F, 3.0F, -3.0F, -5.5F, -9.5F, -10.0F, -10.3F, -13.1F,
        -13.5F, -14.0F, -20.0F, 60000.0F, -60000.0F, 1e30F, -1e30F, inf, -inf, std::numeric_limits<float>::quiet_NaN()};
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

//! Every variant of geluKernels.def, by id (the kernel check sees exactly what the library ships).
std::vector<GeluKernel> allKernels()
{
    std::vector<GeluKernel> kernels;
    for (int32_t id = 0; id < tpb::kGeluKernelCount; ++id)
    {
        kernels.push_back(static_cast<GeluKernel>(id));
    }
    return kernels;
}

char const* kernelName(GeluKernel kernel)
{
    char const* const name = tpb::geluKernelName(static_cast<int32_t>(kernel));
    return name == nullptr ? "?" : name;
}

char const* formName(GeluApproximation form)
{
    return form == GeluApproximation::kERF ? "erf" : "tanh";
}

// Every size and layout runs in both forms.
constexpr std::array<GeluApproximation, 2> kForms{GeluApproximation::kERF, GeluApproximation::kTANH};

// Small sizes hit the scalar tail (count % elements-per-16B) and partially filled blocks; the
// larger ones the unrolled main loop and the grid-stride loop.
constexpr std::array<int64_t, 10> kSizes{0, 1, 3, 7, 8, 9, 1023, 4096 + 5, (1 << 20) + 3, 3000017};

// Misaligned runs (offset by one element) use only sizes up to this, to keep the run short.
constexpr int64_t kMaxMisalignedSize = (1 << 20) + 3;

// In-place runs (input == output), tanh form, aligned and misaligned.
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

//! The layouts run for one (count, form).
std::vector<Layout> layoutsFor(int64_t count, GeluApproximation form)
{
    std::vector<Layout> layouts{Layout::kAligned};
    if (count <= kMaxMisalignedSize)
    {
        layouts.insert(layouts.end(), {Layout::kBothMisaligned, Layout::kOutputMisaligned, Layout::kInputMisaligned});
    }
    if (form == GeluApproximation::kTANH && contains(kInPlaceSizes, count))
    {
        layouts.insert(layouts.end(), {Layout::kInPlace, Layout::kInPlaceMisaligned});
    }
    return layouts;
}

struct CaseSpec
{
    DTypeInfo const* info;
    GeluKernel kernel;
    GeluApproximation form;
    int64_t count;
    Layout layout;
};

void reportCase(CaseSpec const& spec, char const* what)
{
    std::fprintf(stderr, "FAIL [%s %s %s n=%lld %s]: %s\n", spec.info->name, formName(spec.form),
        kernelName(spec.kernel), static_cast<long long>(spec.count), layoutName(spec.layout), what);
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
        = tpb::launchGelu(input, output, spec.count, spec.form, spec.info->dtype, spec.kernel, stream);
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

    if (info.dtype == GeluDataType::kFLOAT)
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
        uint16_t const exponentMask = info.dtype == GeluDataType::kHALF ? 0x7C00 : 0x7F80;
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

//! launchGelu must not clear an error an earlier, unrelated call left pending (it peeks instead of
//! cudaGetLastError). Before the fix the pending launch error was consumed inside
//! launchGelu and the caller's cudaGetLastError() returned cudaSuccess.
bool checkPendingErrorKept(cudaStream_t stream, DeviceBuffer const& buffer)
{
    constexpr int64_t kCount = 64;
    std::vector<unsigned char> input(static_cast<size_t>(kCount) * sizeof(float));
    for (int64_t i = 0; i < kCount; ++i)
    {
        storeElement(GeluDataType::kFLOAT, static_cast<float>(i) * 0.25F - 8.0F, input.data() + i * sizeof(float));
    }
    if (!TPB_CUDA_OK(cudaMemcpyAsync(buffer.bytes(), input.data(), input.size(), cudaMemcpyHostToDevice, stream))
        || !TPB_CUDA_OK(cudaStreamSynchronize(stream)))
    {
        return false;
    }
    invalidConfigurationKernel<<<1, 4096, 0, stream>>>(); // > 1024 threads per block
    // Which code the runtime gives it differs between versions (CUDA 13 on the H200:
    // cudaErrorInvalidValue): whatever it is, it must still be pending after launchGelu.
    cudaError_t const planted = cudaPeekAtLastError();
    // Its return value reports the pending error as well (documented); only the side effect matters.
    static_cast<void>(tpb::launchGelu(buffer.bytes(), buffer.bytes(), kCount, GeluApproximation::kERF,
        GeluDataType::kFLOAT, GeluKernel::kVECTORIZED_ONESHOT, stream));
    static_cast<void>(cudaStreamSynchronize(stream));
    cudaError_t const pending = cudaGetLastError();
    cudaError_t const afterClear = cudaGetLastError();
    bool const ok = planted != cudaSuccess && pending == planted && afterClear == cudaSuccess;
    if (!ok)
    {
        std::fprintf(stderr, "FAIL [api pending error]: planted %s; cudaGetLastError() after launchGelu = %s, then %s "
                             "(want the planted error, then cudaSuccess)\n",
            cudaGetErrorName(planted), cudaGetErrorName(pending), cudaGetErrorName(afterClear));
    }
    return ok;
}

//! Argument validation of launchGelu (none of these may launch anything), and error reporting.
void checkInvalidArguments(Tally& tally, cudaStream_t stream, DeviceBuffer const& buffer)
{
    void* const data = buffer.bytes();
    GeluApproximation const erf = GeluApproximation::kERF;
    tally.record(tpb::launchGelu(data, data, -1, erf, GeluDataType::kFLOAT, GeluKernel::kNAIVE, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(nullptr, data, 4, erf, GeluDataType::kFLOAT, GeluKernel::kVECTORIZED_ONESHOT, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(data, nullptr, 4, erf, GeluDataType::kHALF, GeluKernel::kVECTORIZED_ONESHOT, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(nullptr, nullptr, 0, erf, GeluDataType::kBF16, GeluKernel::kNAIVE, stream)
        == cudaSuccess);
    tally.record(tpb::launchGelu(data, data, 4, erf, static_cast<GeluDataType>(7), GeluKernel::kNAIVE, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(data, data, 4, static_cast<GeluApproximation>(2), GeluDataType::kFLOAT,
                     GeluKernel::kNAIVE, stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(data, data, 4, erf, GeluDataType::kFLOAT, static_cast<GeluKernel>(tpb::kGeluKernelCount),
                     stream)
        == cudaErrorInvalidValue);
    tally.record(tpb::launchGelu(data, data, 4, erf, GeluDataType::kFLOAT, static_cast<GeluKernel>(-1), stream)
        == cudaErrorInvalidValue);
    // names: one per id, distinct, "naive" first; none past the end
    bool namesOk = std::string(kernelName(GeluKernel::kNAIVE)) == "naive"
        && tpb::geluKernelName(tpb::kGeluKernelCount) == nullptr && tpb::geluKernelName(-1) == nullptr;
    for (int32_t i = 0; i < tpb::kGeluKernelCount; ++i)
    {
        for (int32_t j = 0; j < i; ++j)
        {
            namesOk = namesOk && tpb::geluKernelName(i) != nullptr
                && std::string(tpb::geluKernelName(i)) != tpb::geluKernelName(j);
        }
    }
    tally.record(namesOk);
    tally.record(TPB_CUDA_OK(cudaGetLastError()));
    tally.record(checkPendingErrorKept(stream, buffer));
}

// ---- > 2^31 elements, index-dependent input ------------------------------------------------------

// 1 Mi + 5 elements past 2^31: indices that overflow int32 and a count % 8 tail.
constexpr int64_t kLargeCount = (int64_t{1} << 31) + (int64_t{1} << 20) + 5;
constexpr int64_t kLargeWindow = int64_t{1} << 16;
constexpr int32_t kLargeRandomWindows = 8;
constexpr GeluApproximation kLargeForm = GeluApproximation::kERF;

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
    case GeluDataType::kFLOAT:
        fillLargeInput<<<kGrid, kBlock, 0, stream>>>(reinterpret_cast<float*>(input), count);
        break;
    case GeluDataType::kHALF:
        fillLargeInput<<<kGrid, kBlock, 0, stream>>>(reinterpret_cast<__half*>(input), count);
        break;
    case GeluDataType::kBF16:
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

bool runLargeCase(DTypeInfo const& info, GeluKernel kernel, LargeBuffers const& buffers, cudaStream_t stream,
    ErrorStats& stats)
{
    size_t const size = info.elementSize;
    size_t const bytes = static_cast<size_t>(kLargeCount) * size;
    CaseSpec const spec{&info, kernel, kLargeForm, kLargeCount, Layout::kAligned};
    if (!TPB_CUDA_OK(cudaMemsetAsync(buffers.output.bytes(), kPoisonByte, bytes + kGuardElements * size, stream))
        || !TPB_CUDA_OK(tpb::launchGelu(
            buffers.input.bytes(), buffers.output.bytes(), kLargeCount, kLargeForm, info.dtype, kernel, stream))
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
        Expected const expected = makeExpected(x, kLargeForm, info);
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
    std::printf("%-5s %-32s %5lld passed %5lld failed  max_err_ulps %-9.3g max_err/bound %.3g\n", dtype, what,
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
        std::printf("gelu_kernel_check: 0 passed, 1 failed\n");
        return 1;
    }

    int64_t const maxCount = kSizes.back();
    size_t const maxElementSize = 4;
    DeviceBuffer inputBuffer(static_cast<size_t>(maxCount + 1) * maxElementSize);
    DeviceBuffer outputBuffer(static_cast<size_t>(maxCount + 2 * kGuardElements + 1) * maxElementSize);
    if (!inputBuffer.valid() || !outputBuffer.valid())
    {
        std::printf("gelu_kernel_check: 0 passed, 1 failed\n");
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

    // Planted faults go on the output of the plugin's default kernel at this size, in both forms.
    constexpr int64_t kPlantedCount = 4096 + 5;
    constexpr GeluKernel kPlantedKernel = GeluKernel::kVECTORIZED_ONESHOT;
    std::vector<GeluKernel> const kernels = allKernels();

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
        std::vector<Tally> tallies(static_cast<size_t>(tpb::kGeluKernelCount) * kForms.size());
        auto tallyOf = [&tallies](GeluKernel kernel, GeluApproximation form) -> Tally&
        { return tallies[static_cast<size_t>(kernel) * kForms.size() + static_cast<size_t>(form)]; };
        Tally plantedTally;
        uint32_t seed = 1234;
        for (int64_t count : kSizes)
        {
            std::vector<unsigned char> const hostInput = makeInput(info, count, seed++);
            std::vector<double> const x = decode(info, hostInput.data(), count);
            for (GeluApproximation form : kForms)
            {
                Expected const expected = makeExpected(x, form, info);
                for (Layout layout : layoutsFor(count, form))
                {
                    for (GeluKernel kernel : kernels)
                    {
                        CaseSpec const spec{&info, kernel, form, count, layout};
                        bool const planted
                            = count == kPlantedCount && layout == Layout::kAligned && kernel == kPlantedKernel;
                        std::vector<unsigned char> output;
                        Tally& tally = tallyOf(kernel, form);
                        tally.record(runCase(spec, hostInput, x, expected, inputBuffer, outputBuffer, stream.get(),
                            tally.stats, planted ? &output : nullptr));
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
            for (GeluKernel kernel : kernels)
            {
                Tally& tally = tallyOf(kernel, kLargeForm);
                tally.record(filled && runLargeCase(info, kernel, *large, stream.get(), tally.stats));
            }
        }
        for (GeluApproximation form : kForms)
        {
            for (GeluKernel kernel : kernels)
            {
                Tally const& tally = tallyOf(kernel, form);
                char label[48];
                std::snprintf(label, sizeof(label), "%s %s", formName(form), kernelName(kernel));
                printRow(info.name, label, tally);
                totalPassed += tally.passed;
                totalFailed += tally.failed;
            }
        }
        std::printf("%-5s %-21s %5lld passed %5lld failed\n", info.name, "planted faults",
            static_cast<long long>(plantedTally.passed), static_cast<long long>(plantedTally.failed));
        totalPassed += plantedTally.passed;
        totalFailed += plantedTally.failed;
    }

    std::printf("gelu_kernel_check: %lld passed, %lld failed\n", static_cast<long long>(totalPassed),
        static_cast<long long>(totalFailed));
    return totalFailed == 0 ? 0 : 1;
}
