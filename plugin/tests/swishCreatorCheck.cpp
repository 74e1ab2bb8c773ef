// Host-only check of the Swish plugin library's creators: no GPU, no libnvinfer, no CUDA call.
//
//   swish_creator_check path/to/libswish_plugin.so [--load-library-first]
//
// First the registration checks (TensorRT 8.x and >= 11 headers): the library, loaded by a plain
// dlopen (or, with --load-library-first, by the stub registry's loadLibrary), must register every
// creator exactly once, and stay so through a second dlopen, initSwishPlugins, TensorRT's
// loadLibrary, initSwishPlugins again and a namespace move: no registerCreator refused as a
// duplicate, no extra registerCreator call where nothing is missing, nothing logged.
//
// dlopens the library, takes every creator from getPluginCreators (and getCreators on TensorRT >= 10,
// where the V3 creator is told apart by getInterfaceInfo()) and checks that createPlugin refuses an
// unknown field ("Beta"), a repeated field (two "beta") and accepts a valid collection; that the
// "kernel_table" field is taken (a random 3-band table reaches the record / the serialized fields) or
// refused with a logged error (odd length, 9 bands, limits not ascending, last limit not -1, invalid
// or retired kernel id); that records of versions 1 and 2 (before the checksum) are refused saying to
// rebuild the engine, and every single-byte change of a version-3 record is refused (issue 26); that
// selectSwishKernel picks the right band at, just below and just above random
// limits; on TensorRT >= 10 that the V3 tactics are advertised and a tactic never advertised is
// refused; that the V2 getOutputDimensions and the V3 getOutputShapes refuse a bad call with an
// invalid result; and that initSwishPlugins routes the plugin's log to libnvinfer's getLogger()
// without overriding a finder given through setLoggerFinder. One line per check, then
// "swish_creator_check: N passed, M failed"; exit 0 only when every check passes.
//
// selectSwishKernel and isValidSwishKernel are C++ functions of the library (default visibility):
// the check looks them up by their Itanium-mangled names instead of linking the library, because
// it must load the library with dlopen as TensorRT does. The random seed is printed on stderr, and
// SWISH_CHECK_SEED=<n> replays it.
//
// libnvinfer is stood in for by getPluginRegistry() (the stub registry below; no registry after the
// registration checks) and getLogger() (a capturing logger) defined below and exported from this
// executable (ENABLE_EXPORTS), which is where the library's run-time dlsym(RTLD_DEFAULT, ...) finds
// them. Creating plugins touches no CUDA:
// the plugin constructors only copy their parameters.
#include "NvInferRuntime.h"
#include "../swishPlugin/swishPluginParams.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <random>
#include <thread>
#include <atomic>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// The log prefixes (common/pluginWhere.h) the plugins' messages have always started with ("Swish v1 createPlugin:
// beta must be finite", tests/test_gpu_plugin.py).
constexpr tpb::PluginWheres kSwishWhere = tpb::pluginWheresOf<tpb::SwishOp>();
static_assert(tpb::whereTextIs(kSwishWhere.plugin, "Swish v2") && tpb::whereTextIs(kSwishWhere.legacy, "Swish v1")
        && tpb::whereTextIs(kSwishWhere.legacyCreate, "Swish v1 createPlugin")
        && tpb::whereTextIs(kSwishWhere.createBuild, "Swish v2 createPlugin (build)"),
    "Swish's log prefixes");

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

// The registration checks need a stand-in for TensorRT's plugin registry, an abstract class whose
// pure virtuals differ between versions: written for 8.x and >= 11 (the headers this check is built
// against here); against 10.x headers the registration checks are not compiled (said on stderr).
#if NV_TENSORRT_MAJOR < 10 || NV_TENSORRT_MAJOR >= 11
#define TPB_CHECK_REGISTRY 1
#else
#define TPB_CHECK_REGISTRY 0
#endif

