#include "runnerArgs.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace tpb
{
namespace
{

std::vector<std::string> split(std::string const& text, char separator)
{
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
    {
        if (!part.empty())
        {
            parts.push_back(part);
        }
    }
    return parts;
}

int32_t parseInt32(std::string const& text, char const* what, int64_t min)
{
    return static_cast<int32_t>(parseRunnerInteger(text, what, min, std::numeric_limits<int32_t>::max()));
}

//! "d0xd1x..." as dimensions (each 1 .. the TensorRT's largest), at most maxRank of them, whose element
//! count fits int64; \p what names the argument in every refusal.
std::vector<int64_t> parseShape(std::string const& text, std::string const& what, RunnerLimits const& limits)
{
    std::vector<std::string> const dims = split(text, 'x');
    if (dims.empty())
    {
        throw std::invalid_argument(what + " must be d0xd1x..., got '" + text + "'");
    }
    std::vector<int64_t> shape;
    std::string const dimension = what + " dimension";
    for (std::string const& dim : dims)
    {
        shape.push_back(parseRunnerInteger(dim, dimension.c_str(), 1, limits.maxDimension));
    }
    if (shape.size() > static_cast<size_t>(limits.maxRank))
    {
        throw std::invalid_argument(what + " has " + std::to_string(shape.size())
            + " dimensions, TensorRT allows at most " + std::to_string(limits.maxRank));
    }
    int64_t elements = 1;
    for (int64_t const dim : shape)
    {
        if (elements > std::numeric_limits<int64_t>::max() / dim)
        {
            throw std::invalid_argument(what + ": the element count overflows int64");
        }
        elements *= dim;
    }
    return shape;
}

//! NAME:DTYPE=PATH of \p arg, every part non-empty, DTYPE known, NAME not in \p list yet.
TensorFile parseTensorFile(std::string const& text, std::string const& arg, std::vector<TensorFile> const& list)
{
    size_t const eq = text.find('=');
    size_t const colon = eq == std::string::npos ? std::string::npos : text.rfind(':', eq);
    if (eq == std::string::npos || colon == std::string::npos || colon == 0 || colon + 1 == eq || eq + 1 == text.size())
    {
        throw std::invalid_argument(arg + " must be NAME:DTYPE=PATH, got '" + text + "'");
    }
    TensorFile file{text.substr(0, colon), text.substr(colon + 1, eq - colon - 1), text.substr(eq + 1)};
    if (!knownTensorFileDtype(file.dtype))
    {
        throw std::invalid_argument(arg + " " + file.name + ": unknown dtype '" + file.dtype
            + "' (fp32, fp16, bf16, int32, int64, int8, uint8, bool)");
    }
    for (TensorFile const& other : list)
    {
        if (other.name == file.name)
        {
            throw std::invalid_argument(arg + " names '" + file.name + "' twice");
        }
    }
    return file;
}

//! NAME:TYPE=V[,V...] of --field: TYPE float32 / float64 (finite decimal numbers) or int32 (optional '-',
//! decimal digits, in int32), one value at least, NAME not in \p list yet.
PluginFieldArg parseField(std::string const& text, std::vector<PluginFieldArg> const& list)
{
    size_t const eq = text.find('=');
    size_t const colon = eq == std::string::npos ? std::string::npos : text.rfind(':', eq);
    if (eq == std::string::npos || colon == std::string::npos || colon == 0 || colon + 1 == eq || eq + 1 == text.size())
    {
        throw std::invalid_argument("--field must be NAME:TYPE=V[,V...], got '" + text + "'");
    }
    PluginFieldArg field{text.substr(0, colon), text.substr(colon + 1, eq - colon - 1), {}, {}};
    std::string const what = "--field " + field.name;
    if (field.type != "float32" && field.type != "float64" && field.type != "int32")
    {
        throw std::invalid_argument(what + ": unknown type '" + field.type + "' (float32, float64, int32)");
    }
    std::string const values = text.substr(eq + 1);
    std::stringstream stream(values);
    for (std::string item; std::getline(stream, item, ',');)
    {
        if (field.type == "int32")
        {
            bool const negative = !item.empty() && item[0] == '-';
            int64_t const magnitude = parseRunnerInteger(negative ? item.substr(1) : item, what.c_str(), 0,
                negative ? -int64_t{std::numeric_limits<int32_t>::min()} : int64_t{std::numeric_limits<int32_t>::max()});
            field.ints.push_back(static_cast<int32_t>(negative ? -magnitude : magnitude));
            continue;
        }
        errno = 0;
        char* end = nullptr;
        double const value = item.empty() ? 0.0 : std::strtod(item.c_str(), &end);
        if (item.empty() || end != item.c_str() + item.size() || errno == ERANGE || !std::isfinite(value)
            || (field.type == "float32" && std::fabs(value) > std::numeric_limits<float>::max()))
        {
            throw std::invalid_argument(what + ": '" + item + "' is not a finite " + field.type);
        }
        field.floats.push_back(value);
    }
    if (field.floats.empty() && field.ints.empty())
    {
        throw std::invalid_argument(what + " has no value");
    }
    for (PluginFieldArg const& other : list)
    {
        if (other.name == field.name)
        {
            throw std::invalid_argument("--field names '" + field.name + "' twice");
        }
    }
    return field;
}

} // namespace

bool knownTensorFileDtype(std::string const& dtype)
{
    for (char const* known : {"fp32", "fp16", "bf16", "int32", "int64", "int8", "uint8", "bool"})
    {
        if (dtype == known)
        {
            return true;
        }
    }
    return false;
}

int64_t checkedByteCount(int64_t count, int64_t elementSize, std::string const& what)
{
    if (count < 0 || elementSize <= 0)
    {
        throw std::invalid_argument(what + ": " + std::to_string(count) + " elements of " + std::to_string(elementSize)
            + " bytes is no byte count");
    }
    if (count > std::numeric_limits<int64_t>::max() / elementSize)
    {
        throw std::invalid_argument(what + ": " + std::to_string(count) + " elements of " + std::to_string(elementSize)
            + " bytes overflow int64");
    }
    return count * elementSize;
}

int64_t parseRunnerInteger(std::string const& text, char const* what, int64_t min, int64_t max)
{
    bool digits = !text.empty();
    for (char const c : text)
    {
        digits = digits && c >= '0' && c <= '9';
    }
    if (!digits)
    {
        throw std::invalid_argument(std::string(what) + " must be a whole number in " + std::to_string(min) + " .. "
            + std::to_string(max) + " (decimal digits only), got '" + text + "'");
    }
    errno = 0;
    char* end = nullptr;
    long long const value = std::strtoll(text.c_str(), &end, 10);
    if (errno == ERANGE || end != text.c_str() + text.size() || value < min || value > max)
    {
        throw std::invalid_argument(std::string(what) + " must be in " + std::to_string(min) + " .. "
            + std::to_string(max) + ", got '" + text + "'");
    }
    return value;
}

RunnerOptions parseRunnerArgs(int argc, char const* const* argv, RunnerLimits const& limits)
{
    RunnerOptions options;
    for (int i = 1; i < argc; ++i)
    {
        std::string const arg = argv[i] == nullptr ? "" : argv[i];
        auto value = [&]() -> std::string
        {
            if (i + 1 >= argc || argv[i + 1] == nullptr)
            {
                throw std::invalid_argument(arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--engine")
            options.engine = value();
        else if (arg == "--plugins")
            options.plugins = split(value(), ',');
        else if (arg == "--threads")
            options.threads = static_cast<int32_t>(parseRunnerInteger(value(), "--threads", 1, kRunnerMaxThreads));
        else if (arg == "--iterations")
            options.iterations = parseInt32(value(), "--iterations", 1);
        else if (arg == "--warmup")
            options.warmup = parseInt32(value(), "--warmup", 1);
        else if (arg == "--seed")
            options.seed = static_cast<uint32_t>(
                parseRunnerInteger(value(), "--seed", 1, std::numeric_limits<uint32_t>::max()));
        else if (arg == "--shape")
            options.shape = parseShape(value(), "--shape", limits);
        else if (arg == "--input-shape" || arg == "--output-shape")
        {
            std::string const text = value();
            size_t const eq = text.find('=');
            if (eq == std::string::npos || eq == 0)
            {
                throw std::invalid_argument(arg + " must be NAME=d0xd1x..., got '" + text + "'");
            }
            std::string const name = text.substr(0, eq);
            auto& list = arg == "--input-shape" ? options.inputShapes : options.outputShapes;
            for (auto const& named : list)
            {
                if (named.first == name)
                {
                    throw std::invalid_argument(arg + " names '" + name + "' twice");
                }
            }
            list.emplace_back(name, parseShape(text.substr(eq + 1), arg + " " + name, limits));
        }
        else if (arg == "--input-file")
            options.inputFiles.push_back(parseTensorFile(value(), arg, options.inputFiles));
        else if (arg == "--dump-output")
            options.dumpOutputs.push_back(parseTensorFile(value(), arg, options.dumpOutputs));
        else if (arg == "--field")
            options.fields.push_back(parseField(value(), options.fields));
        else if (arg == "--time-every")
            options.timeEvery = parseInt32(value(), "--time-every", 1);
        else if (arg == "--graph-batch")
            options.graphBatch = parseInt32(value(), "--graph-batch", 1);
        else if (arg == "--clone-check")
            options.cloneCheck = value();
        else if (arg == "--graph")
            options.graph = true;
        else if (arg == "--profile-per-thread")
            options.profilePerThread = true;
        else if (arg == "--plugin-init")
            options.pluginInit = true;
        else if (arg == "--bare-kernel")
            options.bareKernel = true;
        else
            throw std::invalid_argument("unknown argument " + arg);
    }
    if ((options.engine.empty() && options.cloneCheck.empty()) || options.shape.empty())
    {
        throw std::invalid_argument("--engine (or --clone-check) and --shape are required");
    }
    if (options.bareKernel && !options.cloneCheck.empty())
    {
        throw std::invalid_argument("--bare-kernel times an engine's bytes: it needs --engine, not --clone-check");
    }
    if (!options.fields.empty() && options.cloneCheck.empty())
    {
        throw std::invalid_argument("--field sets the clone drive's plugin fields: it needs --clone-check (an engine has its own)");
    }
    if (options.bareKernel && !options.dumpOutputs.empty())
    {
        throw std::invalid_argument("--dump-output writes the engine's outputs: --bare-kernel runs no engine");
    }
    if (options.graphBatch > 1 && !options.graph)
    {
        throw std::invalid_argument("--graph-batch needs --graph");
    }
    // whole launches: the iterations (inferences per thread) rounded up to a multiple of the batch, in
    // int64, and refused if that no longer fits the int32 the runner counts in
    int64_t const batch = options.graphBatch;
    int64_t const rounded = (int64_t{options.iterations} + batch - 1) / batch * batch;
    if (rounded > std::numeric_limits<int32_t>::max())
    {
        throw std::invalid_argument("--iterations " + std::to_string(options.iterations)
            + " rounded up to a multiple of --graph-batch " + std::to_string(options.graphBatch) + " is "
            + std::to_string(rounded) + ", over " + std::to_string(std::numeric_limits<int32_t>::max()));
    }
    options.iterations = static_cast<int32_t>(rounded);
    return options;
}

} // namespace tpb
