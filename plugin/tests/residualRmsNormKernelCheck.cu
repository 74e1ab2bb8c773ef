// Standalone correctness check of the residual-add + RMSNorm kernels (pure CUDA, no TensorRT).
//
// Every dtype (fp32, fp16, bf16) x every kernel variant (residualRmsNormKernels.def) x a range of shapes
// (hidden 1 .. 16392: odd sizes, the vectorised fast paths at 1024/4096/8192, rows beyond what the
// registers hold, zero rows, more rows than the grid so rows stride) x data (normal; large values,
// 1e4 + normal; edge rows: +inf, NaN, r = -x (h = 0: y = 0), one value dominating its row), plus
// misaligned pointers (the generic path), both outputs (y and h) against a float64 reference of the
// dtype-rounded inputs, in ulps of the output dtype (ops/residual_rms_norm's tolerances). Outputs and
// guard elements after them are poisoned before each launch. Planted faults (y one element off by 3
// bounds, h one element unwritten, h and y swapped) must be rejected. Exit code 0 only if every check passes.
//
// Usage: residual_rms_norm_kernel_check
#include "residualRmsNormKernel.h"
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
using tpb::ResidualRmsNormKernel;

constexpr float kEps = 1.0e-6F;
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
    return dtype == RowNormDataType::kFLOAT ? Bound{8.0, 0.0} : Bound{1.0, 0.0};
}

struct Inputs
{
    std::vector<unsigned char> x, r, gamma;
    std::vector<double> x64, r64, gamma64;
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
    in.r.resize(n * itemSize(dtype));
    in.gamma.resize(h * itemSize(dtype));
    in.x64.resize(n);
    in.r64.resize(n);
    in.gamma64.resize(h);
    for (size_t i = 0; i < n; ++i)
    {
        int64_t const row = static_cast<int64_t>(i / h);
        size_t const col = i % h;
        double v = data == Data::kOFFSET ? 1.0e4 + normal(rng) : normal(rng);
        double w = normal(rng);
        if (data == Data::kEDGES)
        {
            if (row == 0 && col == h / 2)
            {
                v = std::numeric_limits<double>::infinity();
            }
            else if (row == 1 && col == 0)
            {
                w = std::numeric_limits<double>::quiet_NaN();
            }
            else if (row == 2)
            {
                w = -rounded(dtype, v); // h = 0 exactly: y = 0
            }
            else if (row == 3 && col == h - 1)
            {
                v = 30000.0; // dominates its row
            }
        }
        store(dtype, in.x, i, v);
        store(dtype, in.r, i, w);
        in.x64[i] = load(dtype, in.x, i);
        in.r64[i] = load(dtype, in.r, i);
    }
    for (size_t i = 0; i < h; ++i)
    {
        store(dtype, in.gamma, i, 0.5 + uniform(rng));
        in.gamma64[i] = load(dtype, in.gamma, i);
    }
    return in;
}

//! The float64 reference: y and h, rows x hidden each.
void reference(Inputs const& in, int64_t rows, int64_t hidden, std::vector<double>& y, std::vector<double>& h)
{
    y.assign(in.x64.size(), 0.0);
    h.assign(in.x64.size(), 0.0);
    double const eps = static_cast<double>(kEps);
    for (int64_t r = 0; r < rows; ++r)
    {
        size_t const base = static_cast<size_t>(r * hidden);
        double ss = 0.0;
        for (int64_t i = 0; i < hidden; ++i)
        {
            h[base + i] = in.x64[base + i] + in.r64[base + i];
            ss += h[base + i] * h[base + i];
        }
        double const rms = std::sqrt(ss / static_cast<double>(hidden) + eps);
        for (int64_t i = 0; i < hidden; ++i)
        {
            y[base + i] = h[base + i] / rms * in.gamma64[i];
        }
    }
}

//! Runs one launch (\p misalign elements into each buffer); returns y and h with kGuard elements each.
bool run(RowNormDataType dtype, ResidualRmsNormKernel kernel, Inputs const& in, int64_t rows, int64_t hidden,
    int misalign, cudaStream_t stream, std::vector<unsigned char>& outY, std::vector<unsigned char>& outH)
{
    size_t const item = itemSize(dtype);
    size_t const n = static_cast<size_t>(rows * hidden);
    size_t const hd = static_cast<size_t>(hidden);
    size_t const off = static_cast<size_t>(misalign) * item;
    DeviceBuffer x(n * item + off), r(n * item + off), g(hd * item + off), y((n + kGuard) * item + off),
        h((n + kGuard) * item + off);
    if (!x.valid() || !r.valid() || !g.valid() || !y.valid() || !h.valid())
    {
        return false;
    }
    outY = poisoned(dtype, n + kGuard);
    outH = poisoned(dtype, n + kGuard);
    bool ok = upload(x.bytes() + off, in.x.data(), n * item, stream)
        && upload(r.bytes() + off, in.r.data(), n * item, stream)
        && upload(g.bytes() + off, in.gamma.data(), hd * item, stream)
        && upload(y.bytes() + off, outY.data(), outY.size(), stream)
        && upload(h.bytes() + off, outH.data(), outH.size(), stream);
    ok = ok
        && TPB_CUDA_OK(tpb::launchResidualRmsNorm(x.bytes() + off, r.bytes() + off, g.bytes() + off, y.bytes() + off,
            h.bytes() + off, rows, hidden, kEps, dtype, kernel, stream))
        && TPB_CUDA_OK(cudaStreamSynchronize(stream))
        && TPB_CUDA_OK(cudaMemcpy(outY.data(), y.bytes() + off, outY.size(), cudaMemcpyDeviceToHost))
        && TPB_CUDA_OK(cudaMemcpy(outH.data(), h.bytes() + off, outH.size(), cudaMemcpyDeviceToHost));
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
    std::vector<double> refY;
    std::vector<double> refH;
    reference(in, rows, hidden, refY, refH);
    std::vector<unsigned char> y;
    std::vector<unsigned char> h;
    bool const ran = run(dtype, ResidualRmsNormKernel::kREGISTERS, in, rows, hidden, 0, stream, y, h);
    size_t const n = refY.size();
    tally.add(ran && compare(dtype, y, refY, n, kGuard, boundOf(dtype), "fault baseline y") == 0
        && compare(dtype, h, refH, n, kGuard, boundOf(dtype), "fault baseline h") == 0);
    if (!ran)
    {
        return;
    }
    std::vector<unsigned char> off = y;
    store(dtype, off, 100, refY[100] + 3.0 * 8.0 * ulpOf(dtype, refY[100]));
    tally.add(compare(dtype, off, refY, n, kGuard, boundOf(dtype), "planted: y off by 3 bounds (expected)") > 0);
    std::vector<unsigned char> unwritten = h;
    store(dtype, unwritten, 5, poisonValue(dtype));
    tally.add(compare(dtype, unwritten, refH, n, kGuard, boundOf(dtype), "planted: h unwritten (expected)") > 0);
    tally.add(compare(dtype, h, refY, n, kGuard, boundOf(dtype), "planted: outputs swapped (expected)") > 0);
}