namespace
{

//! Whether the stand-in getPluginRegistry() hands out the stub registry (the logger checks need
//! "no registry"). Function-local, like everything mutable in this check.
bool& registryEnabled()
{
    static bool enabled = true;
    return enabled;
}

#if TPB_CHECK_REGISTRY
#if NV_TENSORRT_MAJOR >= 10
using RegistryCreator = nvinfer1::IPluginCreatorInterface;
#else
using RegistryCreator = nvinfer1::IPluginCreator;
#endif

//! Name, version and namespace of a creator of any kind the library hands out.
struct CreatorKey
{
    std::string name;
    std::string version;
    std::string ns;
};

CreatorKey keyOf(RegistryCreator const& creator)
{
#if NV_TENSORRT_MAJOR >= 10
    if (std::strcmp(creator.getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") == 0)
    {
        auto const& v3 = static_cast<nvinfer1::IPluginCreatorV3One const&>(creator);
        return {v3.getPluginName(), v3.getPluginVersion(), v3.getPluginNamespace()};
    }
    auto const& v1 = static_cast<nvinfer1::IPluginCreator const&>(creator);
#else
    auto const& v1 = creator;
#endif
    return {v1.getPluginName(), v1.getPluginVersion(), v1.getPluginNamespace()};
}

class LoggerFinderOf final : public nvinfer1::ILoggerFinder
{
public:
    explicit LoggerFinderOf(nvinfer1::ILogger& logger)
        : mLogger(&logger)
    {
    }
    nvinfer1::ILogger* findLogger() override
    {
        return mLogger;
    }

private:
    nvinfer1::ILogger* mLogger;
};

//! TensorRT's registry as its header documents it: registerCreator refuses (returns false, logs an
//! error) a name/version/namespace it already holds; a lookup that finds nothing logs an error (as
//! TensorRT's does); loadLibrary dlopens the library, hands it a logger finder, registers what
//! getCreators (>= 10; else getPluginCreators) returns and fails if any of them is already
//! registered. Counts every registerCreator call and every refusal.
class StubRegistry final : public nvinfer1::IPluginRegistry
{
public:
    struct Entry
    {
        RegistryCreator* creator;
        CreatorKey key;
    };

    ~StubRegistry() noexcept override = default;

    bool registerCreator(RegistryCreator& creator, nvinfer1::AsciiChar const* const pluginNamespace) noexcept override
    {
        ++mCalls;
        CreatorKey key = keyOf(creator);
        key.ns = pluginNamespace != nullptr ? pluginNamespace : "";
        if (holds(key))
        {
            ++mRefused;
            error("registerCreator: " + key.ns + "::" + key.name + " version " + key.version + " is already registered");
            return false;
        }
        mEntries.push_back({&creator, key});
        return true;
    }

    bool deregisterCreator(RegistryCreator const& creator) noexcept override
    {
        auto const before = mEntries.size();
        mEntries.erase(std::remove_if(mEntries.begin(), mEntries.end(),
                           [&creator](Entry const& entry) { return entry.creator == &creator; }),
            mEntries.end());
        ++mDeregistrations;
        return mEntries.size() != before;
    }

#if NV_TENSORRT_MAJOR >= 10
    RegistryCreator* const* getAllCreators(int32_t* const numCreators) const noexcept override
    {
        return list(numCreators);
    }
    RegistryCreator* getCreator(nvinfer1::AsciiChar const* const name, nvinfer1::AsciiChar const* const version,
        nvinfer1::AsciiChar const* const pluginNamespace) noexcept override
    {
        return find(name, version, pluginNamespace);
    }
    RegistryCreator* const* getAllCreatorsRecursive(int32_t* const numCreators) noexcept override
    {
        return list(numCreators);
    }
    nvinfer1::IPluginResource* acquirePluginResource(
        nvinfer1::AsciiChar const* /*key*/, nvinfer1::IPluginResource* /*resource*/) noexcept override
    {
        return nullptr;
    }
    int32_t releasePluginResource(nvinfer1::AsciiChar const* /*key*/) noexcept override
    {
        return -1;
    }
#else
    RegistryCreator* const* getPluginCreatorList(int32_t* const numCreators) const noexcept override
    {
        return list(numCreators);
    }
    RegistryCreator* getPluginCreator(nvinfer1::AsciiChar const* const name, nvinfer1::AsciiChar const* const version,
        nvinfer1::AsciiChar const* const pluginNamespace) noexcept override
    {
        return find(name, version, pluginNamespace);
    }
#endif

    void setErrorRecorder(nvinfer1::IErrorRecorder* const /*recorder*/) noexcept override {}
    nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
    bool isParentSearchEnabled() const override
    {
        return true;
    }
    void setParentSearchEnabled(bool const /*enabled*/) override {}

    PluginLibraryHandle loadLibrary(nvinfer1::AsciiChar const* pluginPath) noexcept override
    {
        void* handle = dlopen(pluginPath, RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr)
        {
            error(std::string("loadLibrary: cannot dlopen: ") + dlerror());
            return nullptr;
        }
        using SetLoggerFinder = void (*)(nvinfer1::ILoggerFinder*);
        if (auto set = reinterpret_cast<SetLoggerFinder>(dlsym(handle, "setLoggerFinder")))
        {
            set(&mLoaderFinder);
        }
        int32_t count = 0;
        RegistryCreator* const* creators = nullptr;
#if NV_TENSORRT_MAJOR >= 10
        using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*) (int32_t&);
        if (auto get = reinterpret_cast<GetCreators>(dlsym(handle, "getCreators")))
        {
            creators = get(count);
        }
#else
        using GetPluginCreators = nvinfer1::IPluginCreator* const* (*) (int32_t&);
        if (auto get = reinterpret_cast<GetPluginCreators>(dlsym(handle, "getPluginCreators")))
        {
            creators = get(count);
        }
#endif
        if (creators == nullptr)
        {
            error("loadLibrary: the library exports no creator list");
            return nullptr;
        }
        for (int32_t i = 0; i < count; ++i)
        {
            if (holds(keyOf(*creators[i])))
            {
                ++mRefused;
                error("loadLibrary: plugin creator " + keyOf(*creators[i]).name + " exists already");
                return nullptr;
            }
        }
        for (int32_t i = 0; i < count; ++i)
        {
            registerCreator(*creators[i], keyOf(*creators[i]).ns.c_str());
        }
        return handle;
    }
    void deregisterLibrary(PluginLibraryHandle /*handle*/) noexcept override {}

    //! Entries named \p name version \p version (under \p ns, or any namespace when null).
    int32_t count(std::string const& name, std::string const& version, char const* ns = nullptr) const
    {
        return static_cast<int32_t>(std::count_if(mEntries.begin(), mEntries.end(), [&](Entry const& entry) {
            return entry.key.name == name && entry.key.version == version && (ns == nullptr || entry.key.ns == ns);
        }));
    }
    int32_t calls() const
    {
        return mCalls;
    }
    int32_t refused() const
    {
        return mRefused;
    }

private:
    bool holds(CreatorKey const& key) const
    {
        return count(key.name, key.version, key.ns.c_str()) > 0;
    }
    RegistryCreator* const* list(int32_t* const numCreators) const
    {
        mList.clear();
        for (Entry const& entry : mEntries)
        {
            mList.push_back(entry.creator);
        }
        *numCreators = static_cast<int32_t>(mList.size());
        return mList.empty() ? nullptr : mList.data();
    }
    RegistryCreator* find(char const* name, char const* version, char const* ns)
    {
        for (Entry const& entry : mEntries)
        {
            if (entry.key.name == name && entry.key.version == version && entry.key.ns == (ns != nullptr ? ns : ""))
            {
                return entry.creator;
            }
        }
        error(std::string("getCreator could not find plugin ") + name + " version " + version);
        return nullptr;
    }
    void error(std::string const& message)
    {
        nvinferGlobalLogger().log(nvinfer1::ILogger::Severity::kERROR, ("[stub registry] " + message).c_str());
    }

    std::vector<Entry> mEntries;
    mutable std::vector<RegistryCreator*> mList;
    int32_t mCalls{0};
    int32_t mRefused{0};
    int32_t mDeregistrations{0};
    LoggerFinderOf mLoaderFinder{nvinferGlobalLogger()};
};

StubRegistry& stubRegistry()
{
    static StubRegistry registry;
    return registry;
}
#endif

} // namespace

// Stand-ins for libnvinfer's two exported C functions the plugin library looks up at run time.
extern "C" nvinfer1::IPluginRegistry* getPluginRegistry() noexcept
{
#if TPB_CHECK_REGISTRY
    return registryEnabled() ? &stubRegistry() : nullptr;
#else
    return nullptr;
#endif
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

//! The library's C++ functions the checks call directly, looked up by mangled name (see the top).
struct LibraryFunctions
{
    using SelectKernel = tpb::SwishKernel (*)(tpb::SwishParams const&, int64_t) noexcept;
    using IsValidKernel = bool (*)(int32_t) noexcept;
    // The mangled names below spell these signatures: a changed declaration fails to compile here
    // instead of calling through a wrong type.
    static_assert(std::is_same<decltype(&tpb::selectSwishKernel), SelectKernel>::value, "selectSwishKernel changed");
    static_assert(std::is_same<decltype(&tpb::isValidSwishKernel), IsValidKernel>::value, "isValidSwishKernel changed");
    static_assert(std::is_same<int64_t, long>::value, "the mangled name spells int64_t as long ('l')");
    static constexpr char const* kSelectName = "_ZN3tpb17selectSwishKernelERKNS_11SwishParamsEl";
    static constexpr char const* kIsValidName = "_ZN3tpb18isValidSwishKernelEi";

    SelectKernel select{nullptr};
    IsValidKernel isValid{nullptr};
    std::vector<int32_t> validKernels; //!< every id isValidSwishKernel accepts

    explicit LibraryFunctions(void* library)
        : select(reinterpret_cast<SelectKernel>(dlsym(library, kSelectName)))
        , isValid(reinterpret_cast<IsValidKernel>(dlsym(library, kIsValidName)))
    {
        for (int32_t id = 0; isValid != nullptr && id < tpb::kSwishKernelCount; ++id)
        {
            if (isValid(id))
            {
                validKernels.push_back(id);
            }
        }
    }
};

//! A valid table of \p bands bands: random strictly ascending limits (KiB), last -1, random valid
//! kernels, adjacent bands never the same kernel (so the band a size lands in is visible).
std::vector<int32_t> randomTable(std::mt19937& rng, int32_t bands, std::vector<int32_t> const& kernels)
{
    std::vector<int32_t> table;
    std::uniform_int_distribution<int32_t> step(1, 1 << 18);
    std::uniform_int_distribution<size_t> pick(0, kernels.size() - 1);
    int32_t limit = 0;
    int32_t previousKernel = -1;
    for (int32_t band = 0; band < bands; ++band)
    {
        limit += step(rng);
        int32_t kernel = kernels[pick(rng)];
        while (kernels.size() > 1 && kernel == previousKernel)
        {
            kernel = kernels[pick(rng)];
        }
        table.push_back(band == bands - 1 ? tpb::kSwishUnboundedKib : limit);
        table.push_back(kernel);
        previousKernel = kernel;
    }
    return table;
}

//! A table the creators must refuse, and the words the logged error must contain.
struct BadTable
{
    std::string what;
    std::vector<int32_t> table;
    std::string problem;
};

std::vector<BadTable> badTables(std::vector<int32_t> const& valid, std::mt19937& rng)
{
    std::vector<BadTable> cases;
    int32_t const a = valid.front();
    int32_t const b = valid.back();
    cases.push_back({"odd length", {64, a, -1}, "even number of values"});
    std::vector<int32_t> nine = randomTable(rng, tpb::kSwishMaxBands + 1, valid);
    cases.push_back({"9 bands", nine, "at most 8"});
    cases.push_back({"descending limits", {4096, a, 1024, b, -1, a}, "must be above 4096"});
    cases.push_back({"a zero limit", {0, a, -1, b}, "must be above 0"});
    cases.push_back({"-1 before the last band", {-1, a, -1, b}, "must be above 0"});
    cases.push_back({"last limit not -1", {64, a, 1024, b, 4096, a}, "must be -1 (unbounded)"});
    cases.push_back({"invalid kernel id 42", {64, a, -1, 42}, "kernel 42 is not a valid kernel id"});
    cases.push_back({"retired kernel id 11", {64, 11, -1, a}, "kernel 11 is not a valid kernel id"});
    return cases;
}

//! Field collections the checks hand to createPlugin; the PluginFields point into this object.
struct Fields
{
    float beta{1.702F};
    float otherBeta{0.35F};
    int32_t kernel{4};
    std::vector<int32_t> table;
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
    nvinfer1::PluginField tableField()
    {
        // An empty table comes without data, as the field's contract allows.
        return nvinfer1::PluginField("kernel_table", table.empty() ? nullptr : table.data(),
            nvinfer1::PluginFieldType::kINT32, static_cast<int32_t>(table.size()));
    }
    nvinfer1::PluginFieldCollection const* unknownName()
    {
        return set({betaField("Beta", &beta), kernelField()});
    }
    nvinfer1::PluginFieldCollection const* twoBetas()
    {
        return set({betaField("beta", &beta), kernelField(), betaField("beta", &otherBeta)});
    }
    nvinfer1::PluginFieldCollection const* twoTables()
    {
        return set({betaField("beta", &beta), kernelField(), tableField(), tableField()});
    }
    nvinfer1::PluginFieldCollection const* valid()
    {
        return set({betaField("beta", &beta), kernelField()});
    }
    nvinfer1::PluginFieldCollection const* kernelOnly()
    {
        return set({kernelField()});
    }
    //! All three fields; \p values is the table (empty: "no table").
    nvinfer1::PluginFieldCollection const* withTable(std::vector<int32_t> values)
    {
        table = std::move(values);
        return set({betaField("beta", &beta), kernelField(), tableField()});
    }
};

//! The refusal must reach the logger and name the offending field and the allowed names.
void checkRefusalMessage(Report& report, std::string const& what, std::string const& field)
{
    std::vector<std::string> const messages = nvinferGlobalLogger().take();
    bool const named
        = contains(messages, "\"" + field + "\"") && contains(messages, "\"beta\", \"kernel\", \"kernel_table\"");
    report.check(named, what + ": the logged error names \"" + field + "\" and the allowed names", joined(messages));
}

//! A refused table must log an error naming "kernel_table" and the problem.
void checkTableRefusalMessage(Report& report, std::string const& what, std::string const& problem)
{
    std::vector<std::string> const messages = nvinferGlobalLogger().take();
    bool named = false;
    for (std::string const& message : messages)
    {
        named = named
            || (message.find("\"kernel_table\"") != std::string::npos && message.find(problem) != std::string::npos);
    }
    report.check(named, what + ": the logged error names \"kernel_table\" and says \"" + problem + "\"", joined(messages));
}

std::string tableText(std::vector<int32_t> const& table)
{
    std::string out;
    for (size_t i = 0; i < table.size(); ++i)
    {
        out += (i == 0 ? "{" : (i % 2 == 0 ? ", " : ":")) + std::to_string(table[i]);
    }
    return out.empty() ? "{}" : out + "}";
}

//! CRC-32 (IEEE, reflected 0xEDB88320), written here independently of the library's.
uint32_t checkCrc32(unsigned char const* data, size_t length)
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

//! The legacy record as the check expects it. Version 3 (the current one, plugin/swishPlugin/swishRecord.h):
//! magic, version, payload length, payload (beta, kernel, band count, table), CRC-32 of all before it.
//! Versions 1 (magic, version, beta, kernel) and 2 (also band count and table), written before the
//! checksum, only for the refusal checks. \p bands overrides the band count written (-1: table.size() / 2).
std::vector<unsigned char> record(uint32_t version, float beta, int32_t kernel, std::vector<int32_t> const& table,
    int32_t bands = -1, int32_t formats = 0)
{
    std::vector<unsigned char> bytes;
    auto append = [&bytes](auto value) {
        unsigned char raw[sizeof(value)];
        std::memcpy(raw, &value, sizeof(value));
        bytes.insert(bytes.end(), raw, raw + sizeof(value));
    };
    append(uint32_t{0x48535754U});
    append(version);
    if (version >= 3)
    {
        append(static_cast<uint32_t>(12 + 4 * table.size() + (version >= 4 ? 4 : 0)));
    }
    append(beta);
    append(kernel);
    if (version >= 2)
    {
        append(bands >= 0 ? bands : static_cast<int32_t>(table.size() / 2));
        for (int32_t value : table)
        {
            append(value);
        }
    }
    if (version >= 4)
    {
        append(formats); // version 4: the "formats" field after the table
    }
    if (version >= 3)
    {
        append(checkCrc32(bytes.data(), bytes.size()));
    }
    return bytes;
}

//! Every single-byte change of \p good (each byte set to each of its 255 other values, which includes
//! every single-bit flip) given to deserializePlugin: how many were accepted, and the first of them.
int32_t acceptedChanges(nvinfer1::IPluginCreator& creator, std::vector<unsigned char> const& good, std::string& first)
{
    int32_t accepted = 0;
    for (size_t at = 0; at < good.size(); ++at)
    {
        for (int value = 0; value < 256; ++value)
        {
            if (value == good[at])
            {
                continue;
            }
            std::vector<unsigned char> bad = good;
            bad[at] = static_cast<unsigned char>(value);
            nvinfer1::IPluginV2* plugin = creator.deserializePlugin("check", bad.data(), bad.size());
            if (plugin != nullptr)
            {
                if (accepted++ == 0)
                {
                    first = "byte " + std::to_string(at) + " = " + std::to_string(value);
                }
                plugin->destroy();
            }
        }
        nvinferGlobalLogger().take(); // the refusals' messages, dropped as they come
    }
    return accepted;
}

std::vector<unsigned char> serialized(nvinfer1::IPluginV2& plugin)
{
    std::vector<unsigned char> bytes(plugin.getSerializationSize());
    plugin.serialize(bytes.data());
    return bytes;
}

bool namesTheFields(nvinfer1::PluginFieldCollection const* names)
{
    return names != nullptr && names->nbFields == 4 && std::strcmp(names->fields[0].name, "beta") == 0
        && std::strcmp(names->fields[1].name, "kernel") == 0 && std::strcmp(names->fields[2].name, "kernel_table") == 0
        && names->fields[2].type == nvinfer1::PluginFieldType::kINT32 && std::strcmp(names->fields[3].name, "formats") == 0
        && names->fields[3].type == nvinfer1::PluginFieldType::kINT32;
}

void checkV2Tables(Report& report, nvinfer1::IPluginCreator& creator, std::string const& label,
    LibraryFunctions const& library, std::mt19937& rng)
{
    Fields fields;
    report.check(namesTheFields(creator.getFieldNames()), label + " getFieldNames lists beta, kernel, kernel_table, formats");

    std::vector<int32_t> const table = randomTable(rng, 3, library.validKernels);
    nvinfer1::IPluginV2* plugin = creator.createPlugin("check", fields.withTable(table));
    report.check(plugin != nullptr, label + " createPlugin accepts {beta, kernel, kernel_table " + tableText(table) + "}",
        joined(nvinferGlobalLogger().take()));
    if (plugin != nullptr)
    {
        std::vector<unsigned char> const bytes = serialized(*plugin);
        std::vector<unsigned char> const expected = record(4, fields.beta, fields.kernel, table);
        report.check(bytes == expected, label + " the created plugin's record (version 4, 56 bytes) holds the table",
            std::to_string(bytes.size()) + " bytes");
        plugin->destroy();
        nvinfer1::IPluginV2* restored = creator.deserializePlugin("check", expected.data(), expected.size());
        report.check(restored != nullptr && serialized(*restored) == expected,
            label + " deserializePlugin(version 4 record with the table) serializes the same bytes",
            joined(nvinferGlobalLogger().take()));
        if (restored != nullptr)
        {
            restored->destroy();
        }
    }

    plugin = creator.createPlugin("check", fields.withTable({}));
    report.check(plugin != nullptr && serialized(*plugin) == record(4, fields.beta, fields.kernel, {}),
        label + " createPlugin accepts an empty kernel_table (no data): a 32-byte record without bands",
        joined(nvinferGlobalLogger().take()));
    if (plugin != nullptr)
    {
        plugin->destroy();
    }

    fields.table = table;
    plugin = creator.createPlugin("check", fields.twoTables());
    report.check(plugin == nullptr, label + " createPlugin refuses two \"kernel_table\" fields");
    checkRefusalMessage(report, label + " repeated kernel_table", "kernel_table");
    if (plugin != nullptr)
    {
        plugin->destroy();
    }

    for (BadTable const& bad : badTables(library.validKernels, rng))
    {
        plugin = creator.createPlugin("check", fields.withTable(bad.table));
        report.check(plugin == nullptr,
            label + " createPlugin refuses a kernel_table with " + bad.what + " " + tableText(bad.table));
        checkTableRefusalMessage(report, label + " " + bad.what, bad.problem);
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
        if (bad.table.size() % 2 != 0)
        {
            continue; // a record holds whole pairs
        }
        // The same table in a record: deserialization validates what it reads just as createPlugin.
        std::vector<unsigned char> const bytes = record(4, fields.beta, fields.kernel, bad.table);
        plugin = creator.deserializePlugin("check", bytes.data(), bytes.size());
        report.check(plugin == nullptr, label + " deserializePlugin refuses a record whose table has " + bad.what);
        checkTableRefusalMessage(report, label + " record with " + bad.what, bad.problem);
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
    }

    // Records written before the checksum (versions 1 and 2) are refused, saying to rebuild the engine:
    // ~20 % of their single-byte changes decoded as another valid plugin (issue 26).
    float const oldBeta = 0.5F + std::uniform_real_distribution<float>(0.0F, 2.0F)(rng);
    int32_t const oldKernel = library.validKernels[rng() % library.validKernels.size()];
    for (uint32_t const oldVersion : {1U, 2U})
    {
        std::vector<unsigned char> const old = record(oldVersion, oldBeta, oldKernel, oldVersion == 2 ? table : std::vector<int32_t>{});
        plugin = creator.deserializePlugin("check", old.data(), old.size());
        std::vector<std::string> const messages = nvinferGlobalLogger().take();
        report.check(plugin == nullptr && contains(messages, "rebuild the engine"),
            label + " deserializePlugin refuses a version-" + std::to_string(oldVersion)
                + " record (no checksum) and says to rebuild the engine",
            joined(messages));
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
    }
    // Every single-byte change of a record is refused (CRC-32 over header and payload).
    for (std::vector<int32_t> const& flipTable : {std::vector<int32_t>{}, table})
    {
        std::vector<unsigned char> const good = record(4, fields.beta, fields.kernel, flipTable);
        plugin = creator.deserializePlugin("check", good.data(), good.size());
        bool const goodLoads = plugin != nullptr;
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
        std::string first;
        int32_t const accepted = acceptedChanges(creator, good, first);
        report.check(goodLoads && accepted == 0,
            label + " deserializePlugin refuses all " + std::to_string(good.size() * 255) + " single-byte changes of a "
                + std::to_string(good.size()) + "-byte record (accepted: " + std::to_string(accepted) + ")",
            first);
    }
    // a version-3 record (before the formats field) still loads, as formats 0, and serializes as version 4
    {
        std::vector<unsigned char> const v3 = record(3, fields.beta, fields.kernel, table);
        plugin = creator.deserializePlugin("check", v3.data(), v3.size());
        report.check(plugin != nullptr && serialized(*plugin) == record(4, fields.beta, fields.kernel, table),
            label + " deserializePlugin reads a version-3 record (no formats) as formats 0, serializing version 4",
            joined(nvinferGlobalLogger().take()));
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
    }
    std::vector<unsigned char> const v4 = record(4, fields.beta, fields.kernel, table);
    std::vector<unsigned char> longV4 = v4;
    longV4.push_back(0);
    std::vector<unsigned char> const nineBands
        = record(4, fields.beta, fields.kernel, randomTable(rng, 9, library.validKernels));
    std::pair<char const*, std::vector<unsigned char>> const badRecords[] = {
        {"a version-4 record one byte short", std::vector<unsigned char>(v4.begin(), v4.end() - 1)},
        {"a version-4 record one byte long", longV4},
        {"a version-4 record of 9 bands", nineBands},
        {"a version-4 record whose band count disagrees with its payload", record(4, fields.beta, fields.kernel, table, 2)},
        {"a version-4 record with formats 2 (neither 0 nor 1)", record(4, fields.beta, fields.kernel, table, -1, 2)},
        {"a version-5 record", record(5, fields.beta, fields.kernel, table)},
    };
    for (auto const& bad : badRecords)
    {
        plugin = creator.deserializePlugin("check", bad.second.data(), bad.second.size());
        std::vector<std::string> const messages = nvinferGlobalLogger().take();
        report.check(plugin == nullptr && !messages.empty(), label + " deserializePlugin refuses " + bad.first + " (logged)",
            joined(messages));
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
    }
}

//! Issue 26, item 7: enqueue's element count, on paths that never reach CUDA (a refusal, or a count
//! of 0 that launches nothing). 65536^4 is 2^64 elements: f8ee435 multiplied the dims unchecked (signed
//! overflow, in practice 0) and returned success without launching; it must fail. A dim of 0 is really
//! empty: success, nothing launched. Rank 9 and a negative dim fail. Null buffers are passed: a launch
//! would be refused by the kernel launcher's own checks, so none of these touches the GPU.
template <typename Plugin>
void checkEnqueueCounts(Report& report, Plugin& plugin, std::string const& label)
{
    nvinfer1::PluginTensorDesc desc{};
    desc.type = nvinfer1::DataType::kFLOAT;
    desc.format = nvinfer1::TensorFormat::kLINEAR;
    void const* inputs[1] = {nullptr};
    void* outputs[1] = {nullptr};
    auto enqueue = [&](std::vector<int64_t> const& dims, int32_t nbDims)
    {
        desc.dims.nbDims = nbDims;
        for (size_t i = 0; i < dims.size() && i < 8; ++i)
        {
            desc.dims.d[i] = static_cast<std::remove_reference_t<decltype(desc.dims.d[0])>>(dims[i]);
        }
        return plugin.enqueue(&desc, &desc, inputs, outputs, nullptr, nullptr);
    };
    int32_t status = enqueue({65536, 65536, 65536, 65536}, 4);
    std::vector<std::string> logged = nvinferGlobalLogger().take();
    report.check(status != 0 && contains(logged, "overflows int64"),
        label + " enqueue of 65536^4 elements (2^64: wraps to 0 unchecked) fails, naming the overflow",
        "status " + std::to_string(status) + "; logged: " + joined(logged));
    status = enqueue({7, 0}, 2);
    logged = nvinferGlobalLogger().take();
    report.check(status == 0 && logged.empty(), label + " enqueue of 7x0 elements succeeds without a launch",
        "status " + std::to_string(status) + "; logged: " + joined(logged));
    status = enqueue({1, 1, 1, 1, 1, 1, 1, 1}, 9);
    logged = nvinferGlobalLogger().take();
    report.check(status != 0 && !logged.empty(), label + " enqueue of rank 9 fails (logged)", joined(logged));
    status = enqueue({4, -1}, 2);
    logged = nvinferGlobalLogger().take();
    report.check(status != 0 && !logged.empty(), label + " enqueue with a negative dim fails (logged)", joined(logged));
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
    // The record is uint32 magic, uint32 version 4, uint32 payload length, float beta, int32 kernel, int32
    // bandCount (0 here), int32 formats (0), uint32 CRC-32.
    std::vector<unsigned char> const bytes = serialized(*plugin);
    report.check(bytes == record(4, fields.beta, fields.kernel, {}),
        label + " the created plugin holds the given beta and kernel (a 32-byte record, no bands)",
        std::to_string(bytes.size()) + " bytes");

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
        checkEnqueueCounts(report, *dynamic, label);
    }
    plugin->destroy();
}

//! selectSwishKernel: the band holding the size at, just below and just above every limit, 0 bytes
//! and the largest size; the "kernel" field without a table.
void checkSelection(Report& report, LibraryFunctions const& library, std::mt19937& rng)
{
    report.check(library.select != nullptr && library.isValid != nullptr && library.validKernels.size() >= 2,
        "the library exports selectSwishKernel and isValidSwishKernel (by mangled name)");
    if (library.select == nullptr || library.validKernels.size() < 2)
    {
        return;
    }
    tpb::SwishParams noTable;
    noTable.kernel = library.validKernels[rng() % library.validKernels.size()];
    bool fieldDecides = true;
    for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{4096}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()})
    {
        fieldDecides = fieldDecides && static_cast<int32_t>(library.select(noTable, bytes)) == noTable.kernel;
    }
    report.check(fieldDecides, "selectSwishKernel without a table returns the \"kernel\" field at every size");

    std::uniform_int_distribution<int32_t> bandCount(2, tpb::kSwishMaxBands - 1);
    for (int32_t bands : {1, bandCount(rng), tpb::kSwishMaxBands})
    {
        std::vector<int32_t> const table = randomTable(rng, bands, library.validKernels);
        tpb::SwishParams params;
        params.kernel = library.validKernels.front();
        params.bandCount = bands;
        std::copy(table.begin(), table.end(), params.table);
        std::string mismatch;
        auto expect = [&](int64_t bytes, int32_t band) {
            int32_t const got = static_cast<int32_t>(library.select(params, bytes));
            if (got != table[2 * band + 1] && mismatch.empty())
            {
                mismatch = std::to_string(bytes) + " bytes: kernel " + std::to_string(got) + ", expected band "
                    + std::to_string(band) + "'s " + std::to_string(table[2 * band + 1]);
            }
        };
        expect(0, 0);
        expect(std::numeric_limits<int64_t>::max(), bands - 1);
        for (int32_t band = 0; band + 1 < bands; ++band)
        {
            int64_t const limit = int64_t{table[2 * band]} * 1024;
            expect(limit - 1, band);
            expect(limit, band); // "at most upper_kib * 1024" is inside the band
            expect(limit + 1, band + 1);
        }
        report.check(mismatch.empty(),
            "selectSwishKernel picks the band at, just below and just above each limit of " + tableText(table), mismatch);
    }
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

