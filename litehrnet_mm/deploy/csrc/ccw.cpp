// A whole conditional channel weighting block of Lite-HRNet (Yu et al., CVPR 2021; the design
// of the original Lite-HRNet, Apache-2.0) in one call, for the channels-last deploy forms
// (litehrnet_mm/deploy/modules.py, DeployConditionalChannelWeighting).
//
// For branches x_0 .. x_{B-1} (channels-last, x_i 2^(B-1-i) times the size of the last):
//   split each x_i into halves kept_i, w_i (channels 0 .. C_i/2-1 and C_i/2 .. C_i-1);
//   cross-resolution weighting: average-pool every w_i to the last branch's size, stack the
//     channels, 1x1 conv + ReLU, 1x1 conv + sigmoid, split the channels back per branch;
//   d_i = depthwise3x3(w_i * upsample_nearest(crw_i)) + bias (depthwise.cpp, which weights
//     its input rows as it reads them);
//   spatial weighting: the per-channel means of every d_i, stacked, times the block-diagonal
//     weights of the branches' squeeze-excitations (ReLU, then sigmoid): se;
//   out_i = channel_shuffle(cat(kept_i, d_i * se_i), 2): channel 2j is kept_i[j], channel
//     2j+1 is d_i[j] * se_i[j].
// The weights come as the layers keep them (1x1 convolutions (out, in, 1, 1), depthwise
// (C, 1, 3, 3), the squeeze-excitations' (out, in) matrices): the small transposes are made
// here. In the unfused form this block was 15 to 25 operator calls (poolings, a concat, four
// matrix products, the depthwise convolutions, means, sigmoid, multiplies, shuffles), each
// with its own pass over memory; here the pooled maps, the weighting and the means stay in
// buffers of this call. Outputs equal the unfused form's up to summation order.
#include "depthwise.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

enum Act { kNone, kRelu, kSigmoid };

// exp(x) for the sigmoids, in a form the compiler vectorises (std::exp is a library call per
// value): 2^n * p(r) with x = n ln2 + r, |r| <= ln2 / 2 (n rounded to nearest by adding and
// subtracting 1.5 * 2^23), p Cephes' degree-6 polynomial for expf (relative error about
// 2e-7), x clamped to where float neither overflows nor goes subnormal. The clamps are
// selects, not branches, with -fno-trapping-math (kernels.py's build flags).
inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) * (1 << 23);
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// act of out[0 .. n-1], in place
inline void activate(float* __restrict out, int64_t n, Act act) {
  if (act == kRelu) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = std::max(out[i], 0.f);
  } else if (act == kSigmoid) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.f / (1.f + exp_approx(-out[i]));
  }
}

// A small matrix product with its bias and activation, the weights (O, K) row-major as the
// convolutions keep them: y[p, o] = act(b[o] + sum_k x[p * xs + k] * w[o * K + k]) for p < M
// (y rows ys apart). Wide outputs (O >= 16) run along the outputs, with the weights
// transposed once; narrow ones (the weighting's hidden layer: 7 to 37 channels) as dot
// products along the inputs.
void dense(const float* x, int64_t M, int64_t K, int64_t xs, const at::Tensor& weight,
           const at::Tensor& bias, int64_t O, float* y, int64_t ys, Act act) {
  const at::Tensor wc = weight.contiguous(), bc = bias.contiguous();
  const float* w = wc.data_ptr<float>();
  const float* b = bc.data_ptr<float>();
  const bool wide = O >= 16;
  std::vector<float> wt;
  if (wide) {
    wt.resize(K * O);
    for (int64_t o = 0; o < O; ++o)
      for (int64_t k = 0; k < K; ++k) wt[k * O + o] = w[o * K + k];
  }
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, K * O));
  at::parallel_for(0, M, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* __restrict out = y + p * ys;
      const float* __restrict in = x + p * xs;
      if (wide) {
#pragma omp simd
        for (int64_t o = 0; o < O; ++o) out[o] = b[o];
        for (int64_t k = 0; k < K; ++k) {
          const float v = in[k];
          const float* __restrict wr = wt.data() + k * O;
#pragma omp simd
          for (int64_t o = 0; o < O; ++o) out[o] += v * wr[o];
        }
      } else {
        for (int64_t o = 0; o < O; ++o) {
          const float* __restrict wr = w + o * K;
          float acc = 0.f;
#pragma omp simd reduction(+ : acc)
          for (int64_t k = 0; k < K; ++k) acc += in[k] * wr[k];
          out[o] = acc + b[o];
        }
      }
      activate(out, O, act);
    }
  });
}

