// Probe (an experiment, not the product): time every row-norm kernel variant on the direct path (no
// TensorRT), cold L2, CUDA events, against a copy of the same byte count timed the same way (the ceiling).
// For LayerNorm and residual-add + RMSNorm x {fp32, fp16} x hidden {1024, 4096, 8192} x x of 256 MiB and
// 32 MiB: every id of the operator's one table (layerNormKernels.def, residualRmsNormKernels.def) and the
// probe's own shapes (x_...: rowNormProbe*.cu), interleaved round by round in a rotating order so that clock
// and thermal drift hit them alike; median of --samples samples (default 25) after two warm-up rounds.
//
// Cold, as the pipeline's cold mode (timing.l2_flush: clean, cuda_utils.L2Flush): before every sample a
// read of a buffer of 4x the L2 (it stores nothing), so the L2 holds neither the tensors nor dirty lines.
// Bytes by the cost models (ops/layer_norm, ops/residual_rms_norm): LayerNorm (2 N + 2 H) x item,
// residual RMSNorm (4 N + H) x item. The copy moves half of that in and half out: copy_b256 and copy_b1024
// (one 16-byte vector a thread, one-shot grids); pct_of_copy is against the faster of the two.
// Every variant's outputs (y; y and h) are checked against the naive kernel's on the same data, the
// outputs poisoned (NaN) before the checked launch: max_abs_diff, and check = ok / FAIL (fp32 <= 1e-4,
// fp16 <= 2^-6: a few ulps of |y| <= 8; a wrong or unwritten output is orders above).
//
//   row_norm_variant_probe [--samples N] [--max-mib M]     CSV on stdout, "best" lines at the end
//   row_norm_variant_probe --list                           the variant names
#include "rowNormProbe.h"

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace
{

using tpb::RowNormDataType;
using tpb::probe::RowArgs;
using tpb::probe::RowVariant;

#define PROBE_CHECK(call)                                                                                         \
    do                                                                                                             \
    {                                                                                                              \
        cudaError_t const probeStatus = (call);                                                                    \
        if (probeStatus != cudaSuccess)                                                                            \
        {                                                                                                          \
            std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(probeStatus));    \
            std::exit(2);                                                                                          \
        }                                                                                                          \
    } while (0)

constexpr int64_t kMiB = int64_t{1} << 20;

// the clean flush: a read of the whole buffer (memset to 0x5A: every 16-byte word XORs to 0, so the sink is
// never written; the compiler cannot know)
__global__ void readFlushKernel(uint4 const* buffer, int64_t vectors, uint32_t* sink)
{
    uint32_t acc = 0;
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectors; i += stride)
    {
        uint4 const v = buffer[i];
        acc |= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc != 0U)
    {
        sink[0] = acc;
    }
}

template <int32_t kBlock>
__global__ void __launch_bounds__(kBlock) copyKernel(uint4 const* in, uint4* out, int64_t vectors)
{
    int64_t const i = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
    if (i < vectors)
    {
        out[i] = in[i];
    }
}

__device__ __forceinline__ uint32_t hashIndex(int64_t i, uint32_t salt)
{
    uint32_t h = static_cast<uint32_t>(i) * 2654435761U ^ static_cast<uint32_t>(i >> 32) * 40503U ^ salt;
    h ^= h >> 15;
    h *= 2246822519U;
    h ^= h >> 13;
    h *= 3266489917U;
    h ^= h >> 16;
    return h;
}

// uniform in [lo, hi) plus, per row of `hidden`, an offset of up to +-rowShift (rows with a mean)
template <typename T>
__global__ void fillKernel(T* data, int64_t count, int64_t hidden, float lo, float hi, float rowShift, uint32_t salt)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        float const u = static_cast<float>(hashIndex(i, salt) >> 8) * (1.0F / 16777216.0F);
        float const shift = static_cast<float>(hashIndex(i / hidden, salt ^ 0x5bd1e995U) >> 8) * (2.0F / 16777216.0F) - 1.0F;
        data[i] = static_cast<T>(lo + (hi - lo) * u + rowShift * shift);
    }
}

__device__ __forceinline__ float asFloat(float v)
{
    return v;
}
__device__ __forceinline__ float asFloat(__half v)
{
    return __half2float(v);
}