//! The serialized fields are beta, kernel and kernel_table with exactly these values.
bool serializesAs(nvinfer1::IPluginV3OneRuntime* runtime, float beta, int32_t kernel, std::vector<int32_t> const& table)
{
    nvinfer1::PluginFieldCollection const* fields = runtime != nullptr ? runtime->getFieldsToSerialize() : nullptr;
    if (!namesTheFields(fields) || fields->fields[0].length != 1 || fields->fields[1].length != 1
        || fields->fields[2].length != static_cast<int32_t>(table.size()) || fields->fields[3].length != 1
        || fields->fields[3].data == nullptr || *static_cast<int32_t const*>(fields->fields[3].data) != 0)
    {
        return false;
    }
    auto const* values = static_cast<int32_t const*>(fields->fields[2].data);
    return *static_cast<float const*>(fields->fields[0].data) == beta
        && *static_cast<int32_t const*>(fields->fields[1].data) == kernel
        && (table.empty() || (values != nullptr && std::equal(table.begin(), table.end(), values)));
}

nvinfer1::IPluginV3OneRuntime* runtimeOf(nvinfer1::IPluginV3* plugin)
{
    return plugin == nullptr ? nullptr
                             : static_cast<nvinfer1::IPluginV3OneRuntime*>(
                                 capability(*plugin, nvinfer1::PluginCapabilityType::kRUNTIME, "PLUGIN_V3ONE_RUNTIME"));
}

