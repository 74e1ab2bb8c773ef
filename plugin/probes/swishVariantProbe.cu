// Probe (an experiment, not the product): time kernel shapes on the direct path, cold L2, CUDA
// events, every variant of a size interleaved round by round so that clock and thermal drift hit
// them alike. The product's math and kernels are compiled into this translation unit (the .cu is
// included, not linked) so that shapes the product does not ship can be instantiated from the same
// templates: one-shot grids with V 16-byte vectors per thread in blocks of B threads, a copy of the
// same shapes (memory alone, no math), and a persistent kernel that prefetches its next vector
// before computing the current one.
//
//   swish_variant_probe [--samples N] [--max-mib M]      CSV on stdout, one row per (dtype, size, variant)
//   swish_variant_probe --one DTYPE VARIANT MIB          one launch after a warm-up (for Nsight Compute)
//   swish_variant_probe --list                           the variant names
#include "../swishPlugin/swishPluginKernel.cu"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace tpb
{
namespace
{

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

// memory alone: the one-shot shape with the identity instead of Swish
template <int32_t kVectors, int32_t kBlock>
__global__ void __launch_bounds__(kBlock) probeCopyKernel(uint4 const* input, uint4* output, int64_t vectorCount)
{
    int64_t const base = static_cast<int64_t>(blockIdx.x) * (kBlock * kVectors) + threadIdx.x;
    uint4 vectors[kVectors];
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        vectors[k] = index < vectorCount ? input[index] : make_uint4(0U, 0U, 0U, 0U);
    }
#pragma unroll
    for (int32_t k = 0; k < kVectors; ++k)
    {
        int64_t const index = base + static_cast<int64_t>(k) * kBlock;
        if (index < vectorCount)
        {
            output[index] = vectors[k];
        }
    }
}

// persistent grid (resident blocks only), the next vector's load issued before the current one's math
template <typename T, int32_t kBlock>
__global__ void __launch_bounds__(kBlock) probePrefetchKernel(uint4 const* input, uint4* output, int64_t vectorCount, float beta)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * kBlock;
    int64_t index = static_cast<int64_t>(blockIdx.x) * kBlock + threadIdx.x;
    if (index >= vectorCount)
    {
        return;
    }
    uint4 current = input[index];
    while (index < vectorCount)
    {
        int64_t const next = index + stride;
        uint4 const prefetched = next < vectorCount ? input[next] : make_uint4(0U, 0U, 0U, 0U);
        output[index] = swishVector<T>(current, beta);
        current = prefetched;
        index = next;
    }
}

__global__ void probeFlushKernel(uint4* buffer, int64_t vectorCount, uint32_t salt)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectorCount; i += stride)
    {
        buffer[i] = make_uint4(salt, static_cast<uint32_t>(i), salt ^ 0x9e3779b9U, 0U);
    }
}

// random inputs in about [-8, 8) in the element type (never constants)
template <typename T>
__global__ void probeFillKernel(T* data, int64_t count)
{
    int64_t const stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    {
        uint32_t h = static_cast<uint32_t>(i) * 2654435761U ^ static_cast<uint32_t>(i >> 32) * 40503U;
        h ^= h >> 15;
        h *= 2246822519U;
        h ^= h >> 13;
        data[i] = ElementOps<T>::fromFloat(static_cast<float>(h >> 8) * (16.0F / 16777216.0F) - 8.0F);
    }
}

using Launch = std::function<void(void const*, void*, int64_t, cudaStream_t)>;

struct Variant
{
    std::string name;
    Launch launch;
};

template <typename T, int32_t kVectors, int32_t kBlock>
Variant oneShot()
{
    return {"oneshot_v" + std::to_string(kVectors) + "_b" + std::to_string(kBlock),
        [](void const* in, void* out, int64_t count, cudaStream_t stream) {
            constexpr int64_t kPerVector = kVectorBytes / static_cast<int64_t>(sizeof(T));
            PROBE_CHECK((launchOneShot<T, kVectors, kBlock>(static_cast<uint4 const*>(in), static_cast<uint4*>(out),
                count / kPerVector, static_cast<T const*>(in), static_cast<T*>(out), 0, 1.0F, stream)));
        }};
}

template <int32_t kVectors, int32_t kBlock>
Variant copyShape()
{
    return {"copy_v" + std::to_string(kVectors) + "_b" + std::to_string(kBlock),
        [](void const* in, void* out, int64_t bytes, cudaStream_t stream) {
            int64_t const vectors = bytes / kVectorBytes;
            auto const blocks = static_cast<unsigned int>(ceilDiv(vectors, int64_t{kBlock} * kVectors));
            probeCopyKernel<kVectors, kBlock><<<blocks, kBlock, 0, stream>>>(
                static_cast<uint4 const*>(in), static_cast<uint4*>(out), vectors);
            PROBE_CHECK(cudaPeekAtLastError());
        }};
}

