// Host-only check of the byo example plugin (examples/byo-plugin/hardSwishPlugin.cpp) through its
// TensorRT interfaces: no GPU, no libnvinfer, no CUDA call. Built against TensorRT headers only (where
// they exist: tests/test_plugin_host.py, for each dir in TENSORRT_INCLUDE_DIR, under
// -fsanitize=address,undefined), linked with the example's sources and a counting stand-in for its own
// kernel launcher (launchHardSwish, the example's function, not TensorRT's), so enqueue's decisions are
// seen without a GPU. Issue 26, item 6: null field data with nbFields 2, nbFields -1, duplicate fields,
// null inputs to getOutputDimensions / getOutputDataType / supportsFormatCombination / enqueue, rank 9,
// element counts that wrap to 0, the 4-byte record and every single-byte change of a record. Issue 23:
// two conformance checks' host halves: the clone lifecycle (two clones enqueued, one destroyed, the
// other's alpha unchanged: check 3) and no synchronizing CUDA call inside enqueue (check 1), seen
// through stand-ins for the runtime's synchronize calls. tests/fixtures/byo-broken plants both faults
// in a copy of the example; built against it, exactly those two lines fail.
// The record bytes are made here independently of the example's code (its layout: examples/byo-plugin/README.md).
// One line per check, then "byo_example_check: N passed, M failed"; exit 0 only when all pass.
#include "hardSwishKernel.h"
#include "hardSwishPlugin.h"

#include <cstdint>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace
{
int gLaunches = 0;
int64_t gLastCount = -1;
float gLastAlpha = 0.0F;
int gSyncs = 0; // synchronizing runtime calls made since the last reset
} // namespace

// The example's kernel launcher, stood in for: counts the launches enqueue asks for.
cudaError_t byo::launchHardSwish(
    HardSwishDtype /*dtype*/, void const* /*x*/, void* /*y*/, int64_t count, float alpha, cudaStream_t /*stream*/) noexcept
{
    ++gLaunches;
    gLastCount = count;
    gLastAlpha = alpha;
    return cudaSuccess;
}

// The CUDA runtime's synchronizing calls, stood in for (this executable's definitions come before
// libcudart's): counted, never run. An enqueue must make none (conformance check 1).
extern "C" cudaError_t cudaStreamSynchronize(cudaStream_t /*stream*/)
{
    ++gSyncs;
    return cudaSuccess;
}

extern "C" cudaError_t cudaDeviceSynchronize()
{
    ++gSyncs;
    return cudaSuccess;
}

extern "C" cudaError_t cudaEventSynchronize(cudaEvent_t /*event*/)
{
    ++gSyncs;
    return cudaSuccess;
}

namespace
{

class Report
{
public:
    void check(bool ok, std::string const& what, std::string const& detail = "")
    {
        std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what.c_str(), detail.empty() || ok ? "" : ": ",
            ok ? "" : detail.c_str());
        ++(ok ? mPassed : mFailed);
    }
    int finish() const
    {
        std::printf("byo_example_check: %d passed, %d failed\n", mPassed, mFailed);
        return mFailed == 0 ? 0 : 1;
    }

private:
    int mPassed{0};
    int mFailed{0};
};

class UnusedExprBuilder final : public nvinfer1::IExprBuilder
{
public:
    UnusedExprBuilder()
    {
        mImpl = nullptr;
    }
    ~UnusedExprBuilder() noexcept override = default;
};

//! Runs \p call in a child process: true only when it returned true there. A call that crashes (a SEGV,
//! or a sanitizer abort) is a false, so the check reports it and goes on (f8ee435's example crashed on
//! several of these calls).
template <typename Call>
bool survives(Call&& call)
{
    std::fflush(stdout);
    pid_t const child = fork();
    if (child == 0)
    {
        _exit(call() ? 0 : 1);
    }
    int status = 0;
    return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

uint32_t crc32(unsigned char const* data, size_t length)
{
    uint32_t crc = 0xFFFFFFFFU;
    for (size_t i = 0; i < length; ++i)
    {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit)
        {
            crc = (crc & 1U) != 0 ? (crc >> 1) ^ 0xEDB88320U : crc >> 1;
        }
    }
    return ~crc;
}

