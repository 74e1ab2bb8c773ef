// trt_runner's --bare-kernel mode: one launch of the bare kernel (plugin/probes/bareKernel.cuh, the
// launch-rate probe's kernel) that reads inBytes and writes outBytes, on the caller's stream. No
// TensorRT here; compiled as CUDA (bareLaunch.cu) into trt_runner.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace tpb
{

//! Bytes the bare kernel's buffers need for \p bytes: whole 4-byte words (at least one).
int64_t bareBufferBytes(int64_t bytes) noexcept;

//! Launches the bare kernel over ceil(inBytes / 4) input and ceil(outBytes / 4) output words (buffers
//! of bareBufferBytes); the launch's error (cudaGetLastError), cudaErrorInvalidValue for a negative size.
cudaError_t launchBareKernel(void const* in, int64_t inBytes, void* out, int64_t outBytes, cudaStream_t stream) noexcept;

} // namespace tpb