nvinfer1::IPluginV3OneBuild* buildOf(nvinfer1::IPluginV3* plugin)
{
    return plugin == nullptr ? nullptr
                             : static_cast<nvinfer1::IPluginV3OneBuild*>(
                                 capability(*plugin, nvinfer1::PluginCapabilityType::kBUILD, "PLUGIN_V3ONE_BUILD"));
}

//! Tactics of a plugin built with \p table (3 bands): 1 and k + 2 per distinct kernel, settable;
//! tactics never advertised refused; none without a table.
void checkV3Tactics(Report& report, nvinfer1::IPluginCreatorV3One& creator, std::string const& label,
    std::vector<int32_t> const& table, LibraryFunctions const& library)
{
    Fields fields;
    nvinfer1::IPluginV3* plugin = creator.createPlugin("check", fields.withTable(table), nvinfer1::TensorRTPhase::kBUILD);
    nvinfer1::IPluginV3OneBuild* build = buildOf(plugin);
    nvinfer1::IPluginV3OneRuntime* runtime = runtimeOf(plugin);
    if (build == nullptr || runtime == nullptr)
    {
        report.check(false, label + " tactics: a plugin with a table and its build/runtime capabilities");
        delete plugin;
        return;
    }
    std::vector<int32_t> expected{1};
    for (size_t i = 1; i < table.size(); i += 2)
    {
        if (std::find(expected.begin(), expected.end(), table[i] + 2) == expected.end())
        {
            expected.push_back(table[i] + 2);
        }
    }
    int32_t const count = build->getNbTactics();
    report.check(count == static_cast<int32_t>(expected.size()),
        label + " getNbTactics with " + tableText(table) + " is 1 + its distinct kernels", std::to_string(count));
    std::vector<int32_t> tactics(expected.size(), -7);
    int32_t const status = build->getValidTactics(tactics.data(), static_cast<int32_t>(tactics.size()));
    std::vector<int32_t> sortedTactics = tactics;
    std::vector<int32_t> sortedExpected = expected;
    std::sort(sortedTactics.begin(), sortedTactics.end());
    std::sort(sortedExpected.begin(), sortedExpected.end());
    report.check(status == 0 && sortedTactics == sortedExpected,
        label + " getValidTactics gives 1 (the table) and kernel + 2 for each, never 0, each once",
        "status " + std::to_string(status) + ", " + tableText(tactics));
    int32_t wrongRoom = build->getValidTactics(tactics.data(), static_cast<int32_t>(tactics.size()) + 1);
    report.check(wrongRoom != 0 && !nvinferGlobalLogger().take().empty(),
        label + " getValidTactics refuses a buffer of the wrong size (logged)");

    bool allSet = runtime->setTactic(0) == 0;
    for (int32_t tactic : expected)
    {
        allSet = allSet && runtime->setTactic(tactic) == 0;
    }
    report.check(allSet, label + " setTactic accepts 0 and every advertised tactic", joined(nvinferGlobalLogger().take()));

    // Planted wrong tactics: a valid kernel the table does not use, a negative value, one past the ids.
    std::vector<int32_t> wrong{-1, -2, tpb::kSwishKernelCount + 2, 1000};
    for (int32_t kernel : library.validKernels)
    {
        if (std::find(expected.begin(), expected.end(), kernel + 2) == expected.end())
        {
            wrong.push_back(kernel + 2);
            break;
        }
    }
    for (int32_t tactic : wrong)
    {
        int32_t const refused = runtime->setTactic(tactic);
        std::vector<std::string> const messages = nvinferGlobalLogger().take();
        report.check(refused != 0 && contains(messages, "setTactic"),
            label + " setTactic(" + std::to_string(tactic) + ") (never advertised) is refused and logged", joined(messages));
    }

    char const* id = build->getTimingCacheID();
    std::string const first = id != nullptr ? id : "";
    std::string tableInId;
    for (size_t i = 0; i < table.size(); i += 2)
    {
        tableInId += (i == 0 ? "" : ",") + std::to_string(table[i]) + ":" + std::to_string(table[i + 1]);
    }
    nvinfer1::IPluginV3* copy = plugin->clone();
    nvinfer1::IPluginV3OneBuild* copyBuild = buildOf(copy);
    char const* copyId = copyBuild != nullptr ? copyBuild->getTimingCacheID() : nullptr;
    report.check(!first.empty() && first.find(tableInId) != std::string::npos && copyId != nullptr && first == copyId
            && first == build->getTimingCacheID(),
        label + " getTimingCacheID names the table, is stable and equal for a clone", first);
    delete copy;

    nvinfer1::IPluginV3* plain = creator.createPlugin("check", fields.withTable({}), nvinfer1::TensorRTPhase::kBUILD);
    nvinfer1::IPluginV3OneBuild* plainBuild = buildOf(plain);
    nvinfer1::IPluginV3OneRuntime* plainRuntime = runtimeOf(plain);
    if (plainBuild != nullptr && plainRuntime != nullptr)
    {
        int32_t const none = plainBuild->getNbTactics();
        int32_t const defaultTactic = plainRuntime->setTactic(0);
        int32_t const tableTactic = plainRuntime->setTactic(1);
        char const* plainId = plainBuild->getTimingCacheID();
        report.check(none == 0 && defaultTactic == 0 && tableTactic != 0,
            label + " without a table: no tactics, setTactic(0) accepted, setTactic(1) refused",
            std::to_string(none) + " tactics, setTactic(0) " + std::to_string(defaultTactic) + ", setTactic(1) "
                + std::to_string(tableTactic));
        report.check(plainId != nullptr && first != plainId,
            label + " getTimingCacheID differs between the plugin with and without the table");
    }
    else
    {
        report.check(false, label + " a plugin without a table and its capabilities");
    }
    nvinferGlobalLogger().take();
    delete plain;
    delete plugin;
}