std::vector<unsigned char> record(float alpha)
{
    std::vector<unsigned char> bytes(20);
    uint32_t const header[3] = {0x50535748U, 2U, 4U};
    std::memcpy(bytes.data(), header, 12);
    std::memcpy(bytes.data() + 12, &alpha, 4);
    uint32_t const crc = crc32(bytes.data(), 16);
    std::memcpy(bytes.data() + 16, &crc, 4);
    return bytes;
}

void destroy(nvinfer1::IPluginV2* plugin)
{
    if (plugin != nullptr)
    {
        plugin->destroy();
    }
}

void checkFields(Report& report, byo::HardSwishPluginCreator& creator)
{
    float const alpha = 0.5F;
    nvinfer1::PluginField const one("alpha", &alpha, nvinfer1::PluginFieldType::kFLOAT32, 1);
    nvinfer1::PluginFieldCollection fc{};
    auto create = [&](int32_t nbFields, nvinfer1::PluginField const* fields)
    {
        fc.nbFields = nbFields;
        fc.fields = fields;
        return creator.createPlugin("check", &fc);
    };
    nvinfer1::IPluginV2* plugin = create(1, &one);
    report.check(plugin != nullptr, "createPlugin accepts one float32 alpha");
    destroy(plugin);
    plugin = creator.createPlugin("check", nullptr);
    report.check(plugin != nullptr, "createPlugin(null collection): the default alpha");
    destroy(plugin);
    report.check(survives([&] { return create(2, nullptr) == nullptr; }),
        "createPlugin refuses nbFields 2 with null fields (no SEGV)");
    report.check(survives([&] { return create(-1, &one) == nullptr; }), "createPlugin refuses nbFields -1");
    nvinfer1::PluginField const twice[2] = {one, one};
    report.check(survives([&] { return create(2, twice) == nullptr; }), "createPlugin refuses alpha given twice");
    nvinfer1::PluginField const noData[2] = {nvinfer1::PluginField("alpha", nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1),
        nvinfer1::PluginField("alpha", nullptr, nvinfer1::PluginFieldType::kFLOAT32, 1)};
    report.check(survives([&] { return create(2, noData) == nullptr; }),
        "createPlugin refuses two fields with null data (no SEGV)");
    int32_t const integer = 1;
    nvinfer1::PluginField const wrongType("alpha", &integer, nvinfer1::PluginFieldType::kINT32, 1);
    plugin = create(1, &wrongType);
    report.check(plugin == nullptr, "createPlugin refuses an int32 alpha");
    destroy(plugin);
}

void checkRecords(Report& report, byo::HardSwishPluginCreator& creator)
{
    std::vector<unsigned char> const good = record(0.75F);
    nvinfer1::IPluginV2* plugin = creator.deserializePlugin("check", good.data(), good.size());
    bool roundTrip = false;
    if (plugin != nullptr)
    {
        std::vector<unsigned char> again(plugin->getSerializationSize());
        plugin->serialize(again.data());
        roundTrip = again == good;
    }
    report.check(plugin != nullptr && roundTrip, "deserializePlugin reads a 20-byte record and serializes the same bytes");
    destroy(plugin);
    float const oldAlpha = 0.75F;
    plugin = creator.deserializePlugin("check", &oldAlpha, sizeof(oldAlpha));
    report.check(plugin == nullptr, "deserializePlugin refuses the old 4-byte record (alpha alone)");
    destroy(plugin);
    // Every single-byte change of what the plugin itself serializes (f8ee435: 4 bytes of alpha, 1018 of
    // its 1020 changes accepted).
    float const alpha = 0.75F;
    nvinfer1::PluginField const field("alpha", &alpha, nvinfer1::PluginFieldType::kFLOAT32, 1);
    nvinfer1::PluginFieldCollection const fc{1, &field};
    nvinfer1::IPluginV2* const made = creator.createPlugin("check", &fc);
    std::vector<unsigned char> own(made != nullptr ? made->getSerializationSize() : 0);
    if (made != nullptr)
    {
        made->serialize(own.data());
        made->destroy();
    }
    int accepted = 0;
    for (size_t at = 0; at < own.size(); ++at)
    {
        for (int value = 0; value < 256; ++value)
        {
            if (value == own[at])
            {
                continue;
            }
            std::unique_ptr<unsigned char[]> bad(new unsigned char[own.size()]);
            std::memcpy(bad.get(), own.data(), own.size());
            bad[at] = static_cast<unsigned char>(value);
            plugin = creator.deserializePlugin("check", bad.get(), own.size());
            accepted += plugin != nullptr ? 1 : 0;
            destroy(plugin);
        }
    }
    report.check(!own.empty() && accepted == 0,
        "deserializePlugin refuses all " + std::to_string(own.size() * 255) + " single-byte changes of the "
            + std::to_string(own.size()) + "-byte record the plugin serializes",
        std::to_string(accepted) + " accepted");
}

