// Launch-rate probe (no TensorRT): how many small-kernel launches per second N host threads reach,
// each on its own non-blocking stream, plain launches and graph replays, with and without pinning
// each thread to its own CPU. It tells what the host launch path itself allows, so the native
// runner's thread sweep (plugin/runner) can be read against it: a runner that scales worse than
// this probe loses time in TensorRT's enqueue, one that scales like it is bound by the driver. Its
// kernel is the bare kernel (bareKernel.cuh), the one the native runner's --bare-kernel mode times.
//
//   launch_scaling_probe [--elements E] [--seconds S] [--max-threads N]
//
// Prints CSV: mode,pinned,threads,launches,wall_s,launches_per_s,per_thread_per_s
#include "bareKernel.cuh"

#include <cuda_runtime.h>

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace
{
void check(cudaError_t status, char const* what)
{
    if (status != cudaSuccess)
    {
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
    }
}

struct Result
{
    long launches{0};
    std::chrono::steady_clock::time_point done;
};

void worker(int index, bool graph, bool pinned, int elements, double seconds, std::atomic<int>& ready,
    int total, Result& result)
{
    if (pinned)
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(index % static_cast<int>(std::thread::hardware_concurrency()), &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    check(cudaSetDevice(0), "cudaSetDevice");
    cudaStream_t stream{};
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    float* in{};
    float* out{};
    check(cudaMalloc(&in, elements * sizeof(float)), "cudaMalloc");
    check(cudaMalloc(&out, elements * sizeof(float)), "cudaMalloc");
    check(cudaMemset(in, 0, elements * sizeof(float)), "cudaMemset");
    int const blocks = static_cast<int>(tpbBareBlocks(elements, elements));
    cudaGraphExec_t exec{};
    if (graph)
    {
        cudaGraph_t g{};
        check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "capture");
        tpbBareCopy<<<blocks, kTpbBareBlock, 0, stream>>>(in, elements, out, elements);
        check(cudaStreamEndCapture(stream, &g), "end capture");
        check(cudaGraphInstantiate(&exec, g, 0), "instantiate");
        check(cudaGraphDestroy(g), "graph destroy");
    }
    for (int i = 0; i < 200; ++i)
    {
        graph ? (void) cudaGraphLaunch(exec, stream) : tpbBareCopy<<<blocks, kTpbBareBlock, 0, stream>>>(in, elements, out, elements);
    }
    check(cudaStreamSynchronize(stream), "sync");
    ready.fetch_add(1);
    while (ready.load() < total)
    {
    }
    auto const start = std::chrono::steady_clock::now();
    long launches = 0;
    while (true)
    {
        for (int i = 0; i < 256; ++i)
        {
            if (graph)
            {
                check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
            }
            else
            {
                tpbBareCopy<<<blocks, kTpbBareBlock, 0, stream>>>(in, elements, out, elements);
            }
        }
        launches += 256;
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds)
        {
            break;
        }
    }
    check(cudaStreamSynchronize(stream), "sync");
    result.launches = launches;
    result.done = std::chrono::steady_clock::now();
    if (graph)
    {
        cudaGraphExecDestroy(exec);
    }
    cudaFree(in);
    cudaFree(out);
    cudaStreamDestroy(stream);
}
} // namespace

int main(int argc, char** argv)
{
    int elements = 64 * 1024;
    double seconds = 0.5;
    int maxThreads = 8;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (!std::strcmp(argv[i], "--elements"))
            elements = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seconds"))
            seconds = std::atof(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--max-threads"))
            maxThreads = std::atoi(argv[i + 1]);
    }
    check(cudaFree(nullptr), "context");
    std::printf("mode,pinned,threads,launches,wall_s,launches_per_s,per_thread_per_s\n");
    for (int graph = 0; graph < 2; ++graph)
    {
        for (int pinned = 0; pinned < 2; ++pinned)
        {
            for (int n = 1; n <= maxThreads; n *= 2)
            {
                std::atomic<int> ready{0};
                std::vector<Result> results(static_cast<size_t>(n));
                std::vector<std::thread> threads;
                auto const begin = std::chrono::steady_clock::now();
                for (int t = 0; t < n; ++t)
                {
                    threads.emplace_back(worker, t, graph != 0, pinned != 0, elements, seconds, std::ref(ready), n,
                        std::ref(results[static_cast<size_t>(t)]));
                }
                for (auto& th : threads)
                {
                    th.join();
                }
                (void) begin;
                long total = 0;
                for (auto const& r : results)
                {
                    total += r.launches;
                }
                double const wall = seconds; // each thread stops after `seconds` (and at most 256 more launches)
                double const rate = static_cast<double>(total) / wall;
                std::printf("%s,%d,%d,%ld,%.3f,%.0f,%.0f\n", graph ? "graph" : "plain", pinned, n, total, wall, rate,
                    rate / n);
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
