// Standalone correctness check of the LayerNorm kernels (pure CUDA, no TensorRT).
//
// Every dtype (fp32, fp16, bf16) x every kernel variant (layerNormKernels.def) x a range of shapes
// (hidden 1 .. 16392: odd sizes, the vectorised fast paths at 1024/4096/8192, rows beyond what the
// registers hold, zero rows, more rows than the grid so rows stride) x data (normal; a large offset,
// mean 1e4 >> std 1, which breaks E[x^2] - E[x]^2; edge rows: +inf, NaN, a constant row, one value
// dominating its row), plus misaligned pointers (the generic path), against a float64 reference of the
// dtype-rounded inputs, in ulps of the output dtype with an absolute floor (ops/layer_norm's
// tolerances). Outputs and guard elements after them are poisoned before each launch. Planted faults
// (one element off by 3 bounds, one element left unwritten, a one-pass E[x^2] - E[x]^2 variance in
// fp32 on the offset rows) must be rejected. Exit code 0 only if every check passes.
//
// Usage: layer_norm_kernel_check
#include "layerNormKernel.h"
#include "rowNormCheck.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace
{

using namespace rncheck;
using tpb::LayerNormKernel;

constexpr float kEps = 1.0e-5F;
constexpr size_t kGuard = 32;

enum class Data
{
    kNORMAL,
    kOFFSET,
    kEDGES,
};

char const* dataName(Data data)
{
    return data == Data::kNORMAL ? "normal" : data == Data::kOFFSET ? "offset" : "edges";
}

Bound boundOf(RowNormDataType dtype)
{
    return dtype == RowNormDataType::kFLOAT ? Bound{16.0, 2.0e-6} : Bound{1.0, 1.0e-5};
}

struct Inputs
{
    std::vector<unsigned char> x, gamma, beta;
    std::vector<double> x64, gamma64, beta64;
};

Inputs makeInputs(RowNormDataType dtype, int64_t rows, int64_t hidden, Data data, uint32_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 3.0);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    size_t const n = static_cast<size_t>(rows * hidden);
    size_t const h = static_cast<size_t>(hidden);
    Inputs in;
    in.x.resize(n * itemSize(dtype));
    in.gamma.resize(h * itemSize(dtype));
    in.beta.resize(h * itemSize(dtype));
    in.x64.resize(n);
    in.gamma64.resize(h);
    in.beta64.resize(h);
    for (size_t i = 0; i < n; ++i)
    {
        int64_t const row = static_cast<int64_t>(i / h);
        size_t const col = i % h;
        double v = data == Data::kOFFSET ? 1.0e4 + normal(rng) / 3.0 : normal(rng);
        if (data == Data::kEDGES)
        {
            if (row == 0 && col == h / 2)
            {
                v = std::numeric_limits<double>::infinity();
            }
            else if (row == 1 && col == 0)
            {
                v = std::numeric_limits<double>::quiet_NaN();
            }
            else if (row == 2)
            {
                v = 5.0; // constant row: var 0, y = beta
            }
            else if (row == 3 && col == h - 1)
            {
                v = 30000.0; // dominates its row
            }
        }
        store(dtype, in.x, i, v);
        in.x64[i] = load(dtype, in.x, i);
    }
    for (size_t i = 0; i < h; ++i)
    {
        store(dtype, in.gamma, i, 0.5 + uniform(rng));
        store(dtype, in.beta, i, uniform(rng) - 0.5);
        in.gamma64[i] = load(dtype, in.gamma, i);
        in.beta64[i] = load(dtype, in.beta, i);
    }
    return in;
}

