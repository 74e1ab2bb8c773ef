// Host-only check of the Swish plugin library's creators: no GPU, no libnvinfer, no CUDA call.
//
//   swish_creator_check path/to/libswish_plugin.so
//
// dlopens the library, takes every creator from getPluginCreators (and getCreators on TensorRT >= 10,
// where the V3 creator is told apart by getInterfaceInfo()) and checks that createPlugin refuses an
// unknown field ("Beta"), a repeated field (two "beta") and accepts a valid collection; that the V2
// getOutputDimensions and the V3 getOutputShapes refuse a bad call with an invalid result; and that
// initSwishPlugins routes the plugin's log to libnvinfer's getLogger() without overriding a finder
// given through setLoggerFinder. One line per check, then "swish_creator_check: N passed, M failed";
// exit 0 only when every check passes.
//
// libnvinfer is stood in for by getPluginRegistry() (returns no registry) and getLogger() (a
// capturing logger) defined below and exported from this executable (ENABLE_EXPORTS), which is
// where the library's run-time dlsym(RTLD_DEFAULT, ...) finds them. Creating plugins touches no CUDA:
// the plugin constructors only copy their parameters.
#include "NvInferRuntime.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <utility>
#include <vector>

namespace
{

class CapturingLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override
    {
        if (severity <= Severity::kWARNING && message != nullptr)
        {
            try
            {
                mMessages.emplace_back(message);
            }
            catch (...)
            {
            }
        }
    }

    //! The messages logged since the last call, and forget them.
    std::vector<std::string> take()
    {
        std::vector<std::string> messages;
        messages.swap(mMessages);
        return messages;
    }

private:
    std::vector<std::string> mMessages;
};

//! The logger libnvinfer's getLogger() hands out in this stand-in for libnvinfer.
CapturingLogger& nvinferGlobalLogger()
{
    static CapturingLogger logger;
    return logger;
}

} // namespace

// Stand-ins for libnvinfer's two exported C functions the plugin library looks up at run time.
extern "C" nvinfer1::IPluginRegistry* getPluginRegistry() noexcept
{
    return nullptr;
}

extern "C" nvinfer1::ILogger* getLogger() noexcept
{
    return &nvinferGlobalLogger();
}

namespace
{

class FixedLoggerFinder final : public nvinfer1::ILoggerFinder
{
public:
    explicit FixedLoggerFinder(nvinfer1::ILogger* logger)
        : mLogger(logger)
    {
    }
    nvinfer1::ILogger* findLogger() override
    {
        return mLogger;
    }

private:
    nvinfer1::ILogger* mLogger;
};

//! An IExprBuilder the plugins never call: Swish's output shape is its input shape.
class UnusedExprBuilder final : public nvinfer1::IExprBuilder
{
public:
    UnusedExprBuilder()
    {
        mImpl = nullptr;
    }
    ~UnusedExprBuilder() noexcept override = default;
};

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
        std::printf("swish_creator_check: %d passed, %d failed\n", mPassed, mFailed);
        return mFailed == 0 ? 0 : 1;
    }

private:
    int mPassed{0};
    int mFailed{0};
};

bool contains(std::vector<std::string> const& messages, std::string const& needle)
{
    for (std::string const& message : messages)
    {
        if (message.find(needle) != std::string::npos)
        {
            return true;
        }
    }
    return false;
}

std::string joined(std::vector<std::string> const& messages)
{
    std::string out;
    for (std::string const& message : messages)
    {
        out += (out.empty() ? "" : " | ") + message;
    }
    return out.empty() ? "nothing logged" : out;
}

//! Field collections the checks hand to createPlugin; the PluginFields point into this object.
struct Fields
{
    float beta{1.702F};
    float otherBeta{0.35F};
    int32_t kernel{4};
    std::vector<nvinfer1::PluginField> list;
    nvinfer1::PluginFieldCollection collection{};

