// Host-only check of the GELU plugins' fields and record (no GPU, no libnvinfer: TensorRT's headers
// only), built and run by tests/test_gelu.py where TENSORRT_INCLUDE_DIR names TensorRT include dirs.
//
// Every bad value of "approximation", "kernel" and "kernel_table" (wrong value, wrong type, wrong length,
// no data, unknown or repeated name, a missing field where all are required) must be refused by
// parseGeluFields, with a message naming the field (captured through the plugin log's ILoggerFinder), the
// caller's params untouched; good collections and records must pass; a record with a flipped byte, a
// wrong magic or version, or a refused value must be refused by readGeluRecord. Prints
// "gelu_field_check: all passed" and exits 0 only if every case holds.
#include "geluPluginParams.h"
#include "pluginLog.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// The launch is not exercised here (enqueueGelu needs a GPU): stubs for the CUDA symbols
// geluPluginParams.cpp references, so the check links without the CUDA runtime.
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

class RecordingLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity, nvinfer1::AsciiChar const* message) noexcept override
    {
        last = message;
    }
    std::string last;
};

class Finder final : public nvinfer1::ILoggerFinder
{
public:
    explicit Finder(nvinfer1::ILogger* logger)
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

RecordingLogger gLogger;
int gFailed = 0;
int gPassed = 0;

void expect(bool ok, char const* what)
{
    if (ok)
    {
        ++gPassed;
        return;
    }
    ++gFailed;
    std::printf("FAIL: %s (last message: %s)\n", what, gLogger.last.c_str());
}

using nvinfer1::PluginField;
using nvinfer1::PluginFieldType;

bool sameParams(tpb::GeluParams const& a, tpb::GeluParams const& b)
{
    return std::memcmp(&a, &b, sizeof(a)) == 0;
}

//! parseGeluFields on \p fields must refuse, leave the params as they were and log \p mention.
void expectRefused(std::vector<PluginField> const& fields, char const* mention, char const* what,
    tpb::GeluFieldPolicy policy = tpb::GeluFieldPolicy::kDEFAULTS_ALLOWED)
{
    nvinfer1::PluginFieldCollection collection{};
    collection.nbFields = static_cast<int32_t>(fields.size());
    collection.fields = fields.data();
    tpb::GeluParams params;
    params.kernel = 5; // not the default: a refused collection must leave it
    tpb::GeluParams const before = params;
    gLogger.last.clear();
    bool const accepted = tpb::parseGeluFields(&collection, params, "check", policy);
    bool const named = gLogger.last.find(mention) != std::string::npos;
    expect(!accepted && sameParams(params, before) && named, what);
    if (named)
    {
        std::printf("  refused %-44s -> %s\n", what, gLogger.last.c_str());
    }
}

} // namespace

