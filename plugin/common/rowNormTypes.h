// The element types of the row-normalisation kernels (layerNormPlugin, residualRmsNormPlugin): the
// C API's dtype ids (0 fp32, 1 fp16, 2 bf16, as the Swish kernels'). TensorRT-free, CUDA-free.
#pragma once

#include <cstdint>

namespace tpb
{

enum class RowNormDataType : int32_t
{
    kFLOAT = 0,
    kHALF = 1,
    kBF16 = 2,
};

inline bool isValidRowNormDataType(int32_t dtype) noexcept
{
    return dtype >= 0 && dtype <= 2;
}

inline int64_t rowNormItemSize(RowNormDataType dtype) noexcept
{
    return dtype == RowNormDataType::kFLOAT ? 4 : 2;
}

} // namespace tpb