// max |a - b| as float bits (non-negative floats order as their bits); one NaN side: +inf
template <typename T>
__global__ void maxAbsDiffKernel(T const* a, T const* b, int64_t count, uint32_t* result)
{
    float worst = 0.0F;
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        float const x = asFloat(a[i]);
        float const y = asFloat(b[i]);
        float const d = (std::isnan(x) || std::isnan(y)) ? (std::isnan(x) && std::isnan(y) ? 0.0F : INFINITY)
                                                         : fabsf(x - y);
        worst = fmaxf(worst, d);
    }
    atomicMax(result, __float_as_uint(worst));
}

struct Arena
{
    void* p{nullptr};
    explicit Arena(int64_t bytes)
    {
        PROBE_CHECK(cudaMalloc(&p, static_cast<size_t>(bytes)));
    }
    ~Arena()
    {
        cudaFree(p);
    }
    Arena(Arena const&) = delete;
    Arena& operator=(Arena const&) = delete;
    unsigned char* b() const
    {
        return static_cast<unsigned char*>(p);
    }
};

struct Timed
{
    std::string name;
    std::function<void(cudaStream_t)> launch;
    bool isCopy{false};
};

char const* dtypeName(RowNormDataType dtype)
{
    return dtype == RowNormDataType::kFLOAT ? "fp32" : "fp16";
}

struct Best
{
    std::string variant;
    double pctLarge{0.0};
};

template <typename T>
void fill(T* data, int64_t count, int64_t hidden, float lo, float hi, float shift, uint32_t salt, cudaStream_t s)
{
    fillKernel<T><<<2048, 256, 0, s>>>(data, count, hidden, lo, hi, shift, salt);
    PROBE_CHECK(cudaPeekAtLastError());
}

template <typename T>
double maxAbsDiff(void const* a, void const* b, int64_t count, uint32_t* result, cudaStream_t s)
{
    PROBE_CHECK(cudaMemsetAsync(result, 0, sizeof(uint32_t), s));
    maxAbsDiffKernel<T><<<1024, 256, 0, s>>>(static_cast<T const*>(a), static_cast<T const*>(b), count, result);
    PROBE_CHECK(cudaPeekAtLastError());
    uint32_t bits = 0;
    PROBE_CHECK(cudaMemcpyAsync(&bits, result, sizeof(bits), cudaMemcpyDeviceToHost, s));
    PROBE_CHECK(cudaStreamSynchronize(s));
    float v = 0.0F;
    std::memcpy(&v, &bits, sizeof(v));
    return v;
}

struct Buffers
{
    int64_t tensorBytes; // the largest x
    Arena in, out, ref, weights, flush;
    uint32_t* sink{nullptr};
    int64_t flushVectors;
    Buffers(int64_t maxTensorBytes, int64_t flushBytes)
        : tensorBytes(maxTensorBytes)
        , in(2 * maxTensorBytes + kMiB)
        , out(2 * maxTensorBytes + kMiB)
        , ref(2 * maxTensorBytes + kMiB)
        , weights(2 * kMiB)
        , flush(flushBytes)
        , flushVectors(flushBytes / 16)
    {
        PROBE_CHECK(cudaMalloc(reinterpret_cast<void**>(&sink), 256));
        PROBE_CHECK(cudaMemset(flush.p, 0x5A, static_cast<size_t>(flushBytes)));
    }
    ~Buffers()
    {
        cudaFree(sink);
    }
};