void checkV3Creator(Report& report, nvinfer1::IPluginCreatorV3One& creator, std::string const& label,
    LibraryFunctions const& library, std::mt19937& rng)
{
    Fields fields;
    report.check(namesTheFields(creator.getFieldNames()), label + " getFieldNames lists beta, kernel, kernel_table, formats");
    std::vector<int32_t> const table = randomTable(rng, 3, library.validKernels);
    for (nvinfer1::TensorRTPhase phase : {nvinfer1::TensorRTPhase::kBUILD, nvinfer1::TensorRTPhase::kRUNTIME})
    {
        bool const build = phase == nvinfer1::TensorRTPhase::kBUILD;
        std::string const where = label + (build ? " (build)" : " (runtime)");
        nvinfer1::IPluginV3* plugin = creator.createPlugin("check", fields.unknownName(), phase);
        report.check(plugin == nullptr, where + " createPlugin refuses unknown field \"Beta\"");
        checkRefusalMessage(report, where + " unknown field", "Beta");
        delete plugin;

        plugin = creator.createPlugin("check", fields.twoBetas(), phase);
        report.check(plugin == nullptr, where + " createPlugin refuses two \"beta\" fields");
        checkRefusalMessage(report, where + " repeated field", "beta");
        delete plugin;

        // Serialized fields always hold all three, so only the build phase may fall back to defaults.
        plugin = creator.createPlugin("check", fields.kernelOnly(), phase);
        report.check((plugin != nullptr) == build,
            where + (build ? " createPlugin accepts {kernel} (beta defaults)" : " createPlugin refuses {kernel} (beta missing)"),
            joined(nvinferGlobalLogger().take()));
        delete plugin;

        plugin = creator.createPlugin("check", fields.valid(), phase);
        std::vector<std::string> messages = nvinferGlobalLogger().take();
        report.check((plugin != nullptr) == build && (build || contains(messages, "\"kernel_table\" is missing")),
            where
                + (build ? " createPlugin accepts {beta, kernel} (no table)"
                         : " createPlugin refuses {beta, kernel} (\"kernel_table\" missing, logged)"),
            joined(messages));
        delete plugin;

        plugin = creator.createPlugin("check", fields.withTable({}), phase);
        report.check(plugin != nullptr, where + " createPlugin accepts {beta, kernel, kernel_table (length 0)}",
            joined(nvinferGlobalLogger().take()));
        report.check(serializesAs(runtimeOf(plugin), fields.beta, fields.kernel, {}),
            where + " the created plugin serializes the given beta and kernel and an empty kernel_table");
        if (build && runtimeOf(plugin) != nullptr)
        {
            checkEnqueueCounts(report, *runtimeOf(plugin), where);
        }
        delete plugin;

        plugin = creator.createPlugin("check", fields.withTable(table), phase);
        report.check(plugin != nullptr, where + " createPlugin accepts {beta, kernel, kernel_table " + tableText(table) + "}",
            joined(nvinferGlobalLogger().take()));
        report.check(serializesAs(runtimeOf(plugin), fields.beta, fields.kernel, table),
            where + " the created plugin serializes the table (length 6)");
        nvinfer1::IPluginV3OneRuntime* runtime = runtimeOf(plugin);
        if (build && runtime != nullptr)
        {
            // What the build phase serializes is what the runtime phase must take back.
            nvinfer1::IPluginV3* restored
                = creator.createPlugin("check", runtime->getFieldsToSerialize(), nvinfer1::TensorRTPhase::kRUNTIME);
            report.check(serializesAs(runtimeOf(restored), fields.beta, fields.kernel, table),
                where + " the runtime phase takes back getFieldsToSerialize() with the table",
                joined(nvinferGlobalLogger().take()));
            delete restored;
        }
        delete plugin;

        for (BadTable const& bad : badTables(library.validKernels, rng))
        {
            plugin = creator.createPlugin("check", fields.withTable(bad.table), phase);
            report.check(plugin == nullptr,
                where + " createPlugin refuses a kernel_table with " + bad.what + " " + tableText(bad.table));
            checkTableRefusalMessage(report, where + " " + bad.what, bad.problem);
            delete plugin;
        }

        plugin = creator.createPlugin("check", fields.withTable({}), phase);
        auto* buildCapability = buildOf(plugin);
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
    checkV3Tactics(report, creator, label, table, library);
    // Two bands with the same kernel: that kernel is advertised once.
    int32_t const kernel = library.validKernels[rng() % library.validKernels.size()];
    int32_t const other
        = kernel == library.validKernels.front() ? library.validKernels.back() : library.validKernels.front();
    checkV3Tactics(report, creator, label, {table[0], kernel, table[2], other, -1, kernel}, library);
}
#endif

#if TPB_CHECK_REGISTRY
//! The creators the library must register (name, version).
std::vector<std::pair<std::string, std::string>> expectedCreators()
{
    std::vector<std::pair<std::string, std::string>> creators{{tpb::kSwishPluginName, tpb::kSwishPluginLegacyVersion}};
#if NV_TENSORRT_MAJOR >= 10
    creators.emplace_back(tpb::kSwishPluginName, tpb::kSwishPluginV3Version);
#endif
    return creators;
}

//! After \p step: every creator registered exactly once, under \p ns; no registerCreator or
//! loadLibrary refused since \p refusedBefore; nothing logged; with \p noNewCalls, not one
//! registerCreator call since \p callsBefore (a second call for a held creator is what TensorRT
//! logs as an error).
void checkRegisteredOnce(Report& report, std::string const& step, char const* ns, int32_t callsBefore,
    int32_t refusedBefore, bool noNewCalls)
{
    StubRegistry const& registry = stubRegistry();
    std::string detail;
    for (auto const& [name, version] : expectedCreators())
    {
        int32_t const here = registry.count(name, version, ns);
        int32_t const anywhere = registry.count(name, version);
        if (here != 1 || anywhere != 1)
        {
            detail += name + " version " + version + ": " + std::to_string(here) + " under \"" + ns + "\", "
                + std::to_string(anywhere) + " in all; ";
        }
    }
    if (registry.refused() != refusedBefore)
    {
        detail += std::to_string(registry.refused() - refusedBefore) + " registrations refused as duplicates; ";
    }
    if (noNewCalls && registry.calls() != callsBefore)
    {
        detail += std::to_string(registry.calls() - callsBefore) + " more registerCreator calls; ";
    }
    std::vector<std::string> const logged = nvinferGlobalLogger().take();
    if (!logged.empty())
    {
        detail += "logged: " + joined(logged);
    }
    report.check(detail.empty(), step, detail);
}

//! Another library's creator of the same name and version as the Swish V1 creator ("Swish" "1"): what
//! a second plugin library, or another build of this one, puts into the registry.
class ForeignSwishCreator final : public nvinfer1::IPluginCreator
{
public:
    char const* getPluginName() const noexcept override
    {
        return "Swish";
    }
    char const* getPluginVersion() const noexcept override
    {
        return "1";
    }
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override
    {
        return &mFields;
    }
    nvinfer1::IPluginV2* createPlugin(char const* /*name*/, nvinfer1::PluginFieldCollection const* /*fc*/) noexcept override
    {
        return nullptr;
    }
    nvinfer1::IPluginV2* deserializePlugin(char const* /*name*/, void const* /*data*/, size_t /*length*/) noexcept override
    {
        return nullptr;
    }
    void setPluginNamespace(char const* ns) noexcept override
    {
        mNamespace = ns != nullptr ? ns : "";
    }
    char const* getPluginNamespace() const noexcept override
    {
        return mNamespace.c_str();
    }

private:
    nvinfer1::PluginFieldCollection mFields{};
    std::string mNamespace;
};

//! Every way users load the library, combined in one process, registers every creator exactly once.
//! The library was loaded by main (plain dlopen, or the stub's loadLibrary with \p loadLibraryFirst);
//! then: a second dlopen, initSwishPlugins, TensorRT's loadLibrary, initSwishPlugins again, and a
//! move to another namespace and back.
void checkRegistration(Report& report, char const* path, bool loadLibraryFirst, bool loaded)
{
    // The library's own namespace (a build with -DTPB_PLUGIN_NAMESPACE=...): SWISH_CHECK_NAMESPACE.
    char const* const nsText = std::getenv("SWISH_CHECK_NAMESPACE");
    std::string const own = nsText != nullptr ? nsText : "";
    char const* const ns = own.c_str();
    std::string const quoted = "\"" + own + "\"";
    using InitSwishPlugins = int32_t (*)(char const*);
    StubRegistry& registry = stubRegistry();
    int32_t const expected = static_cast<int32_t>(expectedCreators().size());
    std::string const first = loadLibraryFirst ? "loadLibrary as the first load" : "a plain dlopen";
    report.check(loaded, first + " succeeds");
    checkRegisteredOnce(report, first + " registers each creator once under " + quoted, ns, 0, 0, false);
    int32_t refused = registry.refused();

    int32_t calls = registry.calls();
    void* again = dlopen(path, RTLD_NOW | RTLD_LOCAL); // ctypes.CDLL of the same file once more
    auto init = again != nullptr ? reinterpret_cast<InitSwishPlugins>(dlsym(again, "initSwishPlugins")) : nullptr;
    checkRegisteredOnce(report, "a second dlopen registers nothing more", ns, calls, refused, true);
    if (init == nullptr)
    {
        report.check(false, "initSwishPlugins found");
        return;
    }

    int32_t returned = init(ns);
    checkRegisteredOnce(report, "initSwishPlugins(" + quoted + ") after " + first + " registers nothing more", ns, calls,
        refused, true);
    report.check(returned == expected, "initSwishPlugins(" + quoted + ") returns the number of creators registered",
        std::to_string(returned) + ", expected " + std::to_string(expected));
    refused = registry.refused();

    void* handle = registry.loadLibrary(path);
    report.check(handle != nullptr, "TensorRT's loadLibrary after " + first + " succeeds (no creator held twice)");
    checkRegisteredOnce(report, "loadLibrary after " + first + " leaves each creator registered once", ns,
        calls, refused, false);
    refused = registry.refused();

    calls = registry.calls();
    returned = init(nullptr);
    checkRegisteredOnce(report, "initSwishPlugins(nullptr) after loadLibrary registers nothing more (its namespace "
        + quoted + ")", ns, calls, refused, true);
    report.check(returned == expected, "initSwishPlugins(nullptr) after loadLibrary returns " + std::to_string(expected),
        std::to_string(returned));
    refused = registry.refused();

    returned = init("tpb_check");
    checkRegisteredOnce(report, "initSwishPlugins(\"tpb_check\") moves each creator to that namespace", "tpb_check",
        calls, refused, false);
    report.check(returned == expected, "initSwishPlugins(\"tpb_check\") returns " + std::to_string(expected),
        std::to_string(returned));
    refused = registry.refused();
    returned = init(ns);
    checkRegisteredOnce(report, "initSwishPlugins(" + quoted + ") moves them back", ns, calls, refused, false);

    // Another library's "Swish" version 1 holds "tpb_taken": initSwishPlugins("tpb_taken") must fail clearly
    // and leave ours registered where it was (issue 26: it returned 0 and left it registered nowhere).
    ForeignSwishCreator foreign;
    foreign.setPluginNamespace("tpb_taken");
    registry.registerCreator(foreign, "tpb_taken");
    nvinferGlobalLogger().take();
    returned = init("tpb_taken");
    std::vector<std::string> const conflict = nvinferGlobalLogger().take();
    report.check(returned < expected && registry.count("Swish", "1", ns) == 1 && registry.count("Swish", "1", "tpb_taken") == 1
            && contains(conflict, "stays registered under " + quoted),
        "initSwishPlugins(\"tpb_taken\") while another Swish v1 holds it: fails (returns " + std::to_string(returned)
            + " of " + std::to_string(expected) + "), says so, and ours stays registered under " + quoted,
        std::to_string(registry.count("Swish", "1", ns)) + " under " + quoted + "; logged: " + joined(conflict));
    registry.deregisterCreator(foreign);
    refused = registry.refused();
    calls = registry.calls();
    init(ns);
    checkRegisteredOnce(report, "initSwishPlugins(" + quoted + ") afterwards: each creator registered once again", ns,
        calls, refused, false);
    dlclose(again);
}

//! --threads (built with -fsanitize=thread): while 3 threads call initSwishPlugins with changing
//! namespaces (the library serialises them under its mutex), 3 others read the creators'
//! getPluginNamespace() without any lock, as TensorRT's threads do. f8ee435's creators kept the
//! namespace in a std::string written under the mutex and read without it: a data race TSan reports,
//! and a returned pointer that could dangle.
int checkThreads(char const* path)
{
    Report report;
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    using InitSwishPlugins = int32_t (*)(char const*);
    auto init = handle != nullptr ? reinterpret_cast<InitSwishPlugins>(dlsym(handle, "initSwishPlugins")) : nullptr;
    StubRegistry& registry = stubRegistry();
    int32_t count = 0;
#if NV_TENSORRT_MAJOR >= 10
    RegistryCreator* const* listed = registry.getAllCreators(&count);
#else
    RegistryCreator* const* listed = registry.getPluginCreatorList(&count);
#endif
    std::vector<RegistryCreator*> const creators(listed, listed + (listed != nullptr ? count : 0));
    report.check(init != nullptr && !creators.empty(), "the library loads and registers its creators");
    if (init == nullptr || creators.empty())
    {
        return report.finish();
    }
    char const* const namespaces[] = {"", "tpb_a", "tpb_b_a_longer_namespace_than_any_small_string_buffer"};
    std::atomic<bool> stop{false};
    std::atomic<long> reads{0};
    std::atomic<long> unknown{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 3; ++w)
    {
        threads.emplace_back([&, w] {
            for (int i = 0; i < 300; ++i)
            {
                init(namespaces[(i + w) % 3]);
            }
        });
    }
    for (int r = 0; r < 3; ++r)
    {
        threads.emplace_back([&] {
            while (!stop.load())
            {
                for (RegistryCreator* creator : creators)
                {
                    std::string const ns = keyOf(*creator).ns; // getPluginNamespace(), copied: every byte read
                    bool known = false;
                    for (char const* n : namespaces)
                    {
                        known = known || ns == n;
                    }
                    unknown += known ? 0 : 1;
                    ++reads;
                }
            }
        });
    }
    for (int w = 0; w < 3; ++w)
    {
        threads[static_cast<size_t>(w)].join();
    }
    stop = true;
    for (size_t t = 3; t < threads.size(); ++t)
    {
        threads[t].join();
    }
    nvinferGlobalLogger().take();
    report.check(unknown == 0 && reads > 0,
        std::to_string(reads.load()) + " unlocked getPluginNamespace() reads during 900 initSwishPlugins calls from "
            "3 threads all saw a whole namespace");
    init("");
    return report.finish();
}

//! --unload: the library loaded by a plain dlopen registers its creators; after its last dlclose the
//! registry must hold none of them (issue 26: it kept a creator whose code was unmapped, SEGV on use).
int checkUnload(char const* path)
{
    Report report;
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    StubRegistry& registry = stubRegistry();
    int32_t const before = registry.count("Swish", "1") + registry.count("Swish", "2");
    report.check(handle != nullptr && before == static_cast<int32_t>(expectedCreators().size()),
        "a plain dlopen registers the creators (" + std::to_string(before) + ")");
    if (handle == nullptr)
    {
        return report.finish();
    }
    dlclose(handle);
    void* const still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    report.check(still == nullptr, "dlclose of the only handle unmaps the library");
    if (still != nullptr)
    {
        dlclose(still);
    }
    int32_t const after = registry.count("Swish", "1") + registry.count("Swish", "2");
    std::vector<std::string> const logged = nvinferGlobalLogger().take();
    report.check(after == 0, "after dlclose the registry holds none of the library's creators",
        std::to_string(after) + " still registered; logged: " + joined(logged));
    return report.finish();
}
#endif

} // namespace

