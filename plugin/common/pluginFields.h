// The strict reading of a plugin's field collection and the kernel table, one body for every operator here
// (Swish, GELU, the row norms; both plugin versions of each). An operator lists its fields once, as an array
// of PluginFieldSpec over its params struct (name, type, the member's offset, a kernel table's bands); from
// that list come the parsing of createPlugin's collection (readPluginFields: an unknown, repeated, mistyped,
// mis-sized or data-less field refused with a logged error naming it and the allowed names; in the V3
// runtime phase a missing one too), getFieldNames()'s descriptions (describePluginField) and the V3
// plugin's getFieldsToSerialize() (serializePluginFields). The values themselves are the operator's to
// validate (beta finite, eps > 0, ...); the kernel table's form is checked here (validateKernelTable), and
// the kernel for a tensor's bytes chosen from it (selectBandKernel).
//
// The kernel table: bandCount pairs table[2i] = upper_kib, table[2i + 1] = kernel id; band i covers tensors
// of bytes above band i-1's limit and at most upper_kib * 1024, limits ascending strictly from 1 KiB, the
// last one kUnboundedKib (-1); bandCount 0: no table (the params' "kernel" at every size).
//
// Inline functions and templates only (no static data members, no function-local statics: see
// pluginV3Base.h), so no build list changes where a Params.cpp includes it.
#pragma once

#include "NvInferRuntime.h"
#include "pluginLog.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tpb
{

constexpr int32_t kUnboundedKib = -1;

//! One field of an operator's collection, over its params struct (standard layout, trivially copyable).
struct PluginFieldSpec
{
    char const* name;
    nvinfer1::PluginFieldType type; //!< kFLOAT32 or kINT32: one 4-byte value, or the table's int32 pairs
    size_t offset;                  //!< offsetof(Params, member): the value, or the table's first entry
    int32_t maxBands{0};            //!< 0: one value; > 0: a kernel table of 0 .. maxBands pairs
    size_t bandCountOffset{0};      //!< a table's offsetof(Params, bandCount)
    bool optional{false};           //!< may be missing in the V3 runtime phase too (a field added later)
};

namespace fieldsDetail
{

inline char const* typeName(nvinfer1::PluginFieldType type) noexcept
{
    switch (type)
    {
    case nvinfer1::PluginFieldType::kFLOAT16: return "kFLOAT16";
    case nvinfer1::PluginFieldType::kFLOAT32: return "kFLOAT32";
    case nvinfer1::PluginFieldType::kFLOAT64: return "kFLOAT64";
    case nvinfer1::PluginFieldType::kINT8: return "kINT8";
    case nvinfer1::PluginFieldType::kINT16: return "kINT16";
    case nvinfer1::PluginFieldType::kINT32: return "kINT32";
    case nvinfer1::PluginFieldType::kCHAR: return "kCHAR";
    default: return "another type";
    }
}

//! One value of \p spec's type, with data; logged under \p where otherwise.
inline bool checkScalar(nvinfer1::PluginField const& field, PluginFieldSpec const& spec, char const* where) noexcept
{
    if (field.type != spec.type)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be %s, got %s", field.name, typeName(spec.type), typeName(field.type));
        return false;
    }
    if (field.length != 1)
    {
        TPB_LOG_ERROR(
            where, "field \"%s\" must hold exactly 1 value, got %d", field.name, static_cast<int>(field.length));
        return false;
    }
    if (field.data == nullptr)
    {
        TPB_LOG_ERROR(where, "field \"%s\" has no data", field.name);
        return false;
    }
    return true;
}

//! A kernel table's field into \p bytes (the params): bandCount and the pairs, the rest of the table zeroed.
//! False (logged) for a wrong type, an odd or negative length, too many bands or missing data; the values
//! are validateKernelTable's to check.
inline bool readTable(
    nvinfer1::PluginField const& field, PluginFieldSpec const& spec, unsigned char* bytes, char const* where) noexcept
{
    if (field.type != nvinfer1::PluginFieldType::kINT32)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must be kINT32, got %s", field.name, typeName(field.type));
        return false;
    }
    if (field.length < 0 || field.length % 2 != 0)
    {
        TPB_LOG_ERROR(where, "field \"%s\" must hold pairs (upper_kib, kernel): an even number of values, got %d",
            field.name, static_cast<int>(field.length));
        return false;
    }
    int32_t const bands = field.length / 2;
    if (bands > spec.maxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", field.name, static_cast<int>(bands),
            static_cast<int>(spec.maxBands));
        return false;
    }
    // Length 0 is "no table" and may come without data; a table needs its values.
    if (bands > 0 && field.data == nullptr)
    {
        TPB_LOG_ERROR(where, "field \"%s\" has no data", field.name);
        return false;
    }
    std::memcpy(bytes + spec.bandCountOffset, &bands, sizeof(int32_t));
    std::memset(bytes + spec.offset, 0, sizeof(int32_t) * 2 * static_cast<size_t>(spec.maxBands));
    if (bands > 0)
    {
        std::memcpy(bytes + spec.offset, field.data, sizeof(int32_t) * static_cast<size_t>(field.length));
    }
    return true;
}

