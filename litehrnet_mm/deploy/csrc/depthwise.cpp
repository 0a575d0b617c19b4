// Depthwise 3x3 convolution (padding 1, stride 1 or 2) on channels-innermost float32 tensors,
// optionally of the input times a nearest-upsampled weighting, for the deploy form of
// Lite-HRNet (litehrnet_mm/deploy/kernels.py builds and loads it).
//
// At batch 1 the depthwise convolutions of Lite-HRNet-18 have 2.9 M outputs in all, yet oneDNN
// takes 30 to 45 us per call on them whatever their size (96 calls per 256x192 image), most of
// it fixed cost. This kernel is plain C++ that the compiler vectorises over the channels:
//
// - away from the left and right edges, a vector of 16 channels keeps its 9 weights and its
//   bias in registers while it runs along the row: per output vector, 9 loads and 9
//   multiply-adds (the GCC/Clang vector extension, which becomes AVX-512, AVX2 or SSE);
// - at stride 1 on contiguous pixels, when the channel count is not a multiple of 16 (20, 40
//   in Lite-HRNet-18), P adjacent pixels are done together as P * C floats (a multiple of 16),
//   with the weights tiled P times, so that no vector is left partly empty; otherwise the
//   channels left over after whole vectors, and the edge pixels, take a plain loop over the
//   pixel's contiguous channels;
// - with `scale` (N, C, H / factor, W / factor), it convolves x * upsample_nearest(scale)
//   (the cross-resolution weighting's multiply before its depthwise convolution): each thread
//   weights the input rows it reads into a buffer of three rows, once per row.
//
// Outputs equal a convolution's up to summation order.
#include "depthwise.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

namespace {

constexpr int64_t kVec = 16;  // floats in one AVX-512 register
typedef float vec __attribute__((vector_size(kVec * sizeof(float))));  // the compiler's vectors

inline vec load(const float* p) {
  vec v;
  std::memcpy(&v, p, sizeof(vec));
  return v;
}

inline void store(float* p, const vec& v) { std::memcpy(p, &v, sizeof(vec)); }

}  // namespace