template <typename T, int32_t kBlock>
Variant prefetch()
{
    return {"prefetch_b" + std::to_string(kBlock), [](void const* in, void* out, int64_t count, cudaStream_t stream) {
                int device = 0;
                int sms = 0;
                int perSm = 0;
                PROBE_CHECK(cudaGetDevice(&device));
                PROBE_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
                PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, probePrefetchKernel<T, kBlock>, kBlock, 0));
                int64_t const vectors = count / (kVectorBytes / static_cast<int64_t>(sizeof(T)));
                int64_t const blocks = std::min<int64_t>(ceilDiv(vectors, kBlock), int64_t{sms} * perSm);
                probePrefetchKernel<T, kBlock><<<static_cast<unsigned int>(blocks), kBlock, 0, stream>>>(
                    static_cast<uint4 const*>(in), static_cast<uint4*>(out), vectors, 1.0F);
                PROBE_CHECK(cudaPeekAtLastError());
            }};
}

template <typename T>
Variant product(SwishKernel kernel, SwishDataType dtype)
{
    return {std::string("product_") + swishKernelName(kernel),
        [kernel, dtype](void const* in, void* out, int64_t count, cudaStream_t stream) {
            PROBE_CHECK(launchSwish(in, out, count, 1.0F, dtype, kernel, stream));
        }};
}

template <typename T>
std::vector<Variant> variantsFor(SwishDataType dtype)
{
    std::vector<Variant> v;
    for (int32_t k = 1; k < kSwishKernelCount; ++k)
    {
        if (isValidSwishKernel(k))
        {
            v.push_back(product<T>(static_cast<SwishKernel>(k), dtype));
        }
    }
    v.push_back(oneShot<T, 1, 512>());
    v.push_back(oneShot<T, 2, 256>());
    v.push_back(oneShot<T, 2, 512>());
    v.push_back(oneShot<T, 2, 1024>());
    v.push_back(oneShot<T, 4, 128>());
    v.push_back(oneShot<T, 4, 512>());
    v.push_back(oneShot<T, 8, 128>());
    v.push_back(oneShot<T, 8, 256>());
    v.push_back(prefetch<T, 256>());
    v.push_back(prefetch<T, 512>());
    // memory alone (count is in elements here: the wrapper converts to bytes)
    for (Variant copy : {copyShape<1, 256>(), copyShape<1, 1024>(), copyShape<2, 256>(), copyShape<4, 256>()})
    {
        Launch inner = copy.launch;
        copy.launch = [inner](void const* in, void* out, int64_t count, cudaStream_t stream) {
            inner(in, out, count * static_cast<int64_t>(sizeof(T)), stream);
        };
        v.push_back(copy);
    }
    return v;
}

struct Buffers
{
    void* input = nullptr;
    void* output = nullptr;
    uint4* flush = nullptr;
    int64_t flushVectors = 0;
    Buffers(int64_t bytes, int64_t flushBytes)
    {
        PROBE_CHECK(cudaMalloc(&input, bytes));
        PROBE_CHECK(cudaMalloc(&output, bytes));
        PROBE_CHECK(cudaMalloc(reinterpret_cast<void**>(&flush), flushBytes));
        flushVectors = flushBytes / kVectorBytes;
    }
    ~Buffers()
    {
        cudaFree(input);
        cudaFree(output);
        cudaFree(flush);
    }
    Buffers(Buffers const&) = delete;
    Buffers& operator=(Buffers const&) = delete;
};

char const* dtypeName(SwishDataType dtype)
{
    return dtype == SwishDataType::kFLOAT ? "fp32" : dtype == SwishDataType::kHALF ? "fp16" : "bf16";
}