std::vector<double> reference(Inputs const& in, int64_t rows, int64_t hidden)
{
    std::vector<double> ref(in.x64.size());
    double const eps = static_cast<double>(kEps);
    for (int64_t r = 0; r < rows; ++r)
    {
        double const* x = in.x64.data() + r * hidden;
        double mean = 0.0;
        for (int64_t i = 0; i < hidden; ++i)
        {
            mean += x[i];
        }
        mean /= static_cast<double>(hidden);
        double var = 0.0;
        for (int64_t i = 0; i < hidden; ++i)
        {
            var += (x[i] - mean) * (x[i] - mean);
        }
        var /= static_cast<double>(hidden);
        double const rstd = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < hidden; ++i)
        {
            ref[static_cast<size_t>(r * hidden + i)] = (x[i] - mean) * rstd * in.gamma64[i] + in.beta64[i];
        }
    }
    return ref;
}

//! Runs one launch (\p misalign elements into each buffer) and returns the output with kGuard elements.
bool run(RowNormDataType dtype, LayerNormKernel kernel, Inputs const& in, int64_t rows, int64_t hidden, int misalign,
    cudaStream_t stream, std::vector<unsigned char>& out)
{
    size_t const item = itemSize(dtype);
    size_t const n = static_cast<size_t>(rows * hidden);
    size_t const h = static_cast<size_t>(hidden);
    size_t const off = static_cast<size_t>(misalign) * item;
    DeviceBuffer x(n * item + off), g(h * item + off), b(h * item + off), y((n + kGuard) * item + off);
    if (!x.valid() || !g.valid() || !b.valid() || !y.valid())
    {
        return false;
    }
    out = poisoned(dtype, n + kGuard);
    bool ok = upload(x.bytes() + off, in.x.data(), n * item, stream)
        && upload(g.bytes() + off, in.gamma.data(), h * item, stream)
        && upload(b.bytes() + off, in.beta.data(), h * item, stream)
        && upload(y.bytes() + off, out.data(), out.size(), stream);
    ok = ok
        && TPB_CUDA_OK(tpb::launchLayerNorm(x.bytes() + off, g.bytes() + off, b.bytes() + off, y.bytes() + off, rows,
            hidden, kEps, dtype, kernel, stream))
        && TPB_CUDA_OK(cudaStreamSynchronize(stream))
        && TPB_CUDA_OK(cudaMemcpy(out.data(), y.bytes() + off, out.size(), cudaMemcpyDeviceToHost));
    return ok;
}

struct Shape
{
    int64_t rows;
    int64_t hidden;
};

// hidden: odd and tiny, the fast paths, rows longer than a warp or a block holds; rows: zero, a few,
// more than the grid (2^20 blocks or 2^20 x 8 warps: rows stride)
constexpr Shape kShapes[] = {{1, 1}, {3, 3}, {5, 7}, {37, 64}, {37, 100}, {33, 256}, {17, 1000}, {19, 1024},
    {9, 1028}, {7, 2048}, {6, 4096}, {5, 8192}, {4, 12288}, {4, 16392}, {0, 1024}, {(1 << 20) + 37, 3},
    {(1 << 23) + 9, 4},
    // the rows shapes (prefetch, two_rows, weights_first): row counts that leave the last unit's chunk or pair
    // short, fewer rows than units, a block of 64 threads whose last vector slots are empty (fp32 520), many
    // short rows (prefetch chunks of several rows in the warp layout)
    {67, 1024}, {3, 1024}, {37, 4096}, {13, 8192}, {9, 520}, {(1 << 16) + 3, 8}};