namespace litehrnet_mm {

at::Tensor depthwise3x3(const at::Tensor& x, const at::Tensor& taps, const at::Tensor& bias,
                        int64_t stride, bool relu, const std::optional<at::Tensor>& scale,
                        int64_t factor) {
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == at::kFloat && x.device().is_cpu() &&
                  (x.stride(1) == 1 || x.size(1) == 1),
              "litehrnet_mm::depthwise3x3 takes a 4-D float32 CPU tensor with channels "
              "innermost (channels-last), got ", x.sizes(), " ", x.scalar_type(), " strides ",
              x.strides());
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  TORCH_CHECK(taps.dim() == 2 && taps.size(0) == 9 && taps.size(1) == C && taps.is_contiguous() &&
                  taps.scalar_type() == at::kFloat,
              "litehrnet_mm::depthwise3x3: taps must be a contiguous float32 (9, ", C,
              ") tensor, got ", taps.sizes());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == C && bias.is_contiguous() &&
                  bias.scalar_type() == at::kFloat,
              "litehrnet_mm::depthwise3x3: bias must be a contiguous float32 (", C,
              ") tensor, got ", bias.sizes());
  TORCH_CHECK(stride == 1 || stride == 2,
              "litehrnet_mm::depthwise3x3: stride must be 1 or 2, got ", stride);
  TORCH_CHECK(H > 0 && W > 0, "litehrnet_mm::depthwise3x3: empty input ", x.sizes());
  const float* sp = nullptr;
  int64_t ssn = 0, ssh = 0, ssw = 0;
  if (scale.has_value()) {
    const at::Tensor& s = *scale;
    TORCH_CHECK(factor >= 1 && s.dim() == 4 && s.size(0) == N && s.size(1) == C &&
                    s.size(2) * factor == H && s.size(3) * factor == W &&
                    s.scalar_type() == at::kFloat && (s.stride(1) == 1 || C == 1),
                "litehrnet_mm::depthwise3x3: scale must be a float32 (", N, ", ", C, ", ",
                H, " / factor, ", W, " / factor) tensor with channels innermost, got ",
                s.sizes(), " strides ", s.strides(), " for factor ", factor);
    sp = s.data_ptr<float>();
    ssn = s.stride(0), ssh = s.stride(2), ssw = s.stride(3);
  }
  const int64_t Ho = (H - 1) / stride + 1, Wo = (W - 1) / stride + 1;
  const int64_t sn = x.stride(0), sh = x.stride(2), sw = x.stride(3);
  at::Tensor y = at::empty_strided({N, C, Ho, Wo}, {Ho * Wo * C, 1, Wo * C, C}, x.options());
  if (N == 0 || C == 0) return y;

  const float* xp = x.data_ptr<float>();
  const float* tp = taps.data_ptr<float>();
  const float* bp = bias.data_ptr<float>();
  float* yp = y.data_ptr<float>();

  // weighted rows are buffered contiguously: pixels C floats apart
  const int64_t ps = sp ? C : sw;
  // pixels per group: the smallest P with P * C a multiple of kVec
  int64_t P = 1;
  while ((P * C) % kVec != 0) ++P;
  const int64_t L = P * C;
  const bool grouped = stride == 1 && ps == C && W >= 2 + P;
  std::vector<float> tile;  // the 9 taps and the bias, each tiled over P pixels
  if (grouped) {
    tile.resize(10 * L);
    for (int64_t k = 0, c = 0; k < L; ++k, c = (c + 1 == C ? 0 : c + 1)) {
      for (int64_t t = 0; t < 9; ++t) tile[t * L + k] = tp[t * C + c];
      tile[9 * L + k] = bp[c];
    }
  }
  const float* tl = tile.data();

  at::parallel_for(0, N * Ho, 1, [&](int64_t begin, int64_t end) {
    // the weighted input rows, by row index modulo 3, and which row each slot holds
    std::vector<float> buffer(sp ? 3 * W * C : 0);
    // stands for the rows above and below: as long as the reads of a row
    const std::vector<float> zeros((W - 1) * ps + C, 0.f);
    int64_t held[3] = {-1, -1, -1};
    auto weighted = [&](int64_t n, int64_t hi) -> const float* {
      float* row = buffer.data() + (hi % 3) * W * C;
      const int64_t key = n * H + hi;
      if (held[hi % 3] == key) return row;
      held[hi % 3] = key;
      const float* in = xp + n * sn + hi * sh;
      const float* s = sp + n * ssn + (hi / factor) * ssh;
      for (int64_t wi = 0; wi < W; ++wi) {
        const float* __restrict a = in + wi * sw;
        const float* __restrict b = s + (wi / factor) * ssw;
        float* __restrict out = row + wi * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) out[c] = a[c] * b[c];
      }
      return row;
    };

    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / Ho, ho = r % Ho;
      float* yrow = yp + r * Wo * C;
      // the kernel rows i0 .. i1-1 fall inside the input; rows[i] is input row ho*stride-1+i
      const int64_t i0 = std::max<int64_t>(0, 1 - ho * stride);
      const int64_t i1 = std::min<int64_t>(3, H + 1 - ho * stride);
      const float* rows[3] = {nullptr, nullptr, nullptr};
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t hi = ho * stride - 1 + i;
        rows[i] = sp ? weighted(n, hi) : xp + n * sn + hi * sh;
      }

      const float* rp[3];  // every row, zeros outside the input
      for (int64_t i = 0; i < 3; ++i) rp[i] = rows[i] ? rows[i] : zeros.data();

      // one output pixel, channels c0 .. C-1, taps clipped to the input
      auto pixel = [&](int64_t wo, int64_t c0) {
        const int64_t j0 = std::max<int64_t>(0, 1 - wo * stride);
        const int64_t j1 = std::min<int64_t>(3, W + 1 - wo * stride);
        float* __restrict out = yrow + wo * C;
#pragma omp simd
        for (int64_t c = c0; c < C; ++c) out[c] = bp[c];
        for (int64_t i = i0; i < i1; ++i) {
          for (int64_t j = j0; j < j1; ++j) {
            const float* __restrict k = tp + (i * 3 + j) * C;
            const float* __restrict in = rows[i] + (wo * stride - 1 + j) * ps;
#pragma omp simd
            for (int64_t c = c0; c < C; ++c) out[c] += k[c] * in[c];
          }
        }
        if (relu) {
#pragma omp simd
          for (int64_t c = c0; c < C; ++c) out[c] = std::max(out[c], 0.f);
        }
      };

      // Pixels 1 .. inner have all three kernel columns inside the input. There, each
      // vector of kVec floats keeps its 9 weights and bias in registers along the row.
      int64_t inner = 0;
      if (grouped) {  // P pixels at a time, all channels
        const int64_t G = (W - 2) / P;
        for (int64_t q = 0; q < L; q += kVec) {
          vec w[9];
          for (int64_t t = 0; t < 9; ++t) w[t] = load(tl + t * L + q);
          const vec b = load(tl + 9 * L + q);
          for (int64_t g = 0; g < G; ++g) {
            const int64_t k = (1 + g * P) * C + q;
            vec acc = b;
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) acc += w[i * 3 + j] * load(rp[i] + k + (j - 1) * C);
            if (relu) acc = acc < 0.f ? vec{} : acc;  // NaN stays NaN, as torch.relu
            store(yrow + k, acc);
          }
        }
        inner = G * P;
      } else if (W >= 3) {  // one pixel at a time, whole vectors of channels, then the rest
        inner = (W - 2) / stride;
        const int64_t whole = C - C % kVec;
        for (int64_t q = 0; q < whole; q += kVec) {
          vec w[9];
          for (int64_t t = 0; t < 9; ++t) w[t] = load(tp + t * C + q);
          const vec b = load(bp + q);
          for (int64_t wo = 1; wo <= inner; ++wo) {
            const int64_t k = (wo * stride - 1) * ps + q;
            vec acc = b;
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) acc += w[i * 3 + j] * load(rp[i] + k + j * ps);
            if (relu) acc = acc < 0.f ? vec{} : acc;  // NaN stays NaN, as torch.relu
            store(yrow + wo * C + q, acc);
          }
        }
        if (whole < C)
          for (int64_t wo = 1; wo <= inner; ++wo) pixel(wo, whole);
      }
      pixel(0, 0);
      for (int64_t wo = inner + 1; wo < Wo; ++wo) pixel(wo, 0);
    }
  });
  return y;
}

}  // namespace litehrnet_mm

TORCH_LIBRARY(litehrnet_mm, m) {
  m.def("depthwise3x3(Tensor x, Tensor taps, Tensor bias, int stride, bool relu, "
        "Tensor? scale=None, int factor=1) -> Tensor");
}

TORCH_LIBRARY_IMPL(litehrnet_mm, CPU, m) { m.impl("depthwise3x3", &litehrnet_mm::depthwise3x3); }