template <typename T>
void sweep(SwishDataType dtype, Buffers& buffers, std::vector<int64_t> const& sizes, int32_t samples, cudaStream_t stream)
{
    std::vector<Variant> const variants = variantsFor<T>(dtype);
    uint32_t salt = 1;
    for (int64_t bytes : sizes)
    {
        int64_t const count = bytes / static_cast<int64_t>(sizeof(T));
        probeFillKernel<T><<<1024, 256, 0, stream>>>(static_cast<T*>(buffers.input), count);
        PROBE_CHECK(cudaPeekAtLastError());
        std::vector<std::vector<float>> times(variants.size());
        std::vector<cudaEvent_t> events(2 * variants.size());
        for (cudaEvent_t& e : events)
        {
            PROBE_CHECK(cudaEventCreate(&e));
        }
        for (int32_t s = -2; s < samples; ++s) // two warm-up rounds
        {
            for (size_t i = 0; i < variants.size(); ++i)
            {
                size_t const v = (i + static_cast<size_t>(s + 2)) % variants.size(); // rotate the order
                probeFlushKernel<<<1024, 256, 0, stream>>>(buffers.flush, buffers.flushVectors, salt++);
                PROBE_CHECK(cudaEventRecord(events[2 * v], stream));
                variants[v].launch(buffers.input, buffers.output, count, stream);
                PROBE_CHECK(cudaEventRecord(events[2 * v + 1], stream));
            }
            PROBE_CHECK(cudaStreamSynchronize(stream));
            if (s < 0)
            {
                continue;
            }
            for (size_t v = 0; v < variants.size(); ++v)
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
        for (size_t v = 0; v < variants.size(); ++v)
        {
            std::vector<float>& t = times[v];
            std::sort(t.begin(), t.end());
            float const median = t[t.size() / 2];
            std::printf("%s,%lld,%s,%zu,%.3f,%.3f,%.1f\n", dtypeName(dtype), static_cast<long long>(bytes),
                variants[v].name.c_str(), t.size(), median, t.front(), 2.0 * static_cast<double>(bytes) / median / 1000.0);
        }
        std::fflush(stdout);
    }
}

template <typename T>
int one(SwishDataType dtype, std::string const& name, Buffers& buffers, int64_t bytes, cudaStream_t stream)
{
    for (Variant const& variant : variantsFor<T>(dtype))
    {
        if (variant.name == name)
        {
            int64_t const count = bytes / static_cast<int64_t>(sizeof(T));
            probeFillKernel<T><<<1024, 256, 0, stream>>>(static_cast<T*>(buffers.input), count);
            for (int32_t i = 0; i < 2; ++i) // the second launch is the profiled one (ncu --launch-skip 1)
            {
                probeFlushKernel<<<1024, 256, 0, stream>>>(buffers.flush, buffers.flushVectors, 7U + i);
                variant.launch(buffers.input, buffers.output, count, stream);
            }
            PROBE_CHECK(cudaStreamSynchronize(stream));
            return 0;
        }
    }
    std::fprintf(stderr, "unknown variant %s\n", name.c_str());
    return 2;
}

} // namespace
} // namespace tpb

int main(int argc, char** argv)
{
    using namespace tpb;
    int32_t samples = 25;
    int64_t maxMib = 1024;
    std::vector<std::string> args(argv + 1, argv + argc);
    int device = 0;
    int l2 = 0;
    PROBE_CHECK(cudaGetDevice(&device));
    PROBE_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
    int64_t const flushBytes = std::max<int64_t>(int64_t{4} * l2, int64_t{64} << 20);
    cudaStream_t stream = nullptr;
    PROBE_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    if (!args.empty() && args[0] == "--list")
    {
        for (Variant const& v : variantsFor<__half>(SwishDataType::kHALF))
        {
            std::printf("%s\n", v.name.c_str());
        }
        return 0;
    }
    if (args.size() == 4 && args[0] == "--one")
    {
        int64_t const bytes = std::atoll(args[3].c_str()) << 20;
        Buffers buffers(bytes, flushBytes);
        if (args[1] == "fp32")
            return one<float>(SwishDataType::kFLOAT, args[2], buffers, bytes, stream);
        if (args[1] == "fp16")
            return one<__half>(SwishDataType::kHALF, args[2], buffers, bytes, stream);
        return one<__nv_bfloat16>(SwishDataType::kBF16, args[2], buffers, bytes, stream);
    }
    for (size_t i = 0; i + 1 < args.size(); i += 2)
    {
        if (args[i] == "--samples")
            samples = std::atoi(args[i + 1].c_str());
        else if (args[i] == "--max-mib")
            maxMib = std::atoll(args[i + 1].c_str());
    }
    std::vector<int64_t> sizes;
    for (int64_t mib = 1; mib <= maxMib; mib *= 2)
    {
        sizes.push_back(mib << 20);
    }
    std::fprintf(stderr, "L2 %d bytes, flush buffer %lld bytes, %d samples per variant and size\n", l2,
        static_cast<long long>(flushBytes), samples);
    std::printf("dtype,tensor_bytes,variant,samples,median_us,min_us,gbps\n");
    Buffers buffers(maxMib << 20, flushBytes);
    sweep<float>(SwishDataType::kFLOAT, buffers, sizes, samples, stream);
    sweep<__half>(SwishDataType::kHALF, buffers, sizes, samples, stream);
    sweep<__nv_bfloat16>(SwishDataType::kBF16, buffers, sizes, samples, stream);
    PROBE_CHECK(cudaStreamDestroy(stream));
    return 0;
}
