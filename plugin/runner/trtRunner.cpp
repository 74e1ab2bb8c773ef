// trt_runner: a trtexec in miniature, for concurrency that measures the GPU, not a Python loop.
//
//   trt_runner --engine PATH [--plugins LIB[,LIB]] --threads N --iterations M --shape d0xd1x...
//              [--input-shape NAME=d0xd1x... ...] (another input's shape: an operator of several inputs)
//              [--graph [--graph-batch B]] [--profile-per-thread] [--plugin-init] [--warmup W] [--seed S]
//              [--time-every K] [--bare-kernel] [--input-file NAME:DTYPE=PATH ...] [--dump-output NAME:DTYPE=PATH ...]
//   trt_runner --clone-check CREATOR[@NAMESPACE] --plugins LIB[,LIB] --shape d0xd1x... [--plugin-init]
//              [--input-shape NAME=d0xd1x... ...] [--output-shape NAME=d0xd1x... ...] [--field NAME:TYPE=V[,V...] ...]
//              [--input-file NAME:DTYPE=PATH ...] [--dump-output NAME:DTYPE=PATH ...] (a plugin of several
//              inputs, its weights included, or outputs: each in the plugin's order)
//
// Loads the plugin libraries with a plain dlopen (the Swish library registers its creators at load;
// with --plugin-init each library's initSwishPlugins("") is called after it, where exported, so a
// library that registers only there, e.g. the conformance fixture's, runs too),
// deserializes the engine once, and runs N threads, each with its own IExecutionContext (on its own
// optimization profile with --profile-per-thread: TensorRT 8.6 needs one profile per concurrently
// live context), its own non-blocking stream and its own device buffers. Every input holds the same
// data, so every output must be bit-identical: an input named by --input-file NAME:DTYPE=PATH holds
// that file's raw little-endian values (the threads rule writes them, drawn with the spec's generators:
// native_runner.write_tensor_files), refused with a message naming the file and the input where DTYPE
// is not the input's type or the size is not its bytes at its shape; an input without a file gets the
// runner's own fill (uniform [-8, 8] from --seed: for hand use, its outputs are checked by nothing but
// each other). --dump-output NAME:DTYPE=PATH writes that output of the single-context reference run, so
// that Python checks it against the spec's float64 reference with the spec's tolerances. After W untimed enqueues, the
// threads start together and each issues M enqueues back to back (enqueueV3, every input and output
// bound by name: TensorRT 8.6's name-based API), or with --graph captures one enqueue into a CUDA graph and replays it
// M times (--graph-batch B: B enqueues in one graph, M/B launches: the host's launch cost paid once
// per B inferences, so what is left is the GPU's); a CUDA event pair around every K-th enqueue/replay (K = 1 by default) times it on the GPU:
// an event pair is two more commands for the stream, which at K = 1 are two thirds of what the GPU
// front end and the driver's launch path handle per inference. At the end every
// thread's output is compared bit for bit with thread 0's, and thread 0's with a single-context
// reference run made after the threads' contexts are gone.
//
// --bare-kernel: the same run with every enqueue replaced by one launch of the bare kernel
// (plugin/probes/bareKernel.cuh, the launch-rate probe's kernel: no TensorRT, no operator) that reads
// as many bytes as the engine's inputs hold at the shapes and writes as many as its outputs (each
// context's shapes set as above, so the bytes are the engine's I/O sizes). Same threads, streams,
// graphs, batches, events and output check: what the GPU gives a kernel of the same bytes, timed the
// way the engine is (the threads rule runs it beside each engine's run).
//
// Prints ONE JSON object on stdout: threads, iterations, graph, profile_per_thread, shape,
// inferences_per_second (N*M / wall, wall = the threads' start to the last one's completion),
// wall_s, per_thread [{thread, profile, p50_us, p90_us, p99_us, mean_us}] (per-enqueue event
// times), gpu_busy_fraction (length of the union of all event-timed intervals / wall: the share of
// the wall time at least one enqueue ran on the GPU; with K > 1 the timed intervals' union times K,
// at most 1: an estimate), gpu_interval_sum_over_wall (their plain sum / wall, times K; above 1 when
// streams overlap), time_every, bare_kernel, bytes_in and bytes_out (per inference: the engine's
// input and output bytes at the shapes), outputs_identical, errors (TensorRT errors, CUDA errors,
// mismatches). Exit status 0 only with no error and identical outputs; 2 for a usage error.
//
// --clone-check (conformance check 3, no engine): the clone lifecycle TensorRT puts a plugin through,
// driven on the plugin's own IPluginV2DynamicExt interface: the creator (from the registry, after
// the libraries load) makes a plugin; two clones, A and B, are each configured (configurePlugin) for
// the shape and enqueued on their own device buffers; A's output is kept; B is configured again,
// enqueued and destroyed; A runs again and must give the same bytes. Which objects
// TensorRT 8.6 clones and destroys for execution contexts is its own business (on the H200,
// 2026-12-02, a fixture whose destroy() spoils state shared with its clones was not caught through
// contexts), so the check makes the calls itself. Prints one JSON object: clone_check, creator,
// ok, message. fp32 input, linear format. With --input-file, clone A's inputs hold the files' values
// (input 0 is named "input0", the others by their --input-shape names; fp32 only) and --dump-output
// writes A's first outputs (output 0 "output0" where no --output-shape names it) for Python to check
// against the spec's reference; clone B keeps the runner's own fill (different data on purpose).
// --field NAME:TYPE=V[,V...] (float32, float64, int32): the plugin's fields (the spec's values, so that
// it computes what the reference does); a field left out keeps the creator's default.
#include "NvInfer.h"
#include "bareLaunch.h"
#include "runnerArgs.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace
{

//! Collects TensorRT's errors (thread-safe); warnings go to stderr.
class RunnerLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override
    {
        if (severity > Severity::kWARNING || message == nullptr)
        {
            return;
        }
        std::fprintf(stderr, "trt_runner: TensorRT %s: %s\n", severity == Severity::kWARNING ? "warning" : "error",
            message);
        if (severity <= Severity::kERROR)
        {
            add(std::string("TensorRT: ") + message);
        }
    }

    void add(std::string message) noexcept
    {
        try
        {
            std::lock_guard<std::mutex> const lock(mMutex);
            mErrors.push_back(std::move(message));
        }
        catch (...)
        {
        }
    }

    std::vector<std::string> errors() const
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        return mErrors;
    }

private:
    mutable std::mutex mMutex;
    std::vector<std::string> mErrors;
};

//! Throws with the CUDA error's text: the thread that hit it records it and stops.
void cudaCheck(cudaError_t status, char const* what)
{
    if (status != cudaSuccess)
    {
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
    }
}