    nvinfer1::PluginFieldCollection const* set(std::vector<nvinfer1::PluginField> fields)
    {
        list = std::move(fields);
        collection.nbFields = static_cast<int32_t>(list.size());
        collection.fields = list.data();
        return &collection;
    }
    nvinfer1::PluginField betaField(char const* name, float* value)
    {
        return nvinfer1::PluginField(name, value, nvinfer1::PluginFieldType::kFLOAT32, 1);
    }
    nvinfer1::PluginField kernelField()
    {
        return nvinfer1::PluginField("kernel", &kernel, nvinfer1::PluginFieldType::kINT32, 1);
    }
    nvinfer1::PluginFieldCollection const* unknownName()
    {
        return set({betaField("Beta", &beta), kernelField()});
    }
    nvinfer1::PluginFieldCollection const* twoBetas()
    {
        return set({betaField("beta", &beta), kernelField(), betaField("beta", &otherBeta)});
    }
    nvinfer1::PluginFieldCollection const* valid()
    {
        return set({betaField("beta", &beta), kernelField()});
    }
    nvinfer1::PluginFieldCollection const* kernelOnly()
    {
        return set({kernelField()});
    }
};

//! The refusal must reach the logger and name the offending field and the allowed names.
void checkRefusalMessage(Report& report, std::string const& what, std::string const& field)
{
    std::vector<std::string> const messages = nvinferGlobalLogger().take();
    bool const named = contains(messages, "\"" + field + "\"") && contains(messages, "\"beta\", \"kernel\"");
    report.check(named, what + ": the logged error names \"" + field + "\" and the allowed names", joined(messages));
}

void checkV2Creator(Report& report, nvinfer1::IPluginCreator& creator, std::string const& label)
{
    Fields fields;
    nvinfer1::IPluginV2* plugin = creator.createPlugin("check", fields.unknownName());
    report.check(plugin == nullptr, label + " createPlugin refuses unknown field \"Beta\"");
    checkRefusalMessage(report, label + " unknown field", "Beta");
    if (plugin != nullptr)
    {
        plugin->destroy();
    }

    plugin = creator.createPlugin("check", fields.twoBetas());
    report.check(plugin == nullptr, label + " createPlugin refuses two \"beta\" fields");
    checkRefusalMessage(report, label + " repeated field", "beta");
    if (plugin != nullptr)
    {
        plugin->destroy();
    }

    plugin = creator.createPlugin("check", fields.valid());
    report.check(plugin != nullptr, label + " createPlugin accepts {beta, kernel}", joined(nvinferGlobalLogger().take()));
    if (plugin == nullptr)
    {
        return;
    }
    // The record is uint32 magic, uint32 version, float beta, int32 kernel.
    unsigned char record[16] = {};
    bool const sized = plugin->getSerializationSize() == sizeof(record);
    float beta = 0.0F;
    int32_t kernel = -1;
    if (sized)
    {
        plugin->serialize(record);
        std::memcpy(&beta, record + 8, sizeof(beta));
        std::memcpy(&kernel, record + 12, sizeof(kernel));
    }
    report.check(sized && beta == fields.beta && kernel == fields.kernel,
        label + " the created plugin holds the given beta and kernel",
        "beta " + std::to_string(beta) + ", kernel " + std::to_string(kernel));

    bool const dynamicExt = (static_cast<uint32_t>(plugin->getTensorRTVersion()) >> 24U)
        == static_cast<uint32_t>(nvinfer1::PluginVersion::kV2_DYNAMICEXT);
    report.check(dynamicExt, label + " the plugin is an IPluginV2DynamicExt");
    if (dynamicExt)
    {
        auto* dynamic = static_cast<nvinfer1::IPluginV2DynamicExt*>(plugin);
        UnusedExprBuilder builder;
        nvinfer1::DimsExprs inputs[2]{};
        inputs[0].nbDims = 2;
        inputs[1].nbDims = 2;
        nvinfer1::DimsExprs const badIndex = dynamic->getOutputDimensions(1, inputs, 1, builder);
        report.check(badIndex.nbDims == -1, label + " getOutputDimensions(outputIndex 1) returns nbDims -1",
            "nbDims " + std::to_string(badIndex.nbDims));
        nvinfer1::DimsExprs const badInputs = dynamic->getOutputDimensions(0, inputs, 2, builder);
        report.check(badInputs.nbDims == -1, label + " getOutputDimensions(2 inputs) returns nbDims -1",
            "nbDims " + std::to_string(badInputs.nbDims));
        nvinfer1::DimsExprs const good = dynamic->getOutputDimensions(0, inputs, 1, builder);
        report.check(good.nbDims == 2, label + " getOutputDimensions(output 0 of 1 input) returns the input's rank",
            "nbDims " + std::to_string(good.nbDims));
        nvinferGlobalLogger().take();
    }
    plugin->destroy();
}

