// Host-only check of libtpb_ops_plugin.so's creators and GELU plugins (no GPU, no libnvinfer): built by
// tests/test_gelu.py with g++ from the plugin's host sources (api/opsPluginLibrary.cpp, geluPlugin/*.cpp,
// common/*.cpp) and a stub of the CUDA launch, against each TensorRT include dir TENSORRT_INCLUDE_DIR
// names (8.6: the V2 plugin; >= 10: the V3 plugin too). It calls the library's own entry points
// (getPluginCreators, getCreators) and then what TensorRT calls on a plugin before enqueue: the creator's
// name, version and fields; createPlugin with good and bad fields; the output type and shape; the
// format combinations; serialize -> deserializePlugin -> the same bytes; a corrupted record refused;
// clone; for V3 the capability interfaces, getFieldsToSerialize and the runtime phase's createPlugin.
// Prints "ops_creator_check: all passed" and exits 0 only if every case holds.
#include "NvInferRuntime.h"
#include "geluKernel.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// The library's entry points (api/opsPluginLibrary.cpp), linked in.
extern "C" nvinfer1::IPluginCreator* const* getPluginCreators(int32_t& nbCreators);
#if NV_TENSORRT_MAJOR >= 10
extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);
#endif

// The kernels are not run here: stubs for geluKernel.cu's functions (the table's validity as the real ones).
namespace tpb
{
cudaError_t launchGelu(void const*, void*, int64_t, GeluApproximation, GeluDataType, GeluKernel, cudaStream_t) noexcept
{
    return cudaErrorInvalidValue;
}
bool isValidGeluKernel(int32_t kernel) noexcept
{
    return kernel >= 0 && kernel < kGeluKernelCount;
}
bool isValidGeluApproximation(int32_t approximation) noexcept
{
    return approximation == 0 || approximation == 1;
}
bool isValidGeluDataType(int32_t dtype) noexcept
{
    return dtype >= 0 && dtype <= 2;
}
char const* geluKernelName(int32_t) noexcept
{
    return nullptr;
}
} // namespace tpb
extern "C" char const* cudaGetErrorName(cudaError_t)
{
    return "stub";
}
extern "C" char const* cudaGetErrorString(cudaError_t)
{
    return "stub";
}

namespace
{

int gPassed = 0;
int gFailed = 0;

void expect(bool ok, char const* what)
{
    ok ? ++gPassed : ++gFailed;
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what);
}

using nvinfer1::DataType;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldType;
using nvinfer1::TensorFormat;

std::vector<unsigned char> serialized(nvinfer1::IPluginV2DynamicExt const& plugin)
{
    std::vector<unsigned char> bytes(plugin.getSerializationSize());
    plugin.serialize(bytes.data());
    return bytes;
}

nvinfer1::PluginTensorDesc desc(DataType type, TensorFormat format)
{
    nvinfer1::PluginTensorDesc d{};
    d.type = type;
    d.format = format;
    d.dims.nbDims = 3;
    d.dims.d[0] = 2;
    d.dims.d[1] = 3;
    d.dims.d[2] = 5;
    return d;
}