int main()
{
    Finder finder(&gLogger);
    tpb::setPluginLoggerFinder(&finder);
    int32_t const erf = 0;
    int32_t const tanh = 1;
    int32_t const two = 2;
    int32_t const minusOne = -1;
    int32_t const kernelOk = 2;
    int32_t const kernelPastEnd = tpb::kGeluKernelCount;
    float const floatOne = 1.0F;
    int32_t const goodTable[4] = {1024, 1, -1, 2};
    int32_t const tableNotAscending[6] = {1024, 1, 512, 2, -1, 3};
    int32_t const tableLastBounded[4] = {1024, 1, 4096, 2};
    int32_t const tableBadKernel[4] = {1024, 1, -1, 99};
    int32_t const oddTable[3] = {1024, 1, -1};

    // good collections
    {
        std::vector<PluginField> fields{PluginField("approximation", &tanh, PluginFieldType::kINT32, 1),
            PluginField("kernel", &kernelOk, PluginFieldType::kINT32, 1),
            PluginField("kernel_table", goodTable, PluginFieldType::kINT32, 4)};
        nvinfer1::PluginFieldCollection collection{static_cast<int32_t>(fields.size()), fields.data()};
        tpb::GeluParams params;
        bool const ok = tpb::parseGeluFields(&collection, params, "check", tpb::GeluFieldPolicy::kALL_REQUIRED);
        expect(ok && params.approximation == 1 && params.kernel == 2 && params.bandCount == 2, "all fields given");
        // the record round trip of what was parsed
        std::vector<unsigned char> record(tpb::geluRecordSize(params));
        expect(tpb::writeGeluRecord(params, record.data(), record.size()), "record written");
        tpb::GeluParams decoded;
        expect(tpb::readGeluRecord(record.data(), record.size(), decoded, "check") && sameParams(decoded, params),
            "record round trip");
        // every single flipped byte is refused (CRC-32, magic, version, length)
        int refused = 0;
        for (size_t i = 0; i < record.size(); ++i)
        {
            std::vector<unsigned char> bad = record;
            bad[i] ^= 0x10;
            tpb::GeluParams out;
            refused += tpb::readGeluRecord(bad.data(), bad.size(), out, "check") ? 0 : 1;
        }
        expect(refused == static_cast<int>(record.size()), "every flipped record byte refused");
        expect(!tpb::readGeluRecord(record.data(), record.size() - 1, decoded, "check"), "a short record refused");
        // a record carrying a value the fields refuse (approximation 2), with a right checksum, is refused too
        tpb::GeluParams wrongValue = params;
        wrongValue.approximation = 2;
        std::vector<unsigned char> wrong(tpb::geluRecordSize(wrongValue));
        expect(tpb::writeGeluRecord(wrongValue, wrong.data(), wrong.size())
                && !tpb::readGeluRecord(wrong.data(), wrong.size(), decoded, "check")
                && gLogger.last.find("approximation") != std::string::npos,
            "a record with approximation 2 refused, naming the field");
    }
    {
        tpb::GeluParams params;
        expect(tpb::parseGeluFields(nullptr, params, "check", tpb::GeluFieldPolicy::kDEFAULTS_ALLOWED)
                && params.approximation == 0 && params.kernel == tpb::kGeluDefaultKernelId,
            "no collection: the defaults (erf form, the default kernel)");
        expect(!tpb::parseGeluFields(nullptr, params, "check", tpb::GeluFieldPolicy::kALL_REQUIRED),
            "no collection refused where all fields are required");
    }

    // bad values, each refused with the field named
    expectRefused({PluginField("approximation", &two, PluginFieldType::kINT32, 1)}, "\"approximation\"",
        "approximation 2");
    expectRefused({PluginField("approximation", &minusOne, PluginFieldType::kINT32, 1)}, "\"approximation\"",
        "approximation -1");
    expectRefused({PluginField("approximation", &floatOne, PluginFieldType::kFLOAT32, 1)}, "\"approximation\"",
        "approximation as kFLOAT32");
    expectRefused({PluginField("approximation", goodTable, PluginFieldType::kINT32, 2)}, "\"approximation\"",
        "approximation of length 2");
    expectRefused({PluginField("approximation", nullptr, PluginFieldType::kINT32, 1)}, "\"approximation\"",
        "approximation without data");
    expectRefused({PluginField("approximation", &erf, PluginFieldType::kINT32, 1),
                      PluginField("approximation", &tanh, PluginFieldType::kINT32, 1)},
        "\"approximation\" given more than once", "approximation twice");
    expectRefused({PluginField("Approximation", &erf, PluginFieldType::kINT32, 1)}, "unknown field \"Approximation\"",
        "a misspelt name");
    expectRefused({PluginField("beta", &floatOne, PluginFieldType::kFLOAT32, 1)}, "unknown field \"beta\"",
        "Swish's field");
    expectRefused({PluginField("kernel", &kernelPastEnd, PluginFieldType::kINT32, 1)}, "\"kernel\"",
        "kernel one past the last id");
    expectRefused({PluginField("kernel", &minusOne, PluginFieldType::kINT32, 1)}, "\"kernel\"", "kernel -1");
    expectRefused({PluginField("kernel_table", oddTable, PluginFieldType::kINT32, 3)}, "\"kernel_table\"",
        "a table of odd length");
    expectRefused({PluginField("kernel_table", tableNotAscending, PluginFieldType::kINT32, 6)}, "must be above 1024",
        "a table whose limits do not ascend");
    expectRefused({PluginField("kernel_table", tableLastBounded, PluginFieldType::kINT32, 4)}, "\"kernel_table\"",
        "a table whose last band is bounded");
    expectRefused({PluginField("kernel_table", tableBadKernel, PluginFieldType::kINT32, 4)}, "\"kernel_table\"",
        "a table naming kernel 99");
    expectRefused({PluginField("approximation", &erf, PluginFieldType::kINT32, 1)}, "\"kernel\" is missing",
        "a missing field where all are required", tpb::GeluFieldPolicy::kALL_REQUIRED);

    // the field descriptions TensorRT reads (getFieldNames)
    expect(std::strcmp(tpb::describeGeluField(0).name, "approximation") == 0
            && tpb::describeGeluField(0).type == PluginFieldType::kINT32
            && std::strcmp(tpb::describeGeluField(1).name, "kernel") == 0
            && std::strcmp(tpb::describeGeluField(2).name, "kernel_table") == 0 && tpb::kGeluFieldCount == 3,
        "getFieldNames lists approximation, kernel, kernel_table");

    // The log prefixes GeluOp::kWhere holds (common/pluginWhere.h, defined in geluPluginParams.cpp): the texts
    // the plugins' messages have always started with, which logs and the GPU tests are read for.
    tpb::PluginWheres const& where = tpb::GeluOp::kWhere;
    expect(std::strcmp(where.plugin, "Gelu v2") == 0
            && std::strcmp(where.createBuild, "Gelu v2 createPlugin (build)") == 0
            && std::strcmp(where.createRuntime, "Gelu v2 createPlugin (runtime)") == 0
            && std::strcmp(where.legacy, "Gelu v1") == 0 && std::strcmp(where.legacyCreate, "Gelu v1 createPlugin") == 0
            && std::strcmp(where.legacyDeserialize, "Gelu v1 deserializePlugin") == 0,
        "GeluOp::kWhere: \"Gelu v2\", \"Gelu v2 createPlugin (build)\", ..., \"Gelu v1 deserializePlugin\"");

    std::printf("gelu_field_check: %d passed, %d failed\n", gPassed, gFailed);
    if (gFailed == 0)
    {
        std::printf("gelu_field_check: all passed\n");
    }
    return gFailed == 0 ? 0 : 1;
}