#if NV_TENSORRT_MAJOR >= 10
nvinfer1::IPluginCapability* capability(
    nvinfer1::IPluginV3& plugin, nvinfer1::PluginCapabilityType type, char const* kind)
{
    nvinfer1::IPluginCapability* const found = plugin.getCapabilityInterface(type);
    if (found == nullptr || std::strcmp(found->getInterfaceInfo().kind, kind) != 0 || found->getInterfaceInfo().major != 1)
    {
        return nullptr;
    }
    return found;
}

void checkV3Creator(Report& report, nvinfer1::IPluginCreatorV3One& creator, std::string const& label)
{
    Fields fields;
    for (nvinfer1::TensorRTPhase phase : {nvinfer1::TensorRTPhase::kBUILD, nvinfer1::TensorRTPhase::kRUNTIME})
    {
        std::string const where = label + (phase == nvinfer1::TensorRTPhase::kBUILD ? " (build)" : " (runtime)");
        nvinfer1::IPluginV3* plugin = creator.createPlugin("check", fields.unknownName(), phase);
        report.check(plugin == nullptr, where + " createPlugin refuses unknown field \"Beta\"");
        checkRefusalMessage(report, where + " unknown field", "Beta");
        delete plugin;

        plugin = creator.createPlugin("check", fields.twoBetas(), phase);
        report.check(plugin == nullptr, where + " createPlugin refuses two \"beta\" fields");
        checkRefusalMessage(report, where + " repeated field", "beta");
        delete plugin;

        // Serialized fields always hold both, so only the build phase may fall back to a default.
        plugin = creator.createPlugin("check", fields.kernelOnly(), phase);
        bool const build = phase == nvinfer1::TensorRTPhase::kBUILD;
        report.check((plugin != nullptr) == build,
            where + (build ? " createPlugin accepts {kernel} (beta defaults)" : " createPlugin refuses {kernel} (beta missing)"),
            joined(nvinferGlobalLogger().take()));
        delete plugin;

        plugin = creator.createPlugin("check", fields.valid(), phase);
        report.check(plugin != nullptr, where + " createPlugin accepts {beta, kernel}", joined(nvinferGlobalLogger().take()));
        if (plugin == nullptr)
        {
            continue;
        }
        auto* runtime = static_cast<nvinfer1::IPluginV3OneRuntime*>(
            capability(*plugin, nvinfer1::PluginCapabilityType::kRUNTIME, "PLUGIN_V3ONE_RUNTIME"));
        bool holds = false;
        if (runtime != nullptr)
        {
            nvinfer1::PluginFieldCollection const* serialized = runtime->getFieldsToSerialize();
            holds = serialized != nullptr && serialized->nbFields == 2
                && std::strcmp(serialized->fields[0].name, "beta") == 0
                && *static_cast<float const*>(serialized->fields[0].data) == fields.beta
                && std::strcmp(serialized->fields[1].name, "kernel") == 0
                && *static_cast<int32_t const*>(serialized->fields[1].data) == fields.kernel;
        }
        report.check(holds, where + " the created plugin serializes the given beta and kernel");

        auto* buildCapability = static_cast<nvinfer1::IPluginV3OneBuild*>(
            capability(*plugin, nvinfer1::PluginCapabilityType::kBUILD, "PLUGIN_V3ONE_BUILD"));
        if (build && buildCapability != nullptr)
        {
            UnusedExprBuilder builder;
            nvinfer1::DimsExprs inputs[1]{};
            inputs[0].nbDims = 2;
            nvinfer1::DimsExprs outputs[2]{};
            outputs[0].nbDims = 7; // sentinels: a refused call must write nothing
            outputs[1].nbDims = 7;
            int32_t const refused = buildCapability->getOutputShapes(inputs, 1, nullptr, 0, outputs, 2, builder);
            report.check(refused != 0 && outputs[0].nbDims == 7 && outputs[1].nbDims == 7,
                where + " getOutputShapes(2 outputs) fails and writes nothing",
                "status " + std::to_string(refused) + ", outputs[0].nbDims " + std::to_string(outputs[0].nbDims));
            int32_t const accepted = buildCapability->getOutputShapes(inputs, 1, nullptr, 0, outputs, 1, builder);
            report.check(accepted == 0 && outputs[0].nbDims == 2, where + " getOutputShapes(1 output) copies the input shape");
            nvinferGlobalLogger().take();
        }
        delete plugin;
    }
}
#endif

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::fprintf(stderr, "usage: %s path/to/libswish_plugin.so\n", argv[0]);
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
    {
        std::fprintf(stderr, "swish_creator_check: cannot dlopen %s: %s\n", argv[1], dlerror());
        return 2;
    }
    using SetLoggerFinder = void (*)(nvinfer1::ILoggerFinder*);
    using GetPluginCreators = nvinfer1::IPluginCreator* const* (*) (int32_t&);
    using InitSwishPlugins = int32_t (*)(char const*);
    auto setLoggerFinder = reinterpret_cast<SetLoggerFinder>(dlsym(library, "setLoggerFinder"));
    auto getPluginCreators = reinterpret_cast<GetPluginCreators>(dlsym(library, "getPluginCreators"));
    auto initSwishPlugins = reinterpret_cast<InitSwishPlugins>(dlsym(library, "initSwishPlugins"));
    Report report;
    report.check(setLoggerFinder != nullptr && getPluginCreators != nullptr && initSwishPlugins != nullptr,
        "the library exports setLoggerFinder, getPluginCreators and initSwishPlugins");
    if (setLoggerFinder == nullptr || getPluginCreators == nullptr || initSwishPlugins == nullptr)
    {
        return report.finish();
    }

    // Logger routing. A finder given through setLoggerFinder (what loadLibrary does) must be kept ...
    CapturingLogger hostLogger;
    FixedLoggerFinder hostFinder(&hostLogger);
    setLoggerFinder(&hostFinder);
    int32_t registered = initSwishPlugins("");
    std::vector<std::string> host = hostLogger.take();
    std::vector<std::string> global = nvinferGlobalLogger().take();
    report.check(registered == -1 && contains(host, "[Swish] initSwishPlugins") && global.empty(),
        "initSwishPlugins keeps the finder given through setLoggerFinder",
        "returned " + std::to_string(registered) + "; host logger: " + joined(host) + "; getLogger(): " + joined(global));
    // ... and without one, initSwishPlugins must route the plugin's messages to getLogger().
    setLoggerFinder(nullptr);
    registered = initSwishPlugins("");
    global = nvinferGlobalLogger().take();
    report.check(registered == -1 && contains(global, "[Swish] initSwishPlugins"),
        "initSwishPlugins routes the plugin's log to libnvinfer's getLogger()",
        "returned " + std::to_string(registered) + "; getLogger(): " + joined(global));

    int32_t count = 0;
    nvinfer1::IPluginCreator* const* creators = getPluginCreators(count);
    report.check(creators != nullptr && count == 1, "getPluginCreators returns 1 creator", std::to_string(count));
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        checkV2Creator(report, *creators[i], "getPluginCreators[" + std::to_string(i) + "] Swish v1");
    }