void checkLegacy()
{
    int32_t count = 0;
    nvinfer1::IPluginCreator* const* creators = getPluginCreators(count);
    expect(creators != nullptr && count >= 1, "getPluginCreators lists the legacy creators");
    nvinfer1::IPluginCreator* gelu = nullptr;
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        if (std::strcmp(creators[i]->getPluginName(), "Gelu") == 0)
        {
            gelu = creators[i];
        }
    }
    expect(gelu != nullptr && std::strcmp(gelu->getPluginVersion(), "1") == 0, "Gelu version 1 is among them");
    if (gelu == nullptr)
    {
        return;
    }
    nvinfer1::PluginFieldCollection const* names = gelu->getFieldNames();
    expect(names != nullptr && names->nbFields == 3 && std::strcmp(names->fields[0].name, "approximation") == 0
            && std::strcmp(names->fields[1].name, "kernel") == 0 && std::strcmp(names->fields[2].name, "kernel_table") == 0,
        "getFieldNames: approximation, kernel, kernel_table");

    int32_t const tanh = 1;
    int32_t const kernel = 3;
    int32_t const two = 2;
    PluginField good[] = {PluginField("approximation", &tanh, PluginFieldType::kINT32, 1),
        PluginField("kernel", &kernel, PluginFieldType::kINT32, 1)};
    nvinfer1::PluginFieldCollection goodCollection{2, good};
    auto* plugin = static_cast<nvinfer1::IPluginV2DynamicExt*>(gelu->createPlugin("gelu", &goodCollection));
    expect(plugin != nullptr, "createPlugin with approximation 1, kernel 3");
    PluginField bad[] = {PluginField("approximation", &two, PluginFieldType::kINT32, 1)};
    nvinfer1::PluginFieldCollection badCollection{1, bad};
    expect(gelu->createPlugin("bad", &badCollection) == nullptr, "createPlugin refuses approximation 2");
    if (plugin == nullptr)
    {
        return;
    }
    expect(plugin->getNbOutputs() == 1 && std::strcmp(plugin->getPluginType(), "Gelu") == 0
            && std::strcmp(plugin->getPluginVersion(), "1") == 0,
        "one output, type Gelu, version 1");
    DataType const half = DataType::kHALF;
    expect(plugin->getOutputDataType(0, &half, 1) == DataType::kHALF, "the output type is the input's");
    nvinfer1::PluginTensorDesc io[2] = {desc(DataType::kFLOAT, TensorFormat::kLINEAR), desc(DataType::kFLOAT, TensorFormat::kLINEAR)};
    bool const fp32 = plugin->supportsFormatCombination(0, io, 1, 1) && plugin->supportsFormatCombination(1, io, 1, 1);
    io[0] = io[1] = desc(DataType::kHALF, TensorFormat::kLINEAR);
    bool const fp16 = plugin->supportsFormatCombination(0, io, 1, 1) && plugin->supportsFormatCombination(1, io, 1, 1);
    io[1] = desc(DataType::kFLOAT, TensorFormat::kLINEAR);
    bool const mixed = plugin->supportsFormatCombination(1, io, 1, 1);
    io[0] = desc(DataType::kINT8, TensorFormat::kLINEAR);
    bool const int8 = plugin->supportsFormatCombination(0, io, 1, 1);
    io[0] = desc(DataType::kFLOAT, TensorFormat::kCHW32);
    bool const chw32 = plugin->supportsFormatCombination(0, io, 1, 1);
    expect(fp32 && fp16 && !mixed && !int8 && !chw32, "formats: fp32 and fp16 linear, output type = input type");
    expect(plugin->getWorkspaceSize(nullptr, 1, nullptr, 1) == 0, "no workspace");

    std::vector<unsigned char> const bytes = serialized(*plugin);
    expect(bytes.size() == 28, "serialization: 28 bytes without a table");
    auto* back = static_cast<nvinfer1::IPluginV2DynamicExt*>(gelu->deserializePlugin("gelu", bytes.data(), bytes.size()));
    expect(back != nullptr && serialized(*back) == bytes, "deserializePlugin gives the same record back");
    std::vector<unsigned char> corrupted = bytes;
    corrupted[bytes.size() / 2] ^= 0x01;
    expect(gelu->deserializePlugin("gelu", corrupted.data(), corrupted.size()) == nullptr, "a corrupted record is refused");
    plugin->setPluginNamespace("ns");
    nvinfer1::IPluginV2DynamicExt* copy = plugin->clone();
    expect(copy != nullptr && serialized(*copy) == bytes && std::strcmp(copy->getPluginNamespace(), "ns") == 0,
        "clone keeps the parameters and the namespace");
    for (nvinfer1::IPluginV2DynamicExt* p : {plugin, back, copy})
    {
        if (p != nullptr)
        {
            p->destroy();
        }
    }
}

