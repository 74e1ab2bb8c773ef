#include "pluginLog.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace tpb
{
namespace
{

// The one piece of mutable library-wide state, and it has to be: TensorRT hands the logger finder
// to the library once through the C entry point setLoggerFinder(), and every plugin/creator object
// logs through it later from any thread. An atomic pointer makes the hand-over race-free without a
// lock. Function-local so it is initialised on first use (no static-init-order dependence).
std::atomic<nvinfer1::ILoggerFinder*>& loggerFinderSlot() noexcept
{
    static std::atomic<nvinfer1::ILoggerFinder*> slot{nullptr};
    return slot;
}

char const* severityName(nvinfer1::ILogger::Severity severity) noexcept
{
    switch (severity)
    {
    case nvinfer1::ILogger::Severity::kINTERNAL_ERROR: return "INTERNAL_ERROR";
    case nvinfer1::ILogger::Severity::kERROR: return "ERROR";
    case nvinfer1::ILogger::Severity::kWARNING: return "WARNING";
    case nvinfer1::ILogger::Severity::kINFO: return "INFO";
    case nvinfer1::ILogger::Severity::kVERBOSE: return "VERBOSE";
    }
    return "UNKNOWN";
}

nvinfer1::ILogger* findLogger() noexcept
{
    nvinfer1::ILoggerFinder* const finder = loggerFinderSlot().load(std::memory_order_acquire);
    if (finder == nullptr)
    {
        return nullptr;
    }
    try
    {
        // findLogger() is not declared noexcept; nothing may escape into TensorRT.
        return finder->findLogger();
    }
    catch (...)
    {
        return nullptr;
    }
}

} // namespace

void setPluginLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept
{
    loggerFinderSlot().store(finder, std::memory_order_release);
}

bool setPluginLoggerFinderIfUnset(nvinfer1::ILoggerFinder* finder) noexcept
{
    nvinfer1::ILoggerFinder* expected = nullptr;
    return loggerFinderSlot().compare_exchange_strong(expected, finder, std::memory_order_acq_rel);
}

// The library's name in every message: "Swish" (libswish_plugin.so), or the identifier a target sets with
// TPB_LOG_PREFIX_ID (libtpb_ops_plugin.so: TpbOps).
#ifdef TPB_LOG_PREFIX_ID
#define TPB_LOG_STRINGIFY_IMPL(x) #x
#define TPB_LOG_STRINGIFY(x) TPB_LOG_STRINGIFY_IMPL(x)
#define TPB_LOG_PREFIX TPB_LOG_STRINGIFY(TPB_LOG_PREFIX_ID)
#else
#define TPB_LOG_PREFIX "Swish"
#endif

void logPluginMessage(nvinfer1::ILogger::Severity severity, char const* where, char const* format, ...) noexcept
{
    char message[512];
    int const prefixLength
        = std::snprintf(message, sizeof(message), "[" TPB_LOG_PREFIX "] %s: ", where != nullptr ? where : "");
    size_t const offset
        = prefixLength < 0 ? 0 : (static_cast<size_t>(prefixLength) < sizeof(message) ? prefixLength : sizeof(message) - 1);
    va_list arguments;
    va_start(arguments, format);
    std::vsnprintf(message + offset, sizeof(message) - offset, format, arguments);
    va_end(arguments);

    if (nvinfer1::ILogger* const logger = findLogger())
    {
        logger->log(severity, message);
        return;
    }
    std::fprintf(stderr, "[%s] %s\n", severityName(severity), message);
}

} // namespace tpb
