// The depthwise 3x3 kernel (depthwise.cpp), for the other kernels of the extension to call.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace litehrnet_mm {

// y = conv(x * upsample_nearest(scale, factor)) (or conv(x) without scale), depthwise 3x3,
// padding 1, stride 1 or 2, bias, ReLU or not; x and scale with channels innermost, taps a
// (9, C) matrix; y a new channels-last tensor.
at::Tensor depthwise3x3(const at::Tensor& x, const at::Tensor& taps, const at::Tensor& bias,
                        int64_t stride, bool relu, const std::optional<at::Tensor>& scale,
                        int64_t factor);

}  // namespace litehrnet_mm