// The same product on channel-major maps, for the cross-resolution weighting (hundreds of
// pixels, 7 to 300 channels), image by image (N images of M pixels; image n's maps start at
// n * K * M and n * O * M): yT[o, p] = act(b[o] + sum_k w[o * K + k] * xT[k * M + p]), every
// step a multiply-add along a row of pixels, which the compiler vectorises whatever the
// channel counts. (Channel rows of one image, not of the batch: with the batch's pixels in
// one row, the rows of a batch of 8 lay pages apart, and the pooling's writes missed.)
void dense_channel_major(const float* xT, int64_t N, int64_t M, int64_t K,
                         const at::Tensor& weight, const at::Tensor& bias, int64_t O, float* yT,
                         Act act) {
  const at::Tensor wc = weight.contiguous(), bc = bias.contiguous();
  const float* w = wc.data_ptr<float>();
  const float* b = bc.data_ptr<float>();
  constexpr int64_t kChunk = 256;  // pixels per task: a row chunk stays in L1
  const int64_t chunks = (M + kChunk - 1) / kChunk;
  at::parallel_for(0, N * O * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t image = task / (O * chunks), o = task / chunks % O;
      const int64_t p0 = (task % chunks) * kChunk;
      const int64_t n = std::min(kChunk, M - p0);
      float* __restrict out = yT + (image * O + o) * M + p0;
      const float bo = b[o];
#pragma omp simd
      for (int64_t p = 0; p < n; ++p) out[p] = bo;
      for (int64_t k = 0; k < K; ++k) {
        const float v = w[o * K + k];
        const float* __restrict in = xT + (image * K + k) * M + p0;
#pragma omp simd
        for (int64_t p = 0; p < n; ++p) out[p] += v * in[p];
      }
      activate(out, n, act);
    }
  });
}

// dst[c * ds + r] = src[r * ss + c] for r < rows, c < cols, in tiles that stay in L1 (a
// plain transpose of maps thousands of pixels long reads or writes one page per element)
void transpose(const float* src, int64_t rows, int64_t cols, int64_t ss, float* dst,
               int64_t ds) {
  constexpr int64_t kTile = 32;
  const int64_t tiles = (rows + kTile - 1) / kTile;
  at::parallel_for(0, tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = t * kTile, r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = r0; r < r1; ++r) dst[c * ds + r] = src[r * ss + c];
      }
    }
  });
}

void check_float(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu(),
              "litehrnet_mm::ccw_block: ", what, " must be a float32 CPU tensor, got ",
              t.scalar_type(), " on ", t.device());
}

void check_shape(const at::Tensor& t, at::IntArrayRef shape, const char* what) {
  check_float(t, what);
  TORCH_CHECK(t.sizes() == shape, "litehrnet_mm::ccw_block: ", what, " must be of shape ",
              shape, ", got ", t.sizes());
}