void checkCalls(Report& report, byo::HardSwishPluginCreator& creator)
{
    nvinfer1::IPluginV2* created = creator.createPlugin("check", nullptr);
    auto* plugin = static_cast<nvinfer1::IPluginV2DynamicExt*>(created);
    if (plugin == nullptr)
    {
        report.check(false, "createPlugin for the call checks");
        return;
    }
    UnusedExprBuilder builder;
    report.check(survives([&] { return plugin->getOutputDimensions(0, nullptr, 1, builder).nbDims == -1; }),
        "getOutputDimensions(null inputs) gives an invalid shape (no SEGV)");
    nvinfer1::DimsExprs nine{};
    nine.nbDims = 9;
    report.check(survives([&] { return plugin->getOutputDimensions(0, &nine, 1, builder).nbDims == -1; }),
        "getOutputDimensions refuses an input of rank 9");
    report.check(survives([&] { return plugin->getOutputDimensions(0, &nine, 0, builder).nbDims == -1; }),
        "getOutputDimensions refuses 0 inputs");
    report.check(survives([&] { return plugin->getOutputDataType(0, nullptr, 1) == nvinfer1::DataType::kFLOAT; }),
        "getOutputDataType(null input types) answers without a SEGV");
    report.check(survives([&] { return !plugin->supportsFormatCombination(0, nullptr, 1, 1); }),
        "supportsFormatCombination(null descriptors) is false (no SEGV)");

    float x[6] = {};
    float y[6] = {};
    void const* inputs[1] = {x};
    void* outputs[1] = {y};
    nvinfer1::PluginTensorDesc desc{};
    desc.type = nvinfer1::DataType::kFLOAT;
    desc.format = nvinfer1::TensorFormat::kLINEAR;
    auto enqueue = [&](std::vector<int64_t> const& dims, int32_t nbDims, void const* const* in, void* const* out)
    {
        desc.dims.nbDims = nbDims;
        for (size_t i = 0; i < dims.size() && i < 8; ++i)
        {
            desc.dims.d[i] = static_cast<std::remove_reference_t<decltype(desc.dims.d[0])>>(dims[i]);
        }
        gLaunches = 0;
        gLastCount = -1;
        return plugin->enqueue(&desc, &desc, in, out, nullptr, nullptr);
    };
    report.check(survives([&] { return plugin->enqueue(nullptr, nullptr, inputs, outputs, nullptr, nullptr) == -1; }),
        "enqueue(null descriptors) fails (no SEGV)");
    report.check(survives([&] { return enqueue({2, 3}, 2, nullptr, outputs) == -1 && gLaunches == 0; }),
        "enqueue(null inputs) fails (no SEGV)");
    int32_t status = enqueue({2, 3}, 2, inputs, outputs);
    report.check(status == 0 && gLaunches == 1 && gLastCount == 6, "enqueue of 2x3 launches 6 elements",
        "status " + std::to_string(status) + ", launches " + std::to_string(gLaunches) + ", count "
            + std::to_string(gLastCount));
    status = enqueue({7, 0}, 2, inputs, outputs);
    report.check(status == 0 && gLaunches == 0, "enqueue of 7x0 succeeds without a launch");
    report.check(survives([&] { return enqueue({65536, 65536, 65536, 65536}, 4, inputs, outputs) == -1 && gLaunches == 0; }),
        "enqueue of 65536^4 (2^64 elements: wraps to 0 unchecked) fails, no launch");
    report.check(survives([&] { return enqueue({1, 1, 1, 1, 1, 1, 1, 1}, 9, inputs, outputs) == -1 && gLaunches == 0; }),
        "enqueue of rank 9 fails, no launch (d[8] never read)");
    report.check(survives([&] { return enqueue({2, -1}, 2, inputs, outputs) == -1 && gLaunches == 0; }),
        "enqueue with a negative dimension fails, no launch");
    void const* nullInput[1] = {nullptr};
    report.check(survives([&] { return enqueue({2, 3}, 2, nullInput, outputs) == -1 && gLaunches == 0; }),
        "enqueue with a null input buffer fails, no launch");
    gSyncs = 0;
    status = enqueue({2, 3}, 2, inputs, outputs);
    report.check(status == 0 && gSyncs == 0, "enqueue makes no synchronizing CUDA call",
        std::to_string(gSyncs) + " cudaStreamSynchronize / cudaDeviceSynchronize / cudaEventSynchronize call(s): "
            "an enqueue that waits for its stream cannot be captured in a CUDA graph");
    plugin->destroy();
}