void argumentChecks(Tally& tally, cudaStream_t stream)
{
    DeviceBuffer buffer(1024);
    void* p = buffer.bytes();
    auto const f = RowNormDataType::kFLOAT;
    auto const k = ResidualRmsNormKernel::kREGISTERS;
    float const nan = std::numeric_limits<float>::quiet_NaN();
    float const inf = std::numeric_limits<float>::infinity();
    tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, -1, 4, kEps, f, k, stream) == cudaErrorInvalidValue);
    tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, 1, -4, kEps, f, k, stream) == cudaErrorInvalidValue);
    for (float eps : {0.0F, -1.0F, nan, inf})
    {
        tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, 1, 4, eps, f, k, stream) == cudaErrorInvalidValue);
    }
    tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, 1, 4, kEps, f, static_cast<ResidualRmsNormKernel>(tpb::kResidualRmsNormKernelCount),
                  stream)
        == cudaErrorInvalidValue);
    tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, 1, 4, kEps, static_cast<RowNormDataType>(3), k, stream)
        == cudaErrorInvalidValue);
    tally.add(tpb::launchResidualRmsNorm(nullptr, p, p, p, p, 1, 4, kEps, f, k, stream) == cudaErrorInvalidValue);
    tally.add(tpb::launchResidualRmsNorm(p, p, p, p, p, int64_t{1} << 62, int64_t{1} << 10, kEps, f, k, stream)
        == cudaErrorInvalidValue);
    // nothing to do: success without touching the (null) pointers
    tally.add(tpb::launchResidualRmsNorm(nullptr, nullptr, nullptr, nullptr, nullptr, 0, 4, kEps, f, k, stream) == cudaSuccess);
    tally.add(tpb::launchResidualRmsNorm(nullptr, nullptr, nullptr, nullptr, nullptr, 5, 0, kEps, f, k, stream) == cudaSuccess);
    tally.add(TPB_CUDA_OK(cudaStreamSynchronize(stream)));
    // the names: one per id, from the one table
    for (int32_t id = 0; id < tpb::kResidualRmsNormKernelCount; ++id)
    {
        tally.add(tpb::residualRmsNormKernelName(id) != nullptr);
    }
    tally.add(tpb::residualRmsNormKernelName(tpb::kResidualRmsNormKernelCount) == nullptr && tpb::residualRmsNormKernelName(-1) == nullptr);
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
        std::printf("residual_rms_norm_kernel_check: 0 passed, 1 failed\n");
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
        for (int32_t id = 0; id < tpb::kResidualRmsNormKernelCount; ++id)
        {
            auto const kernel = static_cast<ResidualRmsNormKernel>(id);
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
                        std::vector<double> refY;
                        std::vector<double> refH;
                        reference(in, shape.rows, shape.hidden, refY, refH);
                        std::vector<unsigned char> y;
                        std::vector<unsigned char> h;
                        char label[160];
                        std::snprintf(label, sizeof(label), "%s %s rows %lld hidden %lld %s%s", dtypeName(dtype),
                            tpb::residualRmsNormKernelName(id), static_cast<long long>(shape.rows),
                            static_cast<long long>(shape.hidden), dataName(data), misalign ? " misaligned" : "");
                        double w = 0.0;
                        double wh = 0.0;
                        bool const ok
                            = run(dtype, kernel, in, shape.rows, shape.hidden, misalign, stream.get(), y, h)
                            && compare(dtype, y, refY, refY.size(), kGuard, boundOf(dtype), label, &w) == 0
                            && compare(dtype, h, refH, refH.size(), kGuard, boundOf(dtype), label, &wh) == 0;
                        w = std::max(w, wh);
                        tally.add(ok);
                        worst = std::max(worst, w);
                        tally.add(ok);
                    }
                }
            }
            std::printf("%-5s %-16s %-8s %6lld passed %4lld failed  (worst %.2f ulp)\n", dtypeName(dtype),
                tpb::residualRmsNormKernelName(id), "shapes", static_cast<long long>(tally.passed),
                static_cast<long long>(tally.failed), worst);
            passed += tally.passed;
            failed += tally.failed;
        }
    }
    std::printf("residual_rms_norm_kernel_check: %lld passed, %lld failed\n", static_cast<long long>(passed),
        static_cast<long long>(failed));
    return failed == 0 ? 0 : 1;
}