//! Planted faults on a real output: each must make compare() report a bad element.
void plantedFaults(Tally& tally, cudaStream_t stream)
{
    RowNormDataType const dtype = RowNormDataType::kFLOAT;
    int64_t const rows = 8;
    int64_t const hidden = 1024;
    Inputs const in = makeInputs(dtype, rows, hidden, Data::kNORMAL, 7);
    std::vector<double> const ref = reference(in, rows, hidden);
    std::vector<unsigned char> out;
    bool const ran = run(dtype, LayerNormKernel::kREGISTERS, in, rows, hidden, 0, stream, out);
    size_t const n = ref.size();
    tally.add(ran && compare(dtype, out, ref, n, kGuard, boundOf(dtype), "fault baseline") == 0);
    if (!ran)
    {
        return;
    }
    // one element three bounds off
    std::vector<unsigned char> off = out;
    double const r = ref[100];
    store(dtype, off, 100, r + 3.0 * std::max(16.0 * ulpOf(dtype, r), 2.0e-6));
    tally.add(compare(dtype, off, ref, n, kGuard, boundOf(dtype), "planted: off by 3 bounds (expected)") > 0);
    // one element left at the poison
    std::vector<unsigned char> unwritten = out;
    store(dtype, unwritten, 5, poisonValue(dtype));
    tally.add(compare(dtype, unwritten, ref, n, kGuard, boundOf(dtype), "planted: unwritten (expected)") > 0);
    // E[x^2] - E[x]^2 in fp32, one pass, on the offset rows: the data must break it
    Inputs const shifted = makeInputs(dtype, rows, hidden, Data::kOFFSET, 8);
    std::vector<double> const shiftedRef = reference(shifted, rows, hidden);
    std::vector<unsigned char> naive = poisoned(dtype, n + kGuard);
    for (int64_t row = 0; row < rows; ++row)
    {
        float sum = 0.0F;
        float sumSq = 0.0F;
        for (int64_t i = 0; i < hidden; ++i)
        {
            float const v = static_cast<float>(shifted.x64[static_cast<size_t>(row * hidden + i)]);
            sum += v;
            sumSq += v * v;
        }
        float const mean = sum / static_cast<float>(hidden);
        float const var = std::max(sumSq / static_cast<float>(hidden) - mean * mean, 0.0F);
        float const rstd = 1.0F / std::sqrt(var + kEps);
        for (int64_t i = 0; i < hidden; ++i)
        {
            size_t const k = static_cast<size_t>(row * hidden + i);
            float const v = static_cast<float>(shifted.x64[k]);
            store(dtype, naive, k,
                (v - mean) * rstd * static_cast<float>(shifted.gamma64[i]) + static_cast<float>(shifted.beta64[i]));
        }
    }
    tally.add(compare(dtype, naive, shiftedRef, n, kGuard, boundOf(dtype), "planted: one-pass variance (expected)") > 0);
}