template <typename T>
void sweep(bool rms, RowNormDataType dtype, Buffers& buf, std::vector<int64_t> const& sizes, int32_t samples,
    cudaStream_t stream, std::map<std::string, Best>& best)
{
    char const* op = rms ? "residual_rms_norm" : "layer_norm";
    int64_t const item = static_cast<int64_t>(sizeof(T));
    std::vector<RowVariant> const variants
        = rms ? tpb::probe::residualRmsNormVariants(dtype) : tpb::probe::layerNormVariants(dtype);
    for (int64_t hidden : {int64_t{1024}, int64_t{4096}, int64_t{8192}})
    {
        for (int64_t xBytes : sizes)
        {
            int64_t const rows = xBytes / (hidden * item);
            int64_t const n = rows * hidden;
            int64_t const nBytes = n * item;
            RowArgs a;
            a.rows = rows;
            a.hidden = hidden;
            a.eps = 1.0e-5F;
            a.x = buf.in.b();
            a.r = buf.in.b() + nBytes; // x and r side by side (16-byte aligned: nBytes is)
            a.gamma = buf.weights.b();
            a.beta = buf.weights.b() + kMiB;
            a.y = buf.out.b();
            a.h = buf.out.b() + nBytes;
            fill<T>(static_cast<T*>(const_cast<void*>(a.x)), n, hidden, -4.0F, 4.0F, 2.0F, 11U, stream);
            fill<T>(static_cast<T*>(const_cast<void*>(a.r)), n, hidden, -2.0F, 2.0F, 0.0F, 23U, stream);
            fill<T>(static_cast<T*>(const_cast<void*>(a.gamma)), hidden, hidden, 0.5F, 1.5F, 0.0F, 37U, stream);
            fill<T>(static_cast<T*>(const_cast<void*>(a.beta)), hidden, hidden, -0.5F, 0.5F, 0.0F, 41U, stream);
            int64_t const costBytes = rms ? (4 * n + hidden) * item : (2 * n + 2 * hidden) * item;
            int64_t const copyVectors = costBytes / 2 / 16;
            // a variant that cannot launch here (an error the launch returns) is reported and left out, so
            // one bad shape does not cost the run; an error inside a kernel is sticky and ends the probe
            std::vector<Timed> timed;
            std::vector<size_t> variantOf; // timed index -> variants index
            for (size_t i = 0; i < variants.size(); ++i)
            {
                RowVariant const copy = variants[i];
                cudaError_t const status = copy.launch(a, stream);
                if (status != cudaSuccess)
                {
                    std::printf("%s,%s,%lld,%lld,%s,,%lld,,,,LAUNCH_ERROR %s\n", op, dtypeName(dtype),
                        static_cast<long long>(hidden), static_cast<long long>(rows), copy.name.c_str(),
                        static_cast<long long>(costBytes), cudaGetErrorString(status));
                    continue;
                }
                timed.push_back({copy.name, [copy, a](cudaStream_t s) { PROBE_CHECK(copy.launch(a, s)); }, false});
                variantOf.push_back(i);
            }
            PROBE_CHECK(cudaStreamSynchronize(stream));
            uint4 const* copyIn = reinterpret_cast<uint4 const*>(buf.in.b());
            uint4* copyOut = reinterpret_cast<uint4*>(buf.out.b());
            timed.push_back({"copy_b256", [=](cudaStream_t s) {
                                 copyKernel<256><<<static_cast<unsigned>((copyVectors + 255) / 256), 256, 0, s>>>(
                                     copyIn, copyOut, copyVectors);
                                 PROBE_CHECK(cudaPeekAtLastError());
                             },
                true});
            timed.push_back({"copy_b1024", [=](cudaStream_t s) {
                                 copyKernel<1024><<<static_cast<unsigned>((copyVectors + 1023) / 1024), 1024, 0, s>>>(
                                     copyIn, copyOut, copyVectors);
                                 PROBE_CHECK(cudaPeekAtLastError());
                             },
                true});
            std::vector<std::vector<float>> times(timed.size());
            std::vector<cudaEvent_t> events(2 * timed.size());
            for (cudaEvent_t& e : events)
            {
                PROBE_CHECK(cudaEventCreate(&e));
            }
            for (int32_t s = -2; s < samples; ++s) // two warm-up rounds
            {
                for (size_t i = 0; i < timed.size(); ++i)
                {
                    size_t const v = (i + static_cast<size_t>(s + 2)) % timed.size(); // rotate the order
                    readFlushKernel<<<1056, 512, 0, stream>>>(
                        static_cast<uint4 const*>(buf.flush.p), buf.flushVectors, buf.sink);
                    PROBE_CHECK(cudaEventRecord(events[2 * v], stream));
                    timed[v].launch(stream);
                    PROBE_CHECK(cudaEventRecord(events[2 * v + 1], stream));
                }
                PROBE_CHECK(cudaStreamSynchronize(stream));
                if (s < 0)
                {
                    continue;
                }
                for (size_t v = 0; v < timed.size(); ++v)
                {
                    float ms = 0.0F;
                    PROBE_CHECK(cudaEventElapsedTime(&ms, events[2 * v], events[2 * v + 1]));
                    times[v].push_back(ms * 1000.0F);
                }
            }
            for (cudaEvent_t e : events)
            {
                cudaEventDestroy(e);
            }
            std::vector<double> median(timed.size());
            double bestCopyUs = 1e30;
            for (size_t v = 0; v < timed.size(); ++v)
            {
                std::vector<float> t = times[v];
                std::sort(t.begin(), t.end());
                median[v] = t[t.size() / 2];
                if (timed[v].isCopy)
                {
                    bestCopyUs = std::min(bestCopyUs, median[v]);
                }
            }
            // the check: naive (index 0) into ref, every variant into out (poisoned first), max |diff|
            RowArgs refArgs = a;
            refArgs.y = buf.ref.b();
            refArgs.h = buf.ref.b() + nBytes;
            PROBE_CHECK(cudaMemsetAsync(buf.ref.p, 0xFF, static_cast<size_t>(2 * nBytes), stream));
            PROBE_CHECK(variants[0].launch(refArgs, stream));
            double const tol = dtype == RowNormDataType::kFLOAT ? 1.0e-4 : 1.0 / 64.0;
            for (size_t v = 0; v < timed.size(); ++v)
            {
                double diff = 0.0;
                bool checked = false;
                if (!timed[v].isCopy)
                {
                    PROBE_CHECK(cudaMemsetAsync(buf.out.p, 0xFF, static_cast<size_t>(2 * nBytes), stream));
                    PROBE_CHECK(variants[variantOf[v]].launch(a, stream));
                    diff = maxAbsDiff<T>(a.y, refArgs.y, n, buf.sink + 1, stream);
                    if (rms)
                    {
                        diff = std::max(diff, maxAbsDiff<T>(a.h, refArgs.h, n, buf.sink + 1, stream));
                    }
                    checked = true;
                }
                bool const ok = !checked || diff <= tol;
                double const gbps = static_cast<double>(costBytes) / median[v] / 1000.0;
                double const pct = 100.0 * bestCopyUs / median[v];
                std::printf("%s,%s,%lld,%lld,%s,%.3f,%lld,%.1f,%.2f,%s,%s\n", op, dtypeName(dtype),
                    static_cast<long long>(hidden), static_cast<long long>(rows), timed[v].name.c_str(), median[v],
                    static_cast<long long>(costBytes), gbps, pct, checked ? std::to_string(diff).c_str() : "",
                    checked ? (ok ? "ok" : "FAIL") : "");
                if (checked && ok && xBytes == sizes.back())
                {
                    std::string const key = std::string(op) + "," + dtypeName(dtype) + "," + std::to_string(hidden);
                    Best& b = best[key];
                    if (pct > b.pctLarge)
                    {
                        b.variant = timed[v].name;
                        b.pctLarge = pct;
                    }
                }
            }
            std::fflush(stdout);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    int32_t samples = 25;
    int64_t maxMib = 256;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "--list")
    {
        for (bool rms : {false, true})
        {
            for (RowVariant const& v : rms ? tpb::probe::residualRmsNormVariants(RowNormDataType::kHALF)
                                           : tpb::probe::layerNormVariants(RowNormDataType::kHALF))
            {
                std::printf("%s %s\n", rms ? "residual_rms_norm" : "layer_norm", v.name.c_str());
            }
        }
        return 0;
    }
    for (size_t i = 0; i + 1 < args.size(); i += 2)
    {
        if (args[i] == "--samples")
            samples = std::max(1, std::atoi(args[i + 1].c_str()));
        else if (args[i] == "--max-mib")
            maxMib = std::max<int64_t>(32, std::atoll(args[i + 1].c_str()));
    }
    int device = 0;
    int l2 = 0;
    PROBE_CHECK(cudaGetDevice(&device));
    PROBE_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
    int64_t const flushBytes = std::max<int64_t>(int64_t{4} * l2, 64 * kMiB);
    cudaDeviceProp prop{};
    PROBE_CHECK(cudaGetDeviceProperties(&prop, device));
    cudaStream_t stream = nullptr;
    PROBE_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    std::fprintf(stderr, "%s, L2 %d bytes, clean flush (read) of %lld bytes, %d samples per variant and size\n",
        prop.name, l2, static_cast<long long>(flushBytes), samples);
    std::vector<int64_t> const sizes{32 * kMiB, maxMib * kMiB};
    Buffers buf(maxMib * kMiB, flushBytes);
    std::map<std::string, Best> best;
    std::printf("op,dtype,hidden,rows,variant,median_us,bytes_by_cost_model,GBps,pct_of_copy,max_abs_diff,check\n");
    for (bool rms : {false, true})
    {
        sweep<float>(rms, RowNormDataType::kFLOAT, buf, sizes, samples, stream, best);
        sweep<__half>(rms, RowNormDataType::kHALF, buf, sizes, samples, stream, best);
    }
    for (auto const& [key, b] : best)
    {
        std::printf("# best at %lld MiB,%s,%s,%.2f\n", static_cast<long long>(maxMib), key.c_str(), b.variant.c_str(),
            b.pctLarge);
    }
    PROBE_CHECK(cudaStreamDestroy(stream));
    return 0;
}