int main(int argc, char** argv)
{
    bool const loadLibraryFirst = argc == 3 && std::strcmp(argv[2], "--load-library-first") == 0;
    bool const unload = argc == 3 && std::strcmp(argv[2], "--unload") == 0;
    bool const threads = argc == 3 && std::strcmp(argv[2], "--threads") == 0;
    if (argc != 2 && !loadLibraryFirst && !unload && !threads)
    {
        std::fprintf(stderr, "usage: %s path/to/libswish_plugin.so [--load-library-first | --unload | --threads]\n", argv[0]);
        return 2;
    }
#if TPB_CHECK_REGISTRY
    if (unload)
    {
        return checkUnload(argv[1]);
    }
    if (threads)
    {
        return checkThreads(argv[1]);
    }
#else
    if (unload || threads)
    {
        std::fprintf(stderr, "swish_creator_check: --unload needs the registration checks (not compiled here)\n");
        return 2;
    }
#endif
    Report report;
    // The library registers its creators while it is loaded: load it the way the registration check
    // is told to, with the stub registry in place, before anything else touches it.
    bool loaded = false;
#if TPB_CHECK_REGISTRY
    if (loadLibraryFirst)
    {
        loaded = stubRegistry().loadLibrary(argv[1]) != nullptr;
    }
#else
    std::fprintf(stderr, "swish_creator_check: registration checks not compiled for TensorRT %d headers\n",
        NV_TENSORRT_MAJOR);
#endif
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
    {
        std::fprintf(stderr, "swish_creator_check: cannot dlopen %s: %s\n", argv[1], dlerror());
        return 2;
    }
#if TPB_CHECK_REGISTRY
    checkRegistration(report, argv[1], loadLibraryFirst, loadLibraryFirst ? loaded : true);
#else
    static_cast<void>(loaded);
#endif
    // The checks below want no registry (initSwishPlugins must fail and log): TensorRT's absent.
    registryEnabled() = false;
    nvinferGlobalLogger().take();
    using SetLoggerFinder = void (*)(nvinfer1::ILoggerFinder*);
    using GetPluginCreators = nvinfer1::IPluginCreator* const* (*) (int32_t&);
    using InitSwishPlugins = int32_t (*)(char const*);
    auto setLoggerFinder = reinterpret_cast<SetLoggerFinder>(dlsym(library, "setLoggerFinder"));
    auto getPluginCreators = reinterpret_cast<GetPluginCreators>(dlsym(library, "getPluginCreators"));
    auto initSwishPlugins = reinterpret_cast<InitSwishPlugins>(dlsym(library, "initSwishPlugins"));
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

    // Random tables and sizes; the seed is printed so that a failure can be replayed.
    char const* const seedText = std::getenv("SWISH_CHECK_SEED");
    uint32_t const seed
        = seedText != nullptr ? static_cast<uint32_t>(std::strtoul(seedText, nullptr, 10)) : std::random_device{}();
    // On stderr: stdout holds only PASS/FAIL lines and the summary.
    std::fprintf(stderr, "swish_creator_check: seed %u (SWISH_CHECK_SEED=%u replays it)\n", static_cast<unsigned>(seed),
        static_cast<unsigned>(seed));
    std::mt19937 rng(seed);
    LibraryFunctions const functions(library);
    checkSelection(report, functions, rng);
    if (functions.validKernels.size() < 2)
    {
        return report.finish();
    }

    int32_t count = 0;
    nvinfer1::IPluginCreator* const* creators = getPluginCreators(count);
    report.check(creators != nullptr && count == 1, "getPluginCreators returns 1 creator", std::to_string(count));
    for (int32_t i = 0; creators != nullptr && i < count; ++i)
    {
        std::string const label = "getPluginCreators[" + std::to_string(i) + "] Swish v1";
        checkV2Creator(report, *creators[i], label);
        checkV2Tables(report, *creators[i], label, functions, rng);
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
            checkV2Tables(report, *static_cast<nvinfer1::IPluginCreator*>(interfaces[i]), label, functions, rng);
        }
        else if (std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") == 0 && info.major == 1)
        {
            ++v3;
            checkV3Creator(report, *static_cast<nvinfer1::IPluginCreatorV3One*>(interfaces[i]), label, functions, rng);
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
