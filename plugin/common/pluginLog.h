// Error/warning logging for the plugin library. Messages go to the ILogger that TensorRT hands
// out through the ILoggerFinder given to setLoggerFinder(); before that (or if it yields no
// logger) they go to stderr. Never throws, never allocates.
#pragma once

#include "NvInferRuntime.h"

namespace tpb
{

//! Remember the finder passed to the library entry point setLoggerFinder(). Thread-safe.
void setPluginLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept;

//! Install \p finder only if no finder is set yet (a fallback for hosts that never call
//! setLoggerFinder): a finder TensorRT handed over always wins. Returns true if \p finder was
//! installed. Thread-safe.
bool setPluginLoggerFinderIfUnset(nvinfer1::ILoggerFinder* finder) noexcept;

//! printf-style message prefixed with "[<library>] <where>: " (pluginLog.cpp: Swish, or TPB_LOG_PREFIX_ID).
void logPluginMessage(nvinfer1::ILogger::Severity severity, char const* where, char const* format, ...) noexcept
    __attribute__((format(printf, 3, 4)));

} // namespace tpb

#define TPB_LOG_ERROR(where, ...) ::tpb::logPluginMessage(nvinfer1::ILogger::Severity::kERROR, (where), __VA_ARGS__)
#define TPB_LOG_WARNING(where, ...)                                                                                    \
    ::tpb::logPluginMessage(nvinfer1::ILogger::Severity::kWARNING, (where), __VA_ARGS__)