template <int32_t N>
int32_t indexOf(char const* name, PluginFieldSpec const (&specs)[N]) noexcept
{
    for (int32_t index = 0; index < N; ++index)
    {
        if (std::strcmp(name, specs[index].name) == 0)
        {
            return index;
        }
    }
    return -1;
}

} // namespace fieldsDetail

//! Reads a field collection over the values already in \p params (its defaults, or what the caller set),
//! by \p specs; \p allowedNames lists them for the messages ("\"beta\", \"kernel\", ..."). Refused, with an
//! error logged under \p where naming the field and the allowed names: a malformed collection, a field
//! without a name, an unknown (case-sensitive: a misspelling must not silently build the default) or
//! repeated name (which value was meant is ambiguous), a wrong type or length, missing data and, with
//! \p allRequired (the V3 runtime phase: the collection is what getFieldsToSerialize() wrote), a missing
//! field that is not optional, or no collection at all. A null collection otherwise means "all defaults".
//! The values read are then the operator's to judge: \p validate (logging under \p where what it refuses).
//! \p params is written only on success.
template <typename Params, int32_t N>
bool readPluginFields(nvinfer1::PluginFieldCollection const* fields, PluginFieldSpec const (&specs)[N],
    char const* allowedNames, Params& params, char const* where, bool allRequired,
    bool (*validate)(Params const&, char const*) noexcept) noexcept
{
    static_assert(std::is_trivially_copyable<Params>::value && std::is_standard_layout<Params>::value,
        "fields are copied into the params bytewise, at their members' offsets");
    if (fields == nullptr)
    {
        if (allRequired)
        {
            TPB_LOG_ERROR(where, "no field collection (expected %s)", allowedNames);
            return false;
        }
        return validate(params, where);
    }
    if (fields->nbFields < 0 || (fields->nbFields > 0 && fields->fields == nullptr))
    {
        TPB_LOG_ERROR(where, "malformed field collection (nbFields=%d)", static_cast<int>(fields->nbFields));
        return false;
    }
    // Decoded into a copy so that a refused collection leaves the caller's params untouched.
    Params parsed = params;
    auto* const bytes = reinterpret_cast<unsigned char*>(&parsed);
    bool seen[N] = {};
    for (int32_t i = 0; i < fields->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fields->fields[i];
        if (field.name == nullptr)
        {
            TPB_LOG_ERROR(where, "field %d has no name", static_cast<int>(i));
            return false;
        }
        int32_t const index = fieldsDetail::indexOf(field.name, specs);
        if (index < 0)
        {
            TPB_LOG_ERROR(where, "unknown field \"%s\" (allowed: %s)", field.name, allowedNames);
            return false;
        }
        if (seen[index])
        {
            TPB_LOG_ERROR(
                where, "field \"%s\" given more than once (allowed: %s, each at most once)", field.name, allowedNames);
            return false;
        }
        seen[index] = true;
        PluginFieldSpec const& spec = specs[index];
        if (spec.maxBands > 0)
        {
            if (!fieldsDetail::readTable(field, spec, bytes, where))
            {
                return false;
            }
        }
        else if (!fieldsDetail::checkScalar(field, spec, where))
        {
            return false;
        }
        else
        {
            std::memcpy(bytes + spec.offset, field.data, sizeof(int32_t)); // kFLOAT32 or kINT32: 4 bytes
        }
    }
    for (int32_t index = 0; allRequired && index < N; ++index)
    {
        if (!seen[index] && !specs[index].optional)
        {
            TPB_LOG_ERROR(where, "field \"%s\" is missing (expected %s)", specs[index].name, allowedNames);
            return false;
        }
    }
    if (!validate(parsed, where))
    {
        return false;
    }
    params = parsed;
    return true;
}