std::vector<at::Tensor> ccw_block(at::TensorList x, const at::Tensor& crw1_weight,
                                  const at::Tensor& crw1_bias, const at::Tensor& crw2_weight,
                                  const at::Tensor& crw2_bias, at::TensorList dw_weight,
                                  at::TensorList dw_bias, const at::Tensor& se1_weight,
                                  const at::Tensor& se1_bias, const at::Tensor& se2_weight,
                                  const at::Tensor& se2_bias) {
  const int64_t B = static_cast<int64_t>(x.size());
  TORCH_CHECK(B >= 1 && static_cast<int64_t>(dw_weight.size()) == B &&
                  static_cast<int64_t>(dw_bias.size()) == B,
              "litehrnet_mm::ccw_block: one depthwise weight and bias per branch, got ", B,
              " branches, ", dw_weight.size(), " weights, ", dw_bias.size(), " biases");
  const at::Tensor& last = x[B - 1];
  TORCH_CHECK(last.dim() == 4, "litehrnet_mm::ccw_block: branches must be 4-D, got ",
              last.sizes());
  const int64_t N = last.size(0), Hs = last.size(2), Ws = last.size(3);
  std::vector<int64_t> half(B), offset(B + 1, 0), factor(B);
  for (int64_t i = 0; i < B; ++i) {
    const at::Tensor& t = x[i];
    check_float(t, "each branch");
    factor[i] = int64_t(1) << (B - 1 - i);
    TORCH_CHECK(t.dim() == 4 && t.size(0) == N && t.size(1) % 2 == 0 &&
                    t.size(2) == Hs * factor[i] && t.size(3) == Ws * factor[i] &&
                    (t.stride(1) == 1 || t.size(1) == 1),
                "litehrnet_mm::ccw_block: branch ", i, " must be a channels-last (", N,
                ", even C, ", Hs * factor[i], ", ", Ws * factor[i], ") tensor (", factor[i],
                " times the last branch's size), got ", t.sizes(), " strides ", t.strides());
    half[i] = t.size(1) / 2;
    offset[i + 1] = offset[i] + half[i];
    check_shape(dw_weight[i], {half[i], 1, 3, 3}, "each depthwise weight");
    check_shape(dw_bias[i], {half[i]}, "each depthwise bias");
  }
  const int64_t C = offset[B];
  TORCH_CHECK(crw1_weight.dim() == 4, "litehrnet_mm::ccw_block: crw1_weight must be 4-D");
  const int64_t R = crw1_weight.size(0);
  check_shape(crw1_weight, {R, C, 1, 1}, "crw1_weight");
  check_shape(crw1_bias, {R}, "crw1_bias");
  check_shape(crw2_weight, {C, R, 1, 1}, "crw2_weight");
  check_shape(crw2_bias, {C}, "crw2_bias");
  TORCH_CHECK(se1_weight.dim() == 2, "litehrnet_mm::ccw_block: se1_weight must be 2-D");
  const int64_t S = se1_weight.size(0);
  check_shape(se1_weight, {S, C}, "se1_weight");
  check_shape(se1_bias, {S}, "se1_bias");
  check_shape(se2_weight, {C, S}, "se2_weight");
  check_shape(se2_bias, {C}, "se2_bias");

  std::vector<at::Tensor> outs(B);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t H = x[i].size(2), W = x[i].size(3), Ci = x[i].size(1);
    outs[i] = at::empty_strided({N, Ci, H, W}, {H * W * Ci, 1, W * Ci, Ci}, x[i].options());
  }
  if (N == 0 || Hs == 0 || Ws == 0) return outs;

  // the cross-resolution weighting, on the last branch's pixels, channel-major image by
  // image: pooled, hidden, weights (then pixel-major for the depthwise kernel)
  const int64_t P = Hs * Ws;
  std::vector<float> pooled(N * C * P), hidden(N * R * P), weights(N * C * P);
  std::vector<float> rows(N * P * C);  // the pooled maps pixel-major, then transposed
  for (int64_t i = 0; i < B; ++i) {
    const at::Tensor& t = x[i];
    const float* xp = t.data_ptr<float>() + half[i];
    const int64_t sn = t.stride(0), sh = t.stride(2), sw = t.stride(3), f = factor[i];
    const int64_t h = half[i], off = offset[i];
    const float inv = 1.f / static_cast<float>(f * f);
    at::parallel_for(0, N * Hs, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> acc(h);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / Hs, hs = r % Hs;
        for (int64_t ws = 0; ws < Ws; ++ws) {
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int64_t dy = 0; dy < f; ++dy)
            for (int64_t dx = 0; dx < f; ++dx) {
              const float* __restrict in = xp + n * sn + (hs * f + dy) * sh + (ws * f + dx) * sw;
              float* __restrict a = acc.data();
#pragma omp simd
              for (int64_t c = 0; c < h; ++c) a[c] += in[c];
            }
          float* __restrict out = rows.data() + (r * Ws + ws) * C + off;
#pragma omp simd
          for (int64_t c = 0; c < h; ++c) out[c] = acc[c] * inv;
        }
      }
    });
  }
  for (int64_t n = 0; n < N; ++n)
    transpose(rows.data() + n * P * C, P, C, C, pooled.data() + n * C * P, P);
  at::Tensor crw = at::empty_strided({N, C, Hs, Ws}, {Hs * Ws * C, 1, Ws * C, C},
                                     last.options());
  dense_channel_major(pooled.data(), N, P, C, crw1_weight, crw1_bias, R, hidden.data(), kRelu);
  dense_channel_major(hidden.data(), N, P, R, crw2_weight, crw2_bias, C, weights.data(),
                      kSigmoid);
  for (int64_t n = 0; n < N; ++n)
    transpose(weights.data() + n * C * P, C, P, P, crw.data_ptr<float>() + n * P * C, C);

  // the depthwise convolutions of the weighted halves, and their channel means
  std::vector<at::Tensor> d(B);
  std::vector<float> means(N * C);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t h = half[i];
    const at::Tensor taps = dw_weight[i].reshape({h, 9}).t().contiguous();
    d[i] = litehrnet_mm::depthwise3x3(x[i].narrow(1, h, h), taps, dw_bias[i].contiguous(), 1,
                                      false, crw.narrow(1, offset[i], h), factor[i]);
    const int64_t P = d[i].size(2) * d[i].size(3);
    const float* dp = d[i].data_ptr<float>();
    at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> sum(h);
      for (int64_t n = begin; n < end; ++n) {
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t p = 0; p < P; ++p) {
          const float* __restrict row = dp + (n * P + p) * h;
          double* __restrict s = sum.data();
#pragma omp simd
          for (int64_t c = 0; c < h; ++c) s[c] += row[c];
        }
        for (int64_t c = 0; c < h; ++c)
          means[n * C + offset[i] + c] = static_cast<float>(sum[c] / static_cast<double>(P));
      }
    });
  }

  // the spatial weightings of all branches: two small matrix products
  std::vector<float> se_hidden(N * S), se(N * C);
  dense(means.data(), N, C, C, se1_weight, se1_bias, S, se_hidden.data(), S, kRelu);
  dense(se_hidden.data(), N, S, S, se2_weight, se2_bias, C, se.data(), C, kSigmoid);

  // kept halves and weighted depthwise outputs, channel pairs interleaved
  for (int64_t i = 0; i < B; ++i) {
    const at::Tensor& t = x[i];
    const int64_t H = t.size(2), W = t.size(3), h = half[i];
    const float* xp = t.data_ptr<float>();
    const int64_t sn = t.stride(0), sh = t.stride(2), sw = t.stride(3);
    const float* dp = d[i].data_ptr<float>();
    float* op = outs[i].data_ptr<float>();
    at::parallel_for(0, N * H, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t n = r / H, hh = r % H;
        const float* __restrict s = se.data() + n * C + offset[i];
        for (int64_t ww = 0; ww < W; ++ww) {
          const float* __restrict kept = xp + n * sn + hh * sh + ww * sw;
          const float* __restrict dw = dp + (r * W + ww) * h;
          float* __restrict out = op + (r * W + ww) * 2 * h;
#pragma omp simd
          for (int64_t j = 0; j < h; ++j) {
            out[2 * j] = kept[j];
            out[2 * j + 1] = dw[j] * s[j];
          }
        }
      }
    });
  }
  return outs;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(litehrnet_mm, m) {
  m.def("ccw_block(Tensor[] x, Tensor crw1_weight, Tensor crw1_bias, Tensor crw2_weight, "
        "Tensor crw2_bias, Tensor[] dw_weight, Tensor[] dw_bias, Tensor se1_weight, "
        "Tensor se1_bias, Tensor se2_weight, Tensor se2_bias) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(litehrnet_mm, CPU, m) { m.impl("ccw_block", &ccw_block); }