struct DeviceBuffer
{
    void* data{nullptr};
    size_t bytes{0};
    explicit DeviceBuffer(size_t size)
        : bytes(size)
    {
        cudaCheck(cudaMalloc(&data, std::max<size_t>(size, 1)), "cudaMalloc");
    }
    DeviceBuffer(DeviceBuffer const&) = delete;
    DeviceBuffer& operator=(DeviceBuffer const&) = delete;
    ~DeviceBuffer()
    {
        cudaFree(data);
    }
};

struct Stream
{
    cudaStream_t handle{nullptr};
    Stream()
    {
        cudaCheck(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    }
    Stream(Stream const&) = delete;
    Stream& operator=(Stream const&) = delete;
    ~Stream()
    {
        cudaStreamDestroy(handle);
    }
};

struct Event
{
    cudaEvent_t handle{nullptr};
    Event()
    {
        cudaCheck(cudaEventCreate(&handle), "cudaEventCreate");
    }
    Event(Event const&) = delete;
    Event& operator=(Event const&) = delete;
    Event(Event&& other) noexcept
        : handle(std::exchange(other.handle, nullptr))
    {
    }
    ~Event()
    {
        if (handle != nullptr)
        {
            cudaEventDestroy(handle);
        }
    }
};

struct Graph
{
    cudaGraph_t graph{nullptr};
    cudaGraphExec_t exec{nullptr};
    Graph() = default;
    Graph(Graph const&) = delete;
    Graph& operator=(Graph const&) = delete;
    ~Graph()
    {
        if (exec != nullptr)
        {
            cudaGraphExecDestroy(exec);
        }
        if (graph != nullptr)
        {
            cudaGraphDestroy(graph);
        }
    }
};

// The command line is parsed without TensorRT (runnerArgs.cpp, driven by the host harness in CI).
using Options = tpb::RunnerOptions;

//! What this TensorRT's Dims hold: at most MAX_DIMS entries of its element type (int32 before 10).
tpb::RunnerLimits runnerLimits()
{
    using Dim = std::remove_reference_t<decltype(nvinfer1::Dims{}.d[0])>;
    return tpb::RunnerLimits{nvinfer1::Dims::MAX_DIMS, static_cast<int64_t>(std::numeric_limits<Dim>::max())};
}

Options parse(int argc, char** argv)
{
    return tpb::parseRunnerArgs(argc, argv, runnerLimits());
}

//! The --input-file / --dump-output DTYPE word of a TensorRT type ("?" for one the runner cannot bind).
std::string dataTypeName(nvinfer1::DataType type)
{
    switch (type)
    {
    case nvinfer1::DataType::kFLOAT: return "fp32";
    case nvinfer1::DataType::kHALF: return "fp16";
    case nvinfer1::DataType::kINT32: return "int32";
    case nvinfer1::DataType::kINT8: return "int8";
    case nvinfer1::DataType::kBOOL: return "bool";
    case nvinfer1::DataType::kUINT8: return "uint8";
#if NV_TENSORRT_MAJOR >= 9
    case nvinfer1::DataType::kBF16: return "bf16";
    case nvinfer1::DataType::kINT64: return "int64";
#endif
    default: return "?";
    }
}

size_t elementSize(nvinfer1::DataType type)
{
    switch (type)
    {
    case nvinfer1::DataType::kFLOAT: return 4;
    case nvinfer1::DataType::kHALF: return 2;
    case nvinfer1::DataType::kINT32: return 4;
    case nvinfer1::DataType::kINT8: return 1;
    case nvinfer1::DataType::kBOOL: return 1;
    case nvinfer1::DataType::kUINT8: return 1;
#if NV_TENSORRT_MAJOR >= 9
    case nvinfer1::DataType::kBF16: return 2;
    case nvinfer1::DataType::kINT64: return 8;
#endif
    default: throw std::invalid_argument("unsupported tensor data type " + std::to_string(static_cast<int>(type)));
    }
}

int64_t volume(nvinfer1::Dims const& dims)
{
    int64_t count = 1;
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        if (dims.d[i] < 0)
        {
            throw std::runtime_error("a tensor shape is still dynamic after the input shapes were set");
        }
        count *= dims.d[i];
    }
    return count;
}

//! Random host bytes for a tensor: uniform floats in [-8, 8] in the tensor's float type; random
//! integers otherwise. The same seed gives every thread the same input.
std::vector<uint8_t> randomInput(nvinfer1::DataType type, int64_t count, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-8.0F, 8.0F);
    std::vector<uint8_t> bytes(static_cast<size_t>(count) * elementSize(type));
    for (int64_t i = 0; i < count; ++i)
    {
        float const x = uniform(rng);
        uint8_t* const at = bytes.data() + static_cast<size_t>(i) * elementSize(type);
        switch (type)
        {
        case nvinfer1::DataType::kFLOAT: std::memcpy(at, &x, 4); break;
        case nvinfer1::DataType::kHALF:
        {
            __half const h = __float2half(x);
            std::memcpy(at, &h, 2);
            break;
        }
#if NV_TENSORRT_MAJOR >= 9
        case nvinfer1::DataType::kBF16:
        {
            __nv_bfloat16 const b = __float2bfloat16(x);
            std::memcpy(at, &b, 2);
            break;
        }
#endif
        default:
        {
            int32_t const v = static_cast<int32_t>(rng() % 8);
            std::memcpy(at, &v, std::min<size_t>(4, elementSize(type)));
        }
        }
    }
    return bytes;
}

//! Every byte of \p path; \p what names the argument and the tensor in the refusal.
std::vector<uint8_t> readBytes(std::string const& path, std::string const& what)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
    {
        throw std::runtime_error("cannot read " + what + " file " + path);
    }
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (file.bad())
    {
        throw std::runtime_error("error reading " + what + " file " + path);
    }
    return bytes;
}

//! Writes \p size bytes at \p data to \p path; \p what names the argument and the tensor in the refusal.
void writeBytes(std::string const& path, uint8_t const* data, size_t size, std::string const& what)
{
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<char const*>(data), static_cast<std::streamsize>(size));
    file.close();
    if (!file)
    {
        throw std::runtime_error("cannot write " + what + " file " + path);
    }
}

std::string shapeText(nvinfer1::Dims const& dims)
{
    std::string text = "[";
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        text += (i ? ", " : "") + std::to_string(dims.d[i]);
    }
    return text + "]";
}

//! The --input-file values, each file read once (every worker binds the same bytes) and checked
//! against the input it is bound to: its type and its bytes at its shape.
class InputFiles
{
public:
    explicit InputFiles(std::vector<tpb::TensorFile> const& files)
        : mFiles(files)
    {
    }