//! The field's description for getFieldNames() (data == nullptr): one value, or the longest table allowed
//! (any even length up to it, 0 included, is accepted).
inline nvinfer1::PluginField describePluginField(PluginFieldSpec const& spec) noexcept
{
    return nvinfer1::PluginField(spec.name, nullptr, spec.type, spec.maxBands > 0 ? 2 * spec.maxBands : 1);
}

//! The fields of \p params (pointing into it) for the V3 plugin's getFieldsToSerialize(), in the order of
//! \p specs; a table always, of length 0 without bands, so the runtime phase can require it.
template <typename Params, int32_t N>
void serializePluginFields(
    PluginFieldSpec const (&specs)[N], Params& params, nvinfer1::PluginField (&fields)[N]) noexcept
{
    auto* const bytes = reinterpret_cast<unsigned char*>(&params);
    for (int32_t index = 0; index < N; ++index)
    {
        PluginFieldSpec const& spec = specs[index];
        int32_t length = 1;
        if (spec.maxBands > 0)
        {
            int32_t bands = 0;
            std::memcpy(&bands, bytes + spec.bandCountOffset, sizeof(int32_t));
            length = 2 * std::max(0, std::min(bands, spec.maxBands));
        }
        fields[index] = nvinfer1::PluginField(spec.name, bytes + spec.offset, spec.type, length);
    }
}

//! The kernel table's form (see the top): 0 .. \p maxBands bands, limits ascending strictly from 1 KiB, the
//! last kUnboundedKib, each kernel id valid by \p isValidKernel (named "0 .. kernelCount - 1" and
//! \p idsNote in the message, e.g. ", retired ids excluded"). Logged under \p where, naming \p fieldName.
inline bool validateKernelTable(int32_t bandCount, int32_t const* table, int32_t maxBands,
    bool (*isValidKernel)(int32_t) noexcept, int32_t kernelCount, char const* idsNote, char const* fieldName,
    char const* where) noexcept
{
    if (bandCount < 0 || bandCount > maxBands)
    {
        TPB_LOG_ERROR(where, "field \"%s\" holds %d bands, at most %d allowed", fieldName, static_cast<int>(bandCount),
            static_cast<int>(maxBands));
        return false;
    }
    int32_t previousKib = 0;
    for (int32_t band = 0; band < bandCount; ++band)
    {
        int32_t const upperKib = table[2 * band];
        int32_t const kernel = table[2 * band + 1];
        bool const last = band == bandCount - 1;
        if (last && upperKib != kUnboundedKib)
        {
            TPB_LOG_ERROR(where, "field \"%s\": the last band's upper_kib must be %d (unbounded), got %d", fieldName,
                static_cast<int>(kUnboundedKib), static_cast<int>(upperKib));
            return false;
        }
        if (!last && upperKib <= previousKib)
        {
            // Also catches a -1 before the last band: bands after an unbounded one could never be reached.
            TPB_LOG_ERROR(where,
                "field \"%s\": band %d's upper_kib must be above %d (limits ascend strictly from 1 KiB), got %d",
                fieldName, static_cast<int>(band), static_cast<int>(previousKib), static_cast<int>(upperKib));
            return false;
        }
        if (!isValidKernel(kernel))
        {
            TPB_LOG_ERROR(where, "field \"%s\": band %d's kernel %d is not a valid kernel id (0 .. %d%s)", fieldName,
                static_cast<int>(band), static_cast<int>(kernel), static_cast<int>(kernelCount - 1), idsNote);
            return false;
        }
        previousKib = upperKib;
    }
    return true;
}

//! The kernel id for a tensor of \p tensorBytes bytes: the band's with a table, else \p kernel. Expects a
//! validated table (the last band is taken as unbounded).
inline int32_t selectBandKernel(
    int32_t bandCount, int32_t const* table, int32_t maxBands, int32_t kernel, int64_t tensorBytes) noexcept
{
    int32_t const bands = std::min(bandCount, maxBands);
    if (bands <= 0)
    {
        return kernel;
    }
    // Every band but the last has a limit; the last takes whatever is left (its limit is -1).
    for (int32_t band = 0; band + 1 < bands; ++band)
    {
        if (tensorBytes <= int64_t{table[2 * band]} * 1024)
        {
            return table[2 * band + 1];
        }
    }
    return table[2 * bands - 1];
}

} // namespace tpb
