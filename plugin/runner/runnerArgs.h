// trt_runner's command line, parsed without TensorRT (the host harness, plugin/tests/hostHarness.cpp,
// drives it under ASan/UBSan in CI). Strict: every number is decimal digits only (no sign, no space,
// no suffix), parsed with strtoll and range-checked before it is narrowed, and every refusal names the
// argument: --threads 2147483648 or 4294967297 is refused (never truncated to int32 or wrapped),
// --iterations rounded up to a multiple of --graph-batch must fit int32, a --shape dimension must fit
// the dims of the TensorRT it runs with (int32 before TensorRT 10) and the shape's element count int64.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tpb
{

//! --input-file NAME:DTYPE=PATH / --dump-output NAME:DTYPE=PATH: a tensor's raw little-endian values in
//! DTYPE (fp32, fp16, bf16, int32, int64, int8, uint8, bool), bound by the tensor's name. The runner
//! refuses a file whose DTYPE is not the binding's or whose size is not the binding's bytes at its shape.
struct TensorFile
{
    std::string name;
    std::string dtype;
    std::string path;
};

//! --field NAME:TYPE=V[,V...] (--clone-check): a PluginField the creator gets (TYPE float32, float64 or int32),
//! so the drive's plugin computes what the spec's reference does (a field left out: the creator's default).
struct PluginFieldArg
{
    std::string name;
    std::string type;
    std::vector<double> floats; //!< float32 / float64 values
    std::vector<int32_t> ints;  //!< int32 values
};

//! The DTYPE words a TensorFile may carry.
bool knownTensorFileDtype(std::string const& dtype);

//! \p count elements of \p elementSize bytes, refused (std::invalid_argument naming \p what) where the
//! product overflows int64 or either is negative: never wrapped.
int64_t checkedByteCount(int64_t count, int64_t elementSize, std::string const& what);

struct RunnerOptions
{
    std::string engine;
    std::vector<std::string> plugins;
    int32_t threads{1};
    int32_t iterations{100};
    int32_t warmup{10};
    uint32_t seed{20261203};
    std::vector<int64_t> shape; //!< input 0's shape (and every input's that --input-shape does not name)
    //! --input-shape NAME=d0xd1x... (repeatable): another input's shape, by its tensor name (an
    //! operator of several inputs: a broadcast input, one of its own profile)
    std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
    //! --output-shape NAME=d0xd1x... (repeatable, --clone-check only): every output of the plugin in
    //! order (none: one output of --shape); there the --input-shape entries are its inputs 1.., in order
    std::vector<std::pair<std::string, std::vector<int64_t>>> outputShapes;
    bool graph{false};
    bool profilePerThread{false};
    bool pluginInit{false};
    //! --bare-kernel: every enqueue is one launch of the bare kernel (plugin/probes/bareKernel.cuh) that
    //! reads the engine's input bytes and writes its output bytes at the shapes, instead of TensorRT's
    //! enqueueV3: the same threads, streams, graphs and timing, no operator
    bool bareKernel{false};
    int32_t timeEvery{1};   //!< an event pair around every timeEvery-th enqueue
    int32_t graphBatch{1};  //!< --graph: enqueues captured in one graph (one launch runs this many inferences)
    std::string cloneCheck; //!< --clone-check CREATOR[@NAMESPACE]: drive the plugin's clone lifecycle, no engine
    //! --input-file NAME:DTYPE=PATH (repeatable): the input's values (Python draws them with the spec's
    //! generators); an input without one gets the runner's own fill (uniform [-8, 8], --seed: hand use).
    //! With --clone-check, input 0 is named "input0" and the others by their --input-shape names
    std::vector<TensorFile> inputFiles;
    //! --dump-output NAME:DTYPE=PATH (repeatable): write that output of the single-context reference run
    //! (--clone-check: clone A's first run; output 0 is "output0" where no --output-shape names it), for
    //! Python to check against the spec's float64 reference with the spec's tolerances
    std::vector<TensorFile> dumpOutputs;
    std::vector<PluginFieldArg> fields; //!< --field NAME:TYPE=V[,V...] (--clone-check only)
};

//! What the TensorRT the runner is built against allows.
struct RunnerLimits
{
    int32_t maxRank{8};                //!< Dims::MAX_DIMS
    int64_t maxDimension{INT32_MAX};   //!< the largest value a Dims entry holds (int32 before TensorRT 10)
};

//! Most threads --threads accepts (each has a context, a stream and buffers of its own).
constexpr int64_t kRunnerMaxThreads = 4096;

//! Parses argv[1 .. argc); throws std::invalid_argument with a message naming the argument.
RunnerOptions parseRunnerArgs(int argc, char const* const* argv, RunnerLimits const& limits);

//! Decimal digits only, 1 .. \p max: the value, else std::invalid_argument naming \p what.
int64_t parseRunnerInteger(std::string const& text, char const* what, int64_t min, int64_t max);

} // namespace tpb