#if NV_TENSORRT_MAJOR >= 10
void checkV3()
{
    int32_t count = 0;
    nvinfer1::IPluginCreatorInterface* const* creators = getCreators(count);
    nvinfer1::IPluginCreatorV3One* gelu = nullptr;
    int32_t legacy = 0;
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        nvinfer1::InterfaceInfo const info = creators[i]->getInterfaceInfo();
        if (std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") == 0)
        {
            auto* v3 = static_cast<nvinfer1::IPluginCreatorV3One*>(creators[i]);
            if (std::strcmp(v3->getPluginName(), "Gelu") == 0)
            {
                gelu = v3;
            }
        }
        else
        {
            ++legacy;
        }
    }
    expect(gelu != nullptr && std::strcmp(gelu->getPluginVersion(), "2") == 0 && legacy >= 1,
        "getCreators lists the legacy creators and Gelu version 2");
    if (gelu == nullptr)
    {
        return;
    }
    int32_t const erf = 0;
    int32_t const kernel = 2;
    int32_t const two = 2;
    PluginField good[] = {PluginField("approximation", &erf, PluginFieldType::kINT32, 1),
        PluginField("kernel", &kernel, PluginFieldType::kINT32, 1)};
    nvinfer1::PluginFieldCollection goodCollection{2, good};
    nvinfer1::IPluginV3* plugin = gelu->createPlugin("gelu", &goodCollection, nvinfer1::TensorRTPhase::kBUILD);
    expect(plugin != nullptr, "V3 createPlugin (build phase)");
    PluginField bad[] = {PluginField("approximation", &two, PluginFieldType::kINT32, 1)};
    nvinfer1::PluginFieldCollection badCollection{1, bad};
    expect(gelu->createPlugin("bad", &badCollection, nvinfer1::TensorRTPhase::kBUILD) == nullptr,
        "V3 createPlugin refuses approximation 2");
    expect(gelu->createPlugin("partial", &goodCollection, nvinfer1::TensorRTPhase::kRUNTIME) == nullptr,
        "V3 runtime phase refuses a collection without kernel_table");
    if (plugin == nullptr)
    {
        return;
    }
    auto* core = static_cast<nvinfer1::IPluginV3OneCore*>(plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kCORE));
    auto* runtime
        = static_cast<nvinfer1::IPluginV3OneRuntime*>(plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
    expect(core != nullptr && runtime != nullptr && std::strcmp(core->getPluginName(), "Gelu") == 0
            && std::strcmp(core->getPluginVersion(), "2") == 0,
        "V3 capabilities: core (Gelu, 2) and runtime");
    if (runtime != nullptr)
    {
        nvinfer1::PluginFieldCollection const* fields = runtime->getFieldsToSerialize();
        nvinfer1::IPluginV3* again
            = fields == nullptr ? nullptr : gelu->createPlugin("gelu", fields, nvinfer1::TensorRTPhase::kRUNTIME);
        expect(fields != nullptr && fields->nbFields == 3 && again != nullptr,
            "getFieldsToSerialize feeds the runtime phase's createPlugin");
        delete again;
    }
    nvinfer1::IPluginV3* copy = plugin->clone();
    expect(copy != nullptr, "V3 clone");
    delete copy;
    delete plugin;
}
#endif

} // namespace

int main()
{
    checkLegacy();
#if NV_TENSORRT_MAJOR >= 10
    checkV3();
#endif
    std::printf("ops_creator_check: %d passed, %d failed (TensorRT %d headers)\n", gPassed, gFailed, NV_TENSORRT_MAJOR);
    if (gFailed == 0)
    {
        std::printf("ops_creator_check: all passed\n");
    }
    return gFailed == 0 ? 0 : 1;
}
