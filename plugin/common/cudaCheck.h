// Small CUDA error-check helpers shared by the plugin and the test code. Pure CUDA runtime API.
#pragma once

#include <cstdio>
#include <cuda_runtime_api.h>

namespace tpb
{

//! Print "<file>:<line>: <expr> failed: <cuda error name> (<description>)" to stderr when status is
//! an error. Returns true on success so callers can write `if (!checkCuda(...)) return ...;`.
inline bool checkCuda(cudaError_t status, char const* expression, char const* file, int line) noexcept
{
    if (status == cudaSuccess)
    {
        return true;
    }
    std::fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", file, line, expression, cudaGetErrorName(status),
        cudaGetErrorString(status));
    return false;
}

} // namespace tpb

//! Evaluate a CUDA runtime call once; on failure report it (with location) and yield false.
#define TPB_CUDA_OK(call) ::tpb::checkCuda((call), #call, __FILE__, __LINE__)