//! Conformance check 3's host half, as trt_runner --clone-check drives it on a GPU: two clones of one
//! plugin each enqueued, one destroyed, the other enqueued again with the same alpha (under ASan a
//! clone sharing an owned pointer that destroy() frees is a use-after-free report).
void checkClones(Report& report, byo::HardSwishPluginCreator& creator)
{
    float const alpha = 0.75F;
    nvinfer1::PluginField const field("alpha", &alpha, nvinfer1::PluginFieldType::kFLOAT32, 1);
    nvinfer1::PluginFieldCollection const fc{1, &field};
    auto* original = static_cast<nvinfer1::IPluginV2DynamicExt*>(creator.createPlugin("check", &fc));
    if (original == nullptr)
    {
        report.check(false, "createPlugin for the clone lifecycle");
        return;
    }
    float x[6] = {};
    float y[6] = {};
    void const* inputs[1] = {x};
    void* outputs[1] = {y};
    nvinfer1::PluginTensorDesc desc{};
    desc.type = nvinfer1::DataType::kFLOAT;
    desc.format = nvinfer1::TensorFormat::kLINEAR;
    desc.dims.nbDims = 2;
    desc.dims.d[0] = 2;
    desc.dims.d[1] = 3;
    auto alphaOf = [&](nvinfer1::IPluginV2DynamicExt* plugin)
    {
        gLastAlpha = -1.0F;
        return plugin->enqueue(&desc, &desc, inputs, outputs, nullptr, nullptr) == 0 ? gLastAlpha : -1.0F;
    };
    nvinfer1::IPluginV2DynamicExt* a = original->clone();
    nvinfer1::IPluginV2DynamicExt* b = original->clone();
    bool const cloned = a != nullptr && b != nullptr;
    float const before = cloned ? alphaOf(a) : -1.0F;
    float const other = cloned ? alphaOf(b) : -1.0F;
    destroy(b);
    float const after = cloned ? alphaOf(a) : -1.0F;
    report.check(cloned && before == alpha && other == alpha && after == alpha,
        "clone lifecycle: destroying one clone that ran leaves the other's alpha",
        "alpha " + std::to_string(before) + " before, " + std::to_string(after)
            + " after the other clone was destroyed (clone() shares state that destroy() spoils: a shallow clone)");
    destroy(a);
    destroy(original);
}

} // namespace

int main()
{
    Report report;
    byo::HardSwishPluginCreator creator;
    checkFields(report, creator);
    checkRecords(report, creator);
    checkCalls(report, creator);
    checkClones(report, creator);
    return report.finish();
}