#if NV_TENSORRT_MAJOR >= 10
    using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*) (int32_t&);
    auto getCreators = reinterpret_cast<GetCreators>(dlsym(library, "getCreators"));
    report.check(getCreators != nullptr, "the library exports getCreators (TensorRT >= 10)");
    nvinfer1::IPluginCreatorInterface* const* interfaces = getCreators != nullptr ? getCreators(count) : nullptr;
    int32_t v1 = 0;
    int32_t v3 = 0;
    for (int32_t i = 0; interfaces != nullptr && i < count; ++i)
    {
        // TensorRT's way to tell creator kinds apart: the interface kind and major version.
        nvinfer1::InterfaceInfo const info = interfaces[i]->getInterfaceInfo();
        std::string const label = "getCreators[" + std::to_string(i) + "] " + info.kind;
        if (std::strcmp(info.kind, "PLUGIN CREATOR_V1") == 0 && info.major == 1)
        {
            ++v1;
            checkV2Creator(report, *static_cast<nvinfer1::IPluginCreator*>(interfaces[i]), label);
        }
        else if (std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") == 0 && info.major == 1)
        {
            ++v3;
            checkV3Creator(report, *static_cast<nvinfer1::IPluginCreatorV3One*>(interfaces[i]), label);
        }
        else
        {
            report.check(false, label, "unknown creator interface");
        }
    }
    report.check(v1 == 1 && v3 == 1, "getCreators returns one V1 and one V3 creator",
        std::to_string(v1) + " V1, " + std::to_string(v3) + " V3");
#endif
    return report.finish();
}
