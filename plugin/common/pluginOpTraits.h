// What every operator's traits type (<op>PluginParams.h: SwishOp, GeluOp, ...) declares for the plugin
// plumbing both versions share (pluginV3Base.h and pluginV2Base.h list what each member does), so that
// only what differs is written per operator: the constants (kName, kVersion, kNbInputs, kFieldCount, ...),
// Params and, for operators that check shapes at configurePlugin, checkShapes. The members themselves are
// defined in <op>PluginParams.cpp.
#pragma once

#include "NvInferRuntime.h"
#include "pluginWhere.h"

#include <cstddef>
#include <cstdint>

//! Inside `struct <Op>Op { ... };`, after `using Params` and kFieldCount: the log prefixes (pluginWhere.h)
//! and the functions the plugin bases call.
#define TPB_PLUGIN_OP_MEMBERS                                                                                          \
    static const ::tpb::PluginWheres kWhere;                                                                           \
    static bool supportsCombination(int32_t pos, int32_t nbInputs, int32_t nbOutputs,                                  \
        nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& first,                               \
        Params const& params) noexcept;                                                                                \
    static int writeTimingCacheHead(Params const& params, char* head, size_t size) noexcept;                           \
    static void serializedFields(Params& params, nvinfer1::PluginField(&fields)[kFieldCount]) noexcept;                \
    static nvinfer1::PluginField describeField(int32_t index) noexcept;                                                \
    static bool parseFields(nvinfer1::PluginFieldCollection const* fc, Params& params, char const* where,              \
        bool build) noexcept;                                                                                          \
    static size_t recordSize(Params const& params) noexcept;                                                           \
    static bool writeRecord(Params const& params, void* buffer, size_t capacity) noexcept;                             \
    static bool readRecord(void const* data, size_t length, Params& params, char const* where) noexcept;               \
    static int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs,                     \
        void* const* outputs, Params const& launch, cudaStream_t stream, char const* where) noexcept