    //! The values of input \p name (type \p type, \p dims); nullptr where no --input-file names it.
    std::vector<uint8_t> const* values(std::string const& name, nvinfer1::DataType type, nvinfer1::Dims const& dims)
    {
        for (size_t i = 0; i < mFiles.size(); ++i)
        {
            tpb::TensorFile const& file = mFiles[i];
            if (file.name != name)
            {
                continue;
            }
            std::string const what = "--input-file " + name + " (" + file.path + ")";
            if (file.dtype != dataTypeName(type))
            {
                throw std::runtime_error(what + " holds " + file.dtype + ", the input " + name + " is "
                    + dataTypeName(type) + ": wrong dtype");
            }
            int64_t const want = tpb::checkedByteCount(volume(dims), static_cast<int64_t>(elementSize(type)), what);
            if (mLoaded.size() < mFiles.size())
            {
                mLoaded.resize(mFiles.size());
                mRead.resize(mFiles.size(), false);
            }
            if (!mRead[i])
            {
                mLoaded[i] = readBytes(file.path, "--input-file " + name);
                mRead[i] = true;
            }
            if (static_cast<int64_t>(mLoaded[i].size()) != want)
            {
                throw std::runtime_error(what + " holds " + std::to_string(mLoaded[i].size()) + " bytes, the input "
                    + name + " at " + shapeText(dims) + " is " + std::to_string(want) + " bytes of " + file.dtype
                    + ": size mismatch (a wrong shape, dtype or input)");
            }
            return &mLoaded[i];
        }
        return nullptr;
    }

private:
    std::vector<tpb::TensorFile> const& mFiles;
    std::vector<std::vector<uint8_t>> mLoaded;
    std::vector<bool> mRead;
};

//! Every --input-file (--dump-output) names an input (output) among \p names, else the refusal lists them.
void checkFileNames(std::vector<tpb::TensorFile> const& files, std::vector<std::string> const& names,
    char const* arg, char const* kind)
{
    for (tpb::TensorFile const& file : files)
    {
        if (std::find(names.begin(), names.end(), file.name) == names.end())
        {
            std::string known;
            for (std::string const& name : names)
            {
                known += (known.empty() ? "" : ", ") + name;
            }
            throw std::runtime_error(std::string(arg) + " names '" + file.name + "' (" + file.path + "), not an "
                + kind + " (" + kind + "s: " + known + ")");
        }
    }
}

struct IoTensor
{
    std::string name;
    bool input{false};
    nvinfer1::DataType type{nvinfer1::DataType::kFLOAT};
};

std::vector<IoTensor> ioTensors(nvinfer1::ICudaEngine const& engine)
{
    std::vector<IoTensor> tensors;
    for (int32_t i = 0; i < engine.getNbIOTensors(); ++i)
    {
        char const* name = engine.getIOTensorName(i);
        tensors.push_back({name, engine.getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT,
            engine.getTensorDataType(name)});
    }
    return tensors;
}

//! Input \p name's shape: its --input-shape, else --shape (input 0's).
std::vector<int64_t> const& inputShape(std::string const& name, std::vector<int64_t> const& shape,
    std::vector<std::pair<std::string, std::vector<int64_t>>> const& inputShapes)
{
    for (auto const& named : inputShapes)
    {
        if (named.first == name)
        {
            return named.second;
        }
    }
    return shape;
}

//! One execution context with its own stream, profile and device buffers, set up for the shapes:
//! every input and every output of the engine bound by name (TensorRT 8.6's name-based API:
//! setInputShape, getTensorShape, setTensorAddress, enqueueV3), every dynamic input at its shape.
class Worker
{
public:
    Worker(nvinfer1::ICudaEngine& engine, std::vector<IoTensor> const& tensors, int32_t profile,
        std::vector<int64_t> const& shape, std::vector<std::pair<std::string, std::vector<int64_t>>> const& inputShapes,
        uint32_t seed, bool bare, InputFiles& files)
        : mTensors(tensors)
        , mProfile(profile)
        , mContext(engine.createExecutionContext())
    {
        if (!mContext)
        {
            throw std::runtime_error("createExecutionContext failed");
        }
        if (!mContext->setOptimizationProfileAsync(profile, mStream.handle))
        {
            throw std::runtime_error("setOptimizationProfileAsync(" + std::to_string(profile) + ") failed");
        }
        for (auto const& named : inputShapes)
        {
            bool const known = std::any_of(tensors.begin(), tensors.end(),
                [&](IoTensor const& t) { return t.input && t.name == named.first; });
            if (!known)
            {
                throw std::runtime_error("--input-shape names '" + named.first + "', not an input of the engine");
            }
        }
        for (IoTensor const& tensor : tensors)
        {
            if (!tensor.input)
            {
                continue;
            }
            nvinfer1::Dims const declared = engine.getTensorShape(tensor.name.c_str());
            bool const dynamic = std::any_of(declared.d, declared.d + std::max(declared.nbDims, 0),
                [](auto d) { return d < 0; });
            if (!dynamic)
            {
                continue; // a static input (a broadcast one of fixed shape) has no shape to set
            }
            std::vector<int64_t> const& s = inputShape(tensor.name, shape, inputShapes);
            nvinfer1::Dims dims{};
            dims.nbDims = static_cast<int32_t>(s.size());
            std::copy(s.begin(), s.end(), dims.d);
            if (!mContext->setInputShape(tensor.name.c_str(), dims))
            {
                throw std::runtime_error("the engine refuses the shape of input " + tensor.name
                    + (tensor.name == mTensors.front().name ? std::string(" (--shape)") : std::string(" (--shape or --input-shape)")));
            }
        }
        for (IoTensor const& tensor : tensors)
        {
            nvinfer1::Dims const dims = mContext->getTensorShape(tensor.name.c_str());
            int64_t const count = volume(dims);
            mBuffers.push_back(std::make_unique<DeviceBuffer>(static_cast<size_t>(
                tpb::checkedByteCount(count, static_cast<int64_t>(elementSize(tensor.type)), tensor.name))));
            if (tensor.input)
            {
                // the file's values (the spec's generators, drawn by Python), else the runner's own fill
                std::vector<uint8_t> const* const given = files.values(tensor.name, tensor.type, dims);
                std::vector<uint8_t> const own = given != nullptr ? std::vector<uint8_t>{} : randomInput(tensor.type, count, seed);
                std::vector<uint8_t> const& host = given != nullptr ? *given : own;
                cudaCheck(cudaMemcpyAsync(mBuffers.back()->data, host.data(), host.size(), cudaMemcpyHostToDevice,
                              mStream.handle),
                    "cudaMemcpyAsync (input)");
                cudaCheck(cudaStreamSynchronize(mStream.handle), "cudaStreamSynchronize (input)");
            }
            if (!mContext->setTensorAddress(tensor.name.c_str(), mBuffers.back()->data))
            {
                throw std::runtime_error("setTensorAddress failed for " + tensor.name);
            }
            (tensor.input ? mBytesIn : mBytesOut) += static_cast<int64_t>(mBuffers.back()->bytes);
        }
        if (bare)
        {
            // the bare kernel's own two buffers: the inputs' bytes one after another (so it reads the
            // same random data), and the outputs' total
            mBareIn = std::make_unique<DeviceBuffer>(static_cast<size_t>(tpb::bareBufferBytes(mBytesIn)));
            mBareOut = std::make_unique<DeviceBuffer>(static_cast<size_t>(tpb::bareBufferBytes(mBytesOut)));
            cudaCheck(cudaMemsetAsync(mBareIn->data, 0, mBareIn->bytes, mStream.handle), "cudaMemsetAsync (bare input)");
            size_t offset = 0;
            for (size_t i = 0; i < mTensors.size(); ++i)
            {
                if (mTensors[i].input)
                {
                    cudaCheck(cudaMemcpyAsync(static_cast<uint8_t*>(mBareIn->data) + offset, mBuffers[i]->data,
                                  mBuffers[i]->bytes, cudaMemcpyDeviceToDevice, mStream.handle),
                        "cudaMemcpyAsync (bare input)");
                    offset += mBuffers[i]->bytes;
                }
            }
            cudaCheck(cudaStreamSynchronize(mStream.handle), "cudaStreamSynchronize (bare input)");
        }
    }