void argumentChecks(Tally& tally, cudaStream_t stream)
{
    DeviceBuffer buffer(1024);
    void* p = buffer.bytes();
    auto const f = RowNormDataType::kFLOAT;
    auto const k = LayerNormKernel::kREGISTERS;
    float const nan = std::numeric_limits<float>::quiet_NaN();
    float const inf = std::numeric_limits<float>::infinity();
    tally.add(tpb::launchLayerNorm(p, p, p, p, -1, 4, kEps, f, k, stream) == cudaErrorInvalidValue);
    tally.add(tpb::launchLayerNorm(p, p, p, p, 1, -4, kEps, f, k, stream) == cudaErrorInvalidValue);
    for (float eps : {0.0F, -1.0F, nan, inf})
    {
        tally.add(tpb::launchLayerNorm(p, p, p, p, 1, 4, eps, f, k, stream) == cudaErrorInvalidValue);
    }
    tally.add(tpb::launchLayerNorm(p, p, p, p, 1, 4, kEps, f, static_cast<LayerNormKernel>(tpb::kLayerNormKernelCount),
                  stream)
        == cudaErrorInvalidValue);
    tally.add(tpb::launchLayerNorm(p, p, p, p, 1, 4, kEps, static_cast<RowNormDataType>(3), k, stream)
        == cudaErrorInvalidValue);
    tally.add(tpb::launchLayerNorm(nullptr, p, p, p, 1, 4, kEps, f, k, stream) == cudaErrorInvalidValue);
    tally.add(tpb::launchLayerNorm(p, p, p, p, int64_t{1} << 62, int64_t{1} << 10, kEps, f, k, stream)
        == cudaErrorInvalidValue);
    // nothing to do: success without touching the (null) pointers
    tally.add(tpb::launchLayerNorm(nullptr, nullptr, nullptr, nullptr, 0, 4, kEps, f, k, stream) == cudaSuccess);
    tally.add(tpb::launchLayerNorm(nullptr, nullptr, nullptr, nullptr, 5, 0, kEps, f, k, stream) == cudaSuccess);
    tally.add(TPB_CUDA_OK(cudaStreamSynchronize(stream)));
    // the names: one per id, from the one table
    for (int32_t id = 0; id < tpb::kLayerNormKernelCount; ++id)
    {
        tally.add(tpb::layerNormKernelName(id) != nullptr);
    }
    tally.add(tpb::layerNormKernelName(tpb::kLayerNormKernelCount) == nullptr && tpb::layerNormKernelName(-1) == nullptr);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc > 1)
    {
        std::fprintf(stderr, "usage: %s\n", argv[0]);
        return 2;
    }
    Stream stream;
    if (!stream.valid())
    {
        std::printf("layer_norm_kernel_check: 0 passed, 1 failed\n");
        return 1;
    }
    int64_t passed = 0;
    int64_t failed = 0;
    Tally api;
    argumentChecks(api, stream.get());
    Tally faults;
    plantedFaults(faults, stream.get());
    std::printf("%-5s %-16s %-8s %6lld passed %4lld failed\n", "-", "api", "-", static_cast<long long>(api.passed),
        static_cast<long long>(api.failed));
    std::printf("%-5s %-16s %-8s %6lld passed %4lld failed\n", "-", "planted faults", "-",
        static_cast<long long>(faults.passed), static_cast<long long>(faults.failed));
    passed += api.passed + faults.passed;
    failed += api.failed + faults.failed;
    for (RowNormDataType dtype : {RowNormDataType::kFLOAT, RowNormDataType::kHALF, RowNormDataType::kBF16})
    {
        for (int32_t id = 0; id < tpb::kLayerNormKernelCount; ++id)
        {
            auto const kernel = static_cast<LayerNormKernel>(id);
            Tally tally;
            double worst = 0.0;
            uint32_t seed = 1;
            for (Shape const& shape : kShapes)
            {
                bool const big = shape.rows * shape.hidden > (1 << 22);
                for (Data data : {Data::kNORMAL, Data::kOFFSET, Data::kEDGES})
                {
                    if ((big && data != Data::kNORMAL) || (data == Data::kEDGES && shape.rows < 4))
                    {
                        continue;
                    }
                    for (int misalign : {0, 1})
                    {
                        if (misalign == 1 && (big || data != Data::kNORMAL))
                        {
                            continue;
                        }
                        Inputs const in = makeInputs(dtype, shape.rows, shape.hidden, data, seed++);
                        std::vector<double> const ref = reference(in, shape.rows, shape.hidden);
                        std::vector<unsigned char> out;
                        char label[160];
                        std::snprintf(label, sizeof(label), "%s %s rows %lld hidden %lld %s%s", dtypeName(dtype),
                            tpb::layerNormKernelName(id), static_cast<long long>(shape.rows),
                            static_cast<long long>(shape.hidden), dataName(data), misalign ? " misaligned" : "");
                        double w = 0.0;
                        bool const ok = run(dtype, kernel, in, shape.rows, shape.hidden, misalign, stream.get(), out)
                            && compare(dtype, out, ref, ref.size(), kGuard, boundOf(dtype), label, &w) == 0;
                        worst = std::max(worst, w);
                        tally.add(ok);
                    }
                }
            }
            std::printf("%-5s %-16s %-8s %6lld passed %4lld failed  (worst %.2f ulp)\n", dtypeName(dtype),
                tpb::layerNormKernelName(id), "shapes", static_cast<long long>(tally.passed),
                static_cast<long long>(tally.failed), worst);
            passed += tally.passed;
            failed += tally.failed;
        }
    }
    std::printf("layer_norm_kernel_check: %lld passed, %lld failed\n", static_cast<long long>(passed),
        static_cast<long long>(failed));
    return failed == 0 ? 0 : 1;
}
