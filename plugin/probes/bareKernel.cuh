// The bare kernel: a copy-like kernel that knows nothing of an operator, only bytes. One source for
// the launch-rate probe (plugin/probes/launchScalingProbe.cu, where it reads and writes the same
// count) and the native runner's --bare-kernel mode (plugin/runner/bareKernel.cu, where it reads an
// engine's input bytes and writes its output bytes, so the threads rule times what the GPU gives a
// kernel of the same bytes beside the plugin and its twin: docs/pipeline.md, "Concurrency against
// its limit").
//
// One thread per 4-byte word, blocks of kTpbBareBlock threads: thread i reads word i of the input
// (i < inWords) and writes 0.5 x it to word i of the output (i < outWords; 0 where the input is
// shorter). A word read but not written is kept alive by a store that never happens (a value no
// finite input holds), so the compiler cannot drop the load: every input word is read once, every
// output word written once.
#pragma once

#include <cstdint>

constexpr int kTpbBareBlock = 256;

// static: each including translation unit gets its own copy (the probe and bareLaunch.cu are separate programs)
static __global__ void tpbBareCopy(float const* in, int64_t inWords, float* out, int64_t outWords)
{
    int64_t const i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    float const v = i < inWords ? in[i] : 0.0F;
    if (i < outWords)
    {
        out[i] = v * 0.5F;
    }
    else if (i < inWords && v != v && outWords > 0) // NaN: the random inputs hold none; keeps the load
    {
        out[0] = v;
    }
}

//! Blocks of kTpbBareBlock threads for one launch over max(inWords, outWords) words.
inline int64_t tpbBareBlocks(int64_t inWords, int64_t outWords)
{
    int64_t const words = inWords > outWords ? inWords : outWords;
    return (words + kTpbBareBlock - 1) / kTpbBareBlock;
}
