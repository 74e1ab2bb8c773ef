// The log prefixes ("where": the name in "[op] <where>: ..." messages, pluginLog.h) of one operator's two
// plugin versions, all derived at compile time from the operator's plugin name and versions, so that an
// operator's traits (<op>PluginParams.h) state none of them. pluginV3Base.h and pluginV2Base.h read them as
// Op::kWhere.<member>. For Gelu (name "Gelu", V3 version "2", V2 version "1"):
//
//   plugin             "Gelu v2"                         IPluginV3 plugin and creator
//   createBuild        "Gelu v2 createPlugin (build)"
//   createRuntime      "Gelu v2 createPlugin (runtime)"
//   configure          "Gelu v2 configurePlugin"         (operators that check shapes at configurePlugin)
//   legacy             "Gelu v1"                         IPluginV2DynamicExt plugin and creator
//   legacyCreate       "Gelu v1 createPlugin"
//   legacyDeserialize  "Gelu v1 deserializePlugin"
//   legacyConfigure    "Gelu v1 configurePlugin"         (operators that check shapes at configurePlugin)
//
// The texts live in fixed arrays of one constant object per operator, defined once in <op>PluginParams.cpp:
//   const PluginWheres GeluOp::kWhere = pluginWheresOf<GeluOp>();
// (constant initialization: no code runs at load, nothing is allocated, nothing is mutable). Not a static
// constexpr member, nor a template's static member: those are inline variables, which GCC emits as
// STB_GNU_UNIQUE symbols once their address is taken, and one such symbol keeps dlclose from unmapping the
// library (pluginV3Base.h).
#pragma once

#include <cstddef>

namespace tpb
{

//! Room for one prefix, its terminating NUL included.
constexpr size_t kPluginWhereCapacity = 64;

//! One operator's log prefixes (see the table above); each a NUL-terminated text.
struct PluginWheres
{
    char plugin[kPluginWhereCapacity];
    char createBuild[kPluginWhereCapacity];
    char createRuntime[kPluginWhereCapacity];
    char configure[kPluginWhereCapacity];
    char legacy[kPluginWhereCapacity];
    char legacyCreate[kPluginWhereCapacity];
    char legacyDeserialize[kPluginWhereCapacity];
    char legacyConfigure[kPluginWhereCapacity];
};

namespace detail
{

constexpr size_t whereLength(char const* text) noexcept
{
    size_t length = 0;
    while (text[length] != '\0')
    {
        ++length;
    }
    return length;
}

//! The longest suffix pluginWheres appends after "<name> v<version>".
constexpr char const* kLongestWhereSuffix = " createPlugin (runtime)";

//! out = name + " v" + version + suffix; an overlong text is cut at the capacity (pluginWheresOf refuses it).
constexpr void joinWhere(char (&out)[kPluginWhereCapacity], char const* name, char const* version,
    char const* suffix) noexcept
{
    char const* const parts[] = {name, " v", version, suffix};
    size_t length = 0;
    for (char const* part : parts)
    {
        for (; *part != '\0' && length + 1 < kPluginWhereCapacity; ++part)
        {
            out[length++] = *part;
        }
    }
    out[length] = '\0';
}

} // namespace detail

//! Whether every prefix of \p name with \p version and \p legacyVersion fits kPluginWhereCapacity.
constexpr bool pluginWheresFit(char const* name, char const* version, char const* legacyVersion) noexcept
{
    size_t const longestVersion = detail::whereLength(version) > detail::whereLength(legacyVersion)
        ? detail::whereLength(version)
        : detail::whereLength(legacyVersion);
    return detail::whereLength(name) + 2 + longestVersion + detail::whereLength(detail::kLongestWhereSuffix)
        < kPluginWhereCapacity;
}

//! The prefixes of the plugins named \p name, IPluginV3 version \p version, IPluginV2DynamicExt version
//! \p legacyVersion.
constexpr PluginWheres pluginWheres(char const* name, char const* version, char const* legacyVersion) noexcept
{
    PluginWheres wheres{};
    detail::joinWhere(wheres.plugin, name, version, "");
    detail::joinWhere(wheres.createBuild, name, version, " createPlugin (build)");
    detail::joinWhere(wheres.createRuntime, name, version, " createPlugin (runtime)");
    detail::joinWhere(wheres.configure, name, version, " configurePlugin");
    detail::joinWhere(wheres.legacy, name, legacyVersion, "");
    detail::joinWhere(wheres.legacyCreate, name, legacyVersion, " createPlugin");
    detail::joinWhere(wheres.legacyDeserialize, name, legacyVersion, " deserializePlugin");
    detail::joinWhere(wheres.legacyConfigure, name, legacyVersion, " configurePlugin");
    return wheres;
}

//! The prefixes of the operator \p Op (its kName, kVersion and kLegacyVersion); a name too long for them
//! does not compile.
template <typename Op>
constexpr PluginWheres pluginWheresOf() noexcept
{
    static_assert(pluginWheresFit(Op::kName, Op::kVersion, Op::kLegacyVersion),
        "the operator's plugin name is too long for its log prefixes (kPluginWhereCapacity)");
    return pluginWheres(Op::kName, Op::kVersion, Op::kLegacyVersion);
}

//! Whether \p text is \p expected, character for character (for compile-time checks of the prefixes).
constexpr bool whereTextIs(char const* text, char const* expected) noexcept
{
    for (; *text != '\0' && *text == *expected; ++text, ++expected)
    {
    }
    return *text == *expected;
}

// The texts, checked where they are made (the tests grep the logs for them).
static_assert(whereTextIs(pluginWheres("Gelu", "2", "1").plugin, "Gelu v2")
        && whereTextIs(pluginWheres("Gelu", "2", "1").createBuild, "Gelu v2 createPlugin (build)")
        && whereTextIs(pluginWheres("Gelu", "2", "1").createRuntime, "Gelu v2 createPlugin (runtime)")
        && whereTextIs(pluginWheres("Gelu", "2", "1").configure, "Gelu v2 configurePlugin")
        && whereTextIs(pluginWheres("Gelu", "2", "1").legacy, "Gelu v1")
        && whereTextIs(pluginWheres("Gelu", "2", "1").legacyCreate, "Gelu v1 createPlugin")
        && whereTextIs(pluginWheres("Gelu", "2", "1").legacyDeserialize, "Gelu v1 deserializePlugin")
        && whereTextIs(pluginWheres("Gelu", "2", "1").legacyConfigure, "Gelu v1 configurePlugin"),
    "pluginWheres writes \"<name> v<version>[ <call>]\"");
static_assert(pluginWheresFit("TpbResidualRmsNorm", "2", "1") && !pluginWheresFit(
                  "AnOperatorNameFarTooLongForTheRoomOfItsLogPrefixes", "2", "1"),
    "pluginWheresFit counts the longest prefix");

} // namespace tpb