    //! Bytes of every input (every output) at the shapes: what one inference reads (writes) at least.
    int64_t bytesIn() const
    {
        return mBytesIn;
    }
    int64_t bytesOut() const
    {
        return mBytesOut;
    }

    int32_t profile() const
    {
        return mProfile;
    }
    cudaStream_t stream() const
    {
        return mStream.handle;
    }

    void enqueue()
    {
        if (mBareIn)
        {
            cudaCheck(tpb::launchBareKernel(mBareIn->data, mBytesIn, mBareOut->data, mBytesOut, mStream.handle),
                "the bare kernel's launch");
            return;
        }
        bool const ok = mContext->enqueueV3(mStream.handle);
        if (!ok)
        {
            throw std::runtime_error("enqueue failed");
        }
    }

    //! Capture one enqueue into \p graph (after an uncaptured one: TensorRT's advice, so that
    //! shape-dependent setup happens outside the capture).
    //! \p batch enqueues in one graph: one launch replays them all, so the host's launch cost is paid
    //! once per \p batch inferences and what is left is the GPU's.
    void capture(Graph& graph, int32_t batch = 1)
    {
        enqueue();
        cudaCheck(cudaStreamSynchronize(mStream.handle), "cudaStreamSynchronize (before capture)");
        cudaCheck(cudaStreamBeginCapture(mStream.handle, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
        for (int32_t i = 0; i < batch; ++i)
        {
            enqueue();
        }
        cudaCheck(cudaStreamEndCapture(mStream.handle, &graph.graph), "cudaStreamEndCapture");
        cudaCheck(cudaGraphInstantiate(&graph.exec, graph.graph, 0), "cudaGraphInstantiate");
    }

    //! Every output's bytes, concatenated (after the stream's work is done).
    std::vector<uint8_t> outputs()
    {
        cudaCheck(cudaStreamSynchronize(mStream.handle), "cudaStreamSynchronize (outputs)");
        std::vector<uint8_t> bytes;
        if (mBareOut)
        {
            bytes.resize(mBareOut->bytes);
            cudaCheck(cudaMemcpy(bytes.data(), mBareOut->data, bytes.size(), cudaMemcpyDeviceToHost),
                "cudaMemcpy (bare output)");
            return bytes;
        }
        for (size_t i = 0; i < mTensors.size(); ++i)
        {
            if (!mTensors[i].input)
            {
                std::vector<uint8_t> part(mBuffers[i]->bytes);
                cudaCheck(cudaMemcpy(part.data(), mBuffers[i]->data, part.size(), cudaMemcpyDeviceToHost),
                    "cudaMemcpy (output)");
                bytes.insert(bytes.end(), part.begin(), part.end());
            }
        }
        return bytes;
    }

    //! Output \p name's bytes (after the stream's work is done); the engine's outputs only, not the bare kernel's.
    std::vector<uint8_t> output(std::string const& name)
    {
        cudaCheck(cudaStreamSynchronize(mStream.handle), "cudaStreamSynchronize (output)");
        for (size_t i = 0; i < mTensors.size(); ++i)
        {
            if (!mTensors[i].input && mTensors[i].name == name)
            {
                std::vector<uint8_t> bytes(mBuffers[i]->bytes);
                cudaCheck(cudaMemcpy(bytes.data(), mBuffers[i]->data, bytes.size(), cudaMemcpyDeviceToHost),
                    "cudaMemcpy (output)");
                return bytes;
            }
        }
        throw std::runtime_error("no output " + name);
    }

private:
    std::vector<IoTensor> const& mTensors;
    int32_t mProfile;
    Stream mStream; // before the context: destroyed after it
    std::vector<std::unique_ptr<DeviceBuffer>> mBuffers;
    std::unique_ptr<nvinfer1::IExecutionContext> mContext;
    int64_t mBytesIn{0};
    int64_t mBytesOut{0};
    std::unique_ptr<DeviceBuffer> mBareIn;  // --bare-kernel only
    std::unique_ptr<DeviceBuffer> mBareOut;
};

//! Releases all waiting threads at once, so that they start their timed loops together.
class StartGate
{
public:
    explicit StartGate(int32_t parties)
        : mWaiting(parties)
    {
    }
    void arriveAndWait()
    {
        std::unique_lock<std::mutex> lock(mMutex);
        if (--mWaiting == 0)
        {
            mStart = std::chrono::steady_clock::now();
            mOpen = true;
            mCondition.notify_all();
        }
        mCondition.wait(lock, [this] { return mOpen; });
    }
    std::chrono::steady_clock::time_point start() const
    {
        return mStart;
    }

private:
    std::mutex mMutex;
    std::condition_variable mCondition;
    int32_t mWaiting;
    bool mOpen{false};
    std::chrono::steady_clock::time_point mStart;
};

struct ThreadResult
{
    std::vector<float> latenciesUs;
    std::vector<std::pair<double, double>> intervalsMs; //!< [start, end] relative to the reference event
    std::vector<uint8_t> output;
    std::chrono::steady_clock::time_point done;
    std::string error;
};

void runThread(Worker& worker, Options const& options, StartGate& gate, cudaEvent_t reference, ThreadResult& result)
{
    try
    {
        cudaCheck(cudaSetDevice(0), "cudaSetDevice");
        Graph graph;
        for (int32_t i = 0; i < options.warmup; ++i)
        {
            worker.enqueue();
        }
        if (options.graph)
        {
            worker.capture(graph, options.graphBatch);
            cudaCheck(cudaGraphLaunch(graph.exec, worker.stream()), "cudaGraphLaunch (warm-up)");
        }
        int32_t const every = options.timeEvery;
        int32_t const batch = options.graph ? options.graphBatch : 1; // inferences per launch
        int32_t const launches = options.iterations / batch;
        size_t const timed = static_cast<size_t>((launches + every - 1) / every);
        std::vector<Event> starts(timed);
        std::vector<Event> ends(timed);
        cudaCheck(cudaStreamSynchronize(worker.stream()), "cudaStreamSynchronize (warm-up)");
        gate.arriveAndWait();
        for (int32_t i = 0; i < launches; ++i)
        {
            bool const timeIt = i % every == 0;
            if (timeIt)
            {
                cudaCheck(cudaEventRecord(starts[i / every].handle, worker.stream()), "cudaEventRecord");
            }
            if (options.graph)
            {
                cudaCheck(cudaGraphLaunch(graph.exec, worker.stream()), "cudaGraphLaunch");
            }
            else
            {
                worker.enqueue();
            }
            if (timeIt)
            {
                cudaCheck(cudaEventRecord(ends[i / every].handle, worker.stream()), "cudaEventRecord");
            }
        }
        cudaCheck(cudaStreamSynchronize(worker.stream()), "cudaStreamSynchronize");
        result.done = std::chrono::steady_clock::now();
        for (size_t i = 0; i < timed; ++i)
        {
            float elapsed = 0.0F;
            float begin = 0.0F;
            float end = 0.0F;
            cudaCheck(cudaEventElapsedTime(&elapsed, starts[i].handle, ends[i].handle), "cudaEventElapsedTime");
            cudaCheck(cudaEventElapsedTime(&begin, reference, starts[i].handle), "cudaEventElapsedTime");
            cudaCheck(cudaEventElapsedTime(&end, reference, ends[i].handle), "cudaEventElapsedTime");
            result.latenciesUs.push_back(elapsed * 1000.0F / static_cast<float>(batch)); // per inference
            result.intervalsMs.emplace_back(begin, end);
        }
        result.output = worker.outputs();
    }
    catch (std::exception const& e)
    {
        result.error = "thread " + std::string(e.what());
        result.done = std::chrono::steady_clock::now();
    }
}

double percentile(std::vector<float> values, double p)
{
    if (values.empty())
    {
        return std::nan("");
    }
    std::sort(values.begin(), values.end());
    size_t const rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

//! Total length of the union of [start, end] intervals.
double unionLength(std::vector<std::pair<double, double>> intervals)
{
    std::sort(intervals.begin(), intervals.end());
    double total = 0.0;
    double coveredTo = -1e300;
    for (auto const& [start, end] : intervals)
    {
        double const from = std::max(start, coveredTo);
        if (end > from)
        {
            total += end - from;
        }
        coveredTo = std::max(coveredTo, end);
    }
    return total;
}

std::string jsonString(std::string const& text)
{
    std::string out = "\"";
    for (char c : text)
    {
        if (c == '"' || c == '\\')
        {
            out += '\\';
            out += c;
        }
        else if (static_cast<unsigned char>(c) < 0x20)
        {
            char escaped[8];
            std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += escaped;
        }
        else
        {
            out += c;
        }
    }
    return out + "\"";
}

std::string jsonNumber(double value)
{
    if (!std::isfinite(value))
    {
        return "null";
    }
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", value);
    return text;
}

std::vector<char> readFile(std::string const& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
    {
        throw std::runtime_error("cannot read the engine " + path);
    }
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

nvinfer1::IPluginCreator* findCreator(std::string const& name, std::string const& pluginNamespace)
{
#if NV_TENSORRT_MAJOR < 10
    return getPluginRegistry()->getPluginCreator(name.c_str(), "1", pluginNamespace.c_str());
#else
    nvinfer1::IPluginCreatorInterface* const creator
        = getPluginRegistry()->getCreator(name.c_str(), "1", pluginNamespace.c_str());
    if (creator == nullptr || std::string(creator->getInterfaceInfo().kind) != "PLUGIN CREATOR_V1")
    {
        return nullptr; // a V3 creator: its clones are TensorRT 10's attachToContext, checked through contexts
    }
    return static_cast<nvinfer1::IPluginCreator*>(creator);
#endif
}

//! Destroys a plugin object the way TensorRT does (IPluginV2::destroy), once.
struct PluginDeleter
{
    void operator()(nvinfer1::IPluginV2DynamicExt* plugin) const noexcept
    {
        if (plugin != nullptr)
        {
            plugin->destroy();
        }
    }
};
using PluginPtr = std::unique_ptr<nvinfer1::IPluginV2DynamicExt, PluginDeleter>;

//! One plugin object configured for its input and output shapes (input 0 --shape, the others
//! --input-shape in order; the outputs --output-shape, or one of --shape) and enqueued on buffers of
//! its own. fp32, linear format.
struct CloneRun
{
    explicit CloneRun(nvinfer1::IPluginV2DynamicExt* clone)
        : plugin(clone)
    {
    }
    PluginPtr plugin;
    std::vector<std::unique_ptr<DeviceBuffer>> inputs;
    std::vector<std::unique_ptr<DeviceBuffer>> outputs;
    std::unique_ptr<DeviceBuffer> workspace;
    std::vector<nvinfer1::PluginTensorDesc> in;
    std::vector<nvinfer1::PluginTensorDesc> out;

    static nvinfer1::PluginTensorDesc describe(std::vector<int64_t> const& shape)
    {
        nvinfer1::PluginTensorDesc desc{};
        desc.dims.nbDims = static_cast<int32_t>(shape.size());
        std::copy(shape.begin(), shape.end(), desc.dims.d);
        desc.type = nvinfer1::DataType::kFLOAT;
        desc.format = nvinfer1::TensorFormat::kLINEAR;
        desc.scale = -1.0F;
        return desc;
    }

    //! \p files (clone A's, else nullptr): the values of the inputs it names (\p inNames), else the own fill.
    void configure(std::vector<std::vector<int64_t>> const& inShapes, std::vector<std::vector<int64_t>> const& outShapes,
        uint32_t seed, cudaStream_t stream, InputFiles* files = nullptr, std::vector<std::string> const* inNames = nullptr)
    {
        in.clear();
        out.clear();
        for (auto const& s : inShapes)
        {
            in.push_back(describe(s));
        }
        for (auto const& s : outShapes)
        {
            out.push_back(describe(s));
        }
        if (plugin->getNbOutputs() != static_cast<int32_t>(out.size()))
        {
            throw std::runtime_error("the plugin has " + std::to_string(plugin->getNbOutputs()) + " outputs, "
                + std::to_string(out.size()) + " given (--output-shape)");
        }
        // Member by member: TensorRT >= 10 adds fields (opt) that stay zero, as in an aggregate init.
        std::vector<nvinfer1::DynamicPluginTensorDesc> din(in.size());
        std::vector<nvinfer1::DynamicPluginTensorDesc> dout(out.size());
        for (size_t i = 0; i < in.size(); ++i)
        {
            din[i].desc = in[i];
            din[i].min = in[i].dims;
            din[i].max = in[i].dims;
        }
        for (size_t i = 0; i < out.size(); ++i)
        {
            dout[i].desc = out[i];
            dout[i].min = out[i].dims;
            dout[i].max = out[i].dims;
        }
        plugin->configurePlugin(din.data(), static_cast<int32_t>(din.size()), dout.data(), static_cast<int32_t>(dout.size()));
        inputs.clear();
        outputs.clear();
        for (size_t i = 0; i < in.size(); ++i)
        {
            int64_t const count = volume(in[i].dims);
            inputs.push_back(std::make_unique<DeviceBuffer>(static_cast<size_t>(tpb::checkedByteCount(count, 4, "input"))));
            std::vector<uint8_t> const* const given
                = files != nullptr && inNames != nullptr ? files->values((*inNames)[i], in[i].type, in[i].dims) : nullptr;
            std::vector<uint8_t> const own = given != nullptr
                ? std::vector<uint8_t>{}
                : randomInput(nvinfer1::DataType::kFLOAT, count, seed + static_cast<uint32_t>(i));
            std::vector<uint8_t> const& host = given != nullptr ? *given : own;
            cudaCheck(cudaMemcpyAsync(inputs.back()->data, host.data(), host.size(), cudaMemcpyHostToDevice, stream),
                "cudaMemcpyAsync");
        }
        for (auto const& desc : out)
        {
            outputs.push_back(std::make_unique<DeviceBuffer>(
                static_cast<size_t>(tpb::checkedByteCount(volume(desc.dims), 4, "output"))));
        }
        size_t const ws = plugin->getWorkspaceSize(in.data(), static_cast<int32_t>(in.size()), out.data(),
            static_cast<int32_t>(out.size()));
        workspace = std::make_unique<DeviceBuffer>(std::max<size_t>(ws, 16));
        cudaCheck(cudaStreamSynchronize(stream), "cudaStreamSynchronize (inputs)"); // the host staging dies here
    }

    //! Every output's bytes, output 0 first.
    std::vector<uint8_t> run(cudaStream_t stream)
    {
        std::vector<void const*> ins;
        std::vector<void*> outs;
        for (auto const& buffer : inputs)
        {
            ins.push_back(buffer->data);
        }
        for (auto const& buffer : outputs)
        {
            cudaCheck(cudaMemsetAsync(buffer->data, 0xFF, buffer->bytes, stream), "cudaMemsetAsync (poison)");
            outs.push_back(buffer->data);
        }
        if (plugin->enqueue(in.data(), out.data(), ins.data(), outs.data(), workspace->data, stream) != 0)
        {
            throw std::runtime_error("the plugin's enqueue returned an error");
        }
        std::vector<uint8_t> bytes;
        for (auto const& buffer : outputs)
        {
            std::vector<uint8_t> part(buffer->bytes);
            cudaCheck(cudaMemcpyAsync(part.data(), buffer->data, part.size(), cudaMemcpyDeviceToHost, stream),
                "cudaMemcpyAsync");
            cudaCheck(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
            bytes.insert(bytes.end(), part.begin(), part.end());
        }
        return bytes;
    }
};

int cloneCheck(Options const& options)
{
    std::string name = options.cloneCheck;
    std::string pluginNamespace;
    if (size_t const at = name.find('@'); at != std::string::npos)
    {
        pluginNamespace = name.substr(at + 1);
        name = name.substr(0, at);
    }
    bool ok = false;
    std::string message;
    try
    {
        nvinfer1::IPluginCreator* const creator = findCreator(name, pluginNamespace);
        if (creator == nullptr)
        {
            throw std::runtime_error("no IPluginCreator " + name + " version 1 in namespace '" + pluginNamespace
                + "' is registered after loading --plugins");
        }
        // --field values (the spec's, so the plugin computes what its reference does); the rest the creator's defaults
        std::vector<std::vector<float>> floats;
        std::vector<std::vector<double>> doubles;
        std::vector<nvinfer1::PluginField> given;
        floats.reserve(options.fields.size()); // no reallocation: given points into them
        doubles.reserve(options.fields.size());
        for (tpb::PluginFieldArg const& field : options.fields)
        {
            if (field.type == "int32")
            {
                given.emplace_back(field.name.c_str(), field.ints.data(), nvinfer1::PluginFieldType::kINT32,
                    static_cast<int32_t>(field.ints.size()));
            }
            else if (field.type == "float32")
            {
                floats.emplace_back(field.floats.begin(), field.floats.end());
                given.emplace_back(field.name.c_str(), floats.back().data(), nvinfer1::PluginFieldType::kFLOAT32,
                    static_cast<int32_t>(floats.back().size()));
            }
            else
            {
                doubles.push_back(field.floats);
                given.emplace_back(field.name.c_str(), doubles.back().data(), nvinfer1::PluginFieldType::kFLOAT64,
                    static_cast<int32_t>(doubles.back().size()));
            }
        }
        nvinfer1::PluginFieldCollection const collection{static_cast<int32_t>(given.size()), given.data()};
        nvinfer1::IPluginV2* const raw = creator->createPlugin(name.c_str(), &collection);
        if (raw == nullptr)
        {
            throw std::runtime_error("createPlugin returned null");
        }
        if ((raw->getTensorRTVersion() >> 24) != static_cast<int32_t>(nvinfer1::PluginVersion::kV2_DYNAMICEXT))
        {
            raw->destroy();
            throw std::runtime_error("the plugin is not an IPluginV2DynamicExt");
        }
        PluginPtr original(static_cast<nvinfer1::IPluginV2DynamicExt*>(raw));
        if (original->initialize() != 0)
        {
            throw std::runtime_error("initialize() failed");
        }
        std::vector<std::vector<int64_t>> inShapes{options.shape};
        for (auto const& named : options.inputShapes)
        {
            inShapes.push_back(named.second);
        }
        std::vector<std::vector<int64_t>> outShapes;
        std::vector<std::string> inNames{"input0"}; // --input-file / --dump-output names of the drive
        std::vector<std::string> outNames;
        for (auto const& named : options.inputShapes)
        {
            if (named.first == inNames.front() && !options.inputFiles.empty())
            {
                throw std::runtime_error("--input-shape names 'input0', the clone drive's name of input 0: "
                    "its --input-file would be ambiguous");
            }
            inNames.push_back(named.first);
        }
        for (auto const& named : options.outputShapes)
        {
            outShapes.push_back(named.second);
            outNames.push_back(named.first);
        }
        if (outShapes.empty())
        {
            outShapes.push_back(options.shape);
            outNames.emplace_back("output0");
        }
        checkFileNames(options.inputFiles, inNames, "--input-file", "input");
        checkFileNames(options.dumpOutputs, outNames, "--dump-output", "output");
        for (tpb::TensorFile const& dump : options.dumpOutputs)
        {
            if (dump.dtype != "fp32")
            {
                throw std::runtime_error("--dump-output " + dump.name + " (" + dump.path + ") asks for " + dump.dtype
                    + ", the clone drive runs fp32: wrong dtype");
            }
        }
        InputFiles files(options.inputFiles);
        Stream stream;
        CloneRun a(original->clone());
        CloneRun b(original->clone());
        if (!a.plugin || !b.plugin)
        {
            throw std::runtime_error("clone() returned null");
        }
        a.configure(inShapes, outShapes, options.seed, stream.handle, &files, &inNames);
        b.configure(inShapes, outShapes, options.seed + 1, stream.handle); // its own data: not A's
        std::vector<uint8_t> const before = a.run(stream.handle);
        size_t offset = 0; // A's first outputs, output 0 first, for Python's check against the spec's reference
        for (size_t j = 0; j < a.outputs.size(); ++j)
        {
            size_t const size = a.outputs[j]->bytes;
            auto const dump = std::find_if(options.dumpOutputs.begin(), options.dumpOutputs.end(),
                [&](tpb::TensorFile const& f) { return f.name == outNames[j]; });
            if (dump != options.dumpOutputs.end())
            {
                writeBytes(dump->path, before.data() + offset, size, "--dump-output " + dump->name);
            }
            offset += size;
        }
        b.run(stream.handle);
        // configured again (as a context's shapes being set again) at the same shape: a different
        // one would also catch state kept process-wide, which is check 2's fault, not this one's
        b.configure(inShapes, outShapes, options.seed + 2, stream.handle);
        b.run(stream.handle);
        b.plugin.reset(); // destroy(): TensorRT destroying one context's clone
        std::vector<uint8_t> const after = a.run(stream.handle);
        original->terminate();
        ok = before == after;
        message = ok ? "two clones configured and enqueued, one reconfigured and destroyed: the other's output is "
                       "bit-identical before and after"
                     : "after one clone was reconfigured and destroyed, the other clone's output changed: clone() "
                       "shares state that configure, enqueue or destroy changes (a shallow clone)";
    }
    catch (std::exception const& e)
    {
        message = std::string("the clone check could not run: ") + e.what();
    }
    std::printf("{\"clone_check\": true, \"creator\": %s, \"ok\": %s, \"message\": %s}\n",
        jsonString(options.cloneCheck).c_str(), ok ? "true" : "false", jsonString(message).c_str());
    return ok ? 0 : 1;
}

} // namespace

//! The usage text (--help on stdout, after a refusal on stderr).
static void printUsage(std::FILE* stream, char const* program)
{
    std::fprintf(stream,
        "usage: %s --engine PATH [--plugins LIB[,LIB]] --threads N --iterations M "
        "--shape d0xd1x... [--graph] [--profile-per-thread] [--plugin-init] [--warmup W] [--seed S] "
        "[--bare-kernel] [--input-file NAME:DTYPE=PATH ...] [--dump-output NAME:DTYPE=PATH ...]\n"
        "       %s --clone-check CREATOR[@NAMESPACE] --plugins LIB --shape d0xd1x... [--input-shape NAME=...] "
        "[--output-shape NAME=...] [--field NAME:TYPE=V[,V...] ...] [--input-file ...] [--dump-output ...]\n"
        "  --input-file: the input's raw little-endian values (DTYPE fp32|fp16|bf16|int32|int64|int8|uint8|bool, "
        "the input's type; size = its bytes at its shape); an input without one gets the runner's own fill "
        "(uniform [-8, 8] from --seed, for hand use)\n"
        "  --dump-output: write that output of the single-context reference run (--clone-check: clone A's "
        "first run; input 0 is 'input0', output 0 'output0' unless --output-shape names it)\n"
        "  --field (--clone-check): a PluginField for the creator (TYPE float32|float64|int32); the others keep "
        "the creator's defaults\n",
        program, program);
}

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
    {
        if (argv[i] != nullptr && (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0))
        {
            printUsage(stdout, argv[0]);
            return 0;
        }
    }
    Options options;
    try
    {
        options = parse(argc, argv);
    }
    catch (std::exception const& e)
    {
        std::fprintf(stderr, "trt_runner: %s\n", e.what());
        printUsage(stderr, argv[0]);
        return 2;
    }

    RunnerLogger logger;
    std::vector<ThreadResult> results(static_cast<size_t>(options.threads));
    std::vector<int32_t> profiles(static_cast<size_t>(options.threads), 0);
    std::vector<uint8_t> reference;
    double wallS = 0.0;
    int64_t bytesIn = -1; // per inference, the engine's I/O at the shapes (-1: not reached)
    int64_t bytesOut = -1;
    try
    {
        cudaCheck(cudaSetDevice(0), "cudaSetDevice");
        for (std::string const& plugin : options.plugins)
        {
            // A plain dlopen, never closed: the library registers its creators while it is loaded.
            void* const handle = dlopen(plugin.c_str(), RTLD_NOW | RTLD_GLOBAL);
            if (handle == nullptr)
            {
                throw std::runtime_error("cannot dlopen plugin library " + plugin + ": " + dlerror());
            }
            if (options.pluginInit)
            {
                using InitPlugins = int32_t (*)(char const*);
                if (void* const init = dlsym(handle, "initSwishPlugins"))
                {
                    reinterpret_cast<InitPlugins>(init)("");
                }
            }
        }
        if (!options.cloneCheck.empty())
        {
            return cloneCheck(options);
        }
        std::unique_ptr<nvinfer1::IRuntime> runtime(nvinfer1::createInferRuntime(logger));
        std::vector<char> const blob = readFile(options.engine);
        std::unique_ptr<nvinfer1::ICudaEngine> engine(
            runtime ? runtime->deserializeCudaEngine(blob.data(), blob.size()) : nullptr);
        if (!engine)
        {
            throw std::runtime_error("the engine did not deserialize");
        }
        std::vector<IoTensor> const tensors = ioTensors(*engine);
        std::vector<std::string> inputNames;
        std::vector<std::string> outputNames;
        for (IoTensor const& tensor : tensors)
        {
            (tensor.input ? inputNames : outputNames).push_back(tensor.name);
        }
        checkFileNames(options.inputFiles, inputNames, "--input-file", "input");
        checkFileNames(options.dumpOutputs, outputNames, "--dump-output", "output");
        for (tpb::TensorFile const& dump : options.dumpOutputs)
        {
            auto const tensor = std::find_if(
                tensors.begin(), tensors.end(), [&](IoTensor const& t) { return !t.input && t.name == dump.name; });
            if (dataTypeName(tensor->type) != dump.dtype)
            {
                throw std::runtime_error("--dump-output " + dump.name + " (" + dump.path + ") asks for " + dump.dtype
                    + ", the output " + dump.name + " is " + dataTypeName(tensor->type) + ": wrong dtype");
            }
        }
        InputFiles inputFiles(options.inputFiles);
        int32_t const nbProfiles = engine->getNbOptimizationProfiles();
        if (options.profilePerThread && options.threads > nbProfiles)
        {
            throw std::runtime_error("--profile-per-thread needs a profile per thread: " + std::to_string(options.threads)
                + " threads, the engine has " + std::to_string(nbProfiles));
        }
        {
            std::vector<std::unique_ptr<Worker>> workers;
            for (int32_t t = 0; t < options.threads; ++t)
            {
                profiles[static_cast<size_t>(t)] = options.profilePerThread ? t : 0;
                workers.push_back(
                    std::make_unique<Worker>(*engine, tensors, profiles[static_cast<size_t>(t)], options.shape,
                        options.inputShapes, options.seed, options.bareKernel, inputFiles));
            }
            Event referenceEvent;
            cudaCheck(cudaEventRecord(referenceEvent.handle, workers[0]->stream()), "cudaEventRecord");
            cudaCheck(cudaEventSynchronize(referenceEvent.handle), "cudaEventSynchronize");
            StartGate gate(options.threads);
            std::vector<std::thread> threads;
            for (int32_t t = 0; t < options.threads; ++t)
            {
                threads.emplace_back(runThread, std::ref(*workers[static_cast<size_t>(t)]), std::cref(options),
                    std::ref(gate), referenceEvent.handle, std::ref(results[static_cast<size_t>(t)]));
            }
            for (std::thread& thread : threads)
            {
                thread.join();
            }
            auto last = gate.start();
            for (ThreadResult const& result : results)
            {
                last = std::max(last, result.done);
            }
            wallS = std::chrono::duration<double>(last - gate.start()).count();
        } // every thread's context is destroyed here, before the reference context exists
        Worker single(
            *engine, tensors, 0, options.shape, options.inputShapes, options.seed, options.bareKernel, inputFiles);
        single.enqueue();
        reference = single.outputs();
        for (tpb::TensorFile const& dump : options.dumpOutputs) // checked against the spec's reference in Python
        {
            std::vector<uint8_t> const bytes = single.output(dump.name);
            writeBytes(dump.path, bytes.data(), bytes.size(), "--dump-output " + dump.name);
        }
        bytesIn = single.bytesIn();
        bytesOut = single.bytesOut();
    }
    catch (std::exception const& e)
    {
        logger.add(e.what());
    }

    std::vector<std::string> errors = logger.errors();
    bool identical = !reference.empty();
    std::vector<std::pair<double, double>> intervals;
    double intervalSumMs = 0.0;
    for (size_t t = 0; t < results.size(); ++t)
    {
        if (!results[t].error.empty())
        {
            errors.push_back(std::to_string(t) + ": " + results[t].error);
        }
        if (results[t].output.empty() || results[t].output != results[0].output || results[t].output != reference)
        {
            identical = false;
            if (!results[t].output.empty() && !reference.empty())
            {
                errors.push_back("thread " + std::to_string(t) + "'s output differs from "
                    + (results[t].output != reference ? "the single-context reference" : "thread 0's"));
            }
        }
        for (auto const& interval : results[t].intervalsMs)
        {
            intervals.push_back(interval);
            intervalSumMs += interval.second - interval.first;
        }
    }
    double const wallMs = wallS * 1000.0;
    std::string json = "{\"threads\": " + std::to_string(options.threads)
        + ", \"iterations\": " + std::to_string(options.iterations)
        + ", \"graph\": " + (options.graph ? "true" : "false") + ", \"graph_batch\": " + std::to_string(options.graph ? options.graphBatch : 1)
        + ", \"profile_per_thread\": " + (options.profilePerThread ? "true" : "false") + ", \"shape\": [";
    for (size_t i = 0; i < options.shape.size(); ++i)
    {
        json += (i ? ", " : "") + std::to_string(options.shape[i]);
    }
    json += "], \"tensorrt_version\": " + jsonString(std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR)
                + "." + std::to_string(NV_TENSORRT_PATCH));
    json += ", \"wall_s\": " + jsonNumber(wallS) + ", \"inferences_per_second\": "
        + jsonNumber(wallS > 0 ? options.threads * static_cast<double>(options.iterations) / wallS : std::nan(""))
        + ", \"per_thread\": [";
    for (size_t t = 0; t < results.size(); ++t)
    {
        std::vector<float> const& latencies = results[t].latenciesUs;
        double const mean = latencies.empty()
            ? std::nan("")
            : std::accumulate(latencies.begin(), latencies.end(), 0.0) / static_cast<double>(latencies.size());
        json += std::string(t ? ", " : "") + "{\"thread\": " + std::to_string(t)
            + ", \"profile\": " + std::to_string(profiles[t]) + ", \"p50_us\": " + jsonNumber(percentile(latencies, 0.50))
            + ", \"p90_us\": " + jsonNumber(percentile(latencies, 0.90))
            + ", \"p99_us\": " + jsonNumber(percentile(latencies, 0.99)) + ", \"mean_us\": " + jsonNumber(mean) + "}";
    }
    double const scale = static_cast<double>(options.timeEvery);
    json += "], \"gpu_busy_fraction\": "
        + jsonNumber(wallMs > 0 ? std::min(1.0, scale * unionLength(intervals) / wallMs) : std::nan(""))
        + ", \"gpu_interval_sum_over_wall\": " + jsonNumber(wallMs > 0 ? scale * intervalSumMs / wallMs : std::nan(""))
        + ", \"time_every\": " + std::to_string(options.timeEvery)
        + ", \"bare_kernel\": " + (options.bareKernel ? "true" : "false")
        + ", \"bytes_in\": " + (bytesIn < 0 ? std::string("null") : std::to_string(bytesIn))
        + ", \"bytes_out\": " + (bytesOut < 0 ? std::string("null") : std::to_string(bytesOut))
        + ", \"outputs_identical\": " + (identical ? "true" : "false") + ", \"errors\": [";
    for (size_t i = 0; i < errors.size(); ++i)
    {
        json += (i ? ", " : "") + jsonString(errors[i]);
    }
    json += "]}";
    std::printf("%s\n", json.c_str());
    return errors.empty() && identical ? 0 : 1;
}
