// Fingerprints of tensors' contents, one 64-bit number per tensor, in one parallel call
// (litehrnet_mm/stamps.py uses it to see whether a model's weights changed since the last
// call, however they were written).
//
// The fast estimator and the eager deploy form check their weights before every call: about
// 1,400 tensors, 1.2 M floats for Lite-HRNet-18. One norm per tensor (torch._foreach_norm, a
// loop of reductions on the CPU) took several milliseconds a call; this reads each byte once.
// A Watch holds the list (taken once), so that a call passes no list from Python: passing
// 1,400 tensors to an operator, and detaching them first, cost more than reading them.
//
// Each tensor's bytes are read as 32-bit words w_i (the last 0 to 3 bytes as a word of their
// own) and summed twice modulo 2^32: a = sum w_i * m_i and b = sum rot16(w_i) * m_i * K, with
// m_i = 2 i + 1 and K odd. The multipliers are odd, hence invertible modulo 2^32, so a change
// of any single word always changes both sums; an exchange of two words changes them too
// (unlike a norm). The word count is part of the fingerprint. The sums do not depend on the
// order of summation, so the fingerprint is the same however the work is split.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

constexpr uint32_t kOdd = 0x9E3779B1u;

uint64_t fingerprint_bytes(const uint8_t* p, int64_t nbytes) {
  const int64_t n = nbytes / 4;
  uint32_t a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, p + 4 * i, 4);
    const uint32_t m = 2u * static_cast<uint32_t>(i) + 1u;
    a += w * m;
    b += ((w << 16) | (w >> 16)) * (m * kOdd);
  }
  if (nbytes % 4) {
    uint32_t w = 0;
    std::memcpy(&w, p + 4 * n, nbytes % 4);
    const uint32_t m = 2u * static_cast<uint32_t>(n) + 1u;
    a += w * m;
    b += ((w << 16) | (w >> 16)) * (m * kOdd);
  }
  // the size, so that a tensor that grew by zeros differs
  a ^= static_cast<uint32_t>(nbytes) * kOdd;
  return (static_cast<uint64_t>(a) << 32) | b;
}

at::Tensor fingerprint(at::TensorList tensors) {
  const int64_t count = static_cast<int64_t>(tensors.size());
  std::vector<at::Tensor> dense(count);
  for (int64_t k = 0; k < count; ++k) {
    const at::Tensor& t = tensors[k];
    TORCH_CHECK(t.device().is_cpu(), "litehrnet_mm::fingerprint takes CPU tensors, got one on ",
                t.device());
    dense[k] = t.is_contiguous() ? t : t.contiguous();
  }
  at::Tensor out = at::empty({count}, at::TensorOptions().dtype(at::kLong));
  int64_t* op = out.data_ptr<int64_t>();
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const at::Tensor& t = dense[k];
      const int64_t nbytes = t.numel() * static_cast<int64_t>(t.element_size());
      const uint8_t* p = nbytes ? static_cast<const uint8_t*>(t.data_ptr()) : nullptr;
      op[k] = static_cast<int64_t>(nbytes ? fingerprint_bytes(p, nbytes) : 0);
    }
  });
  return out;
}

// The tensors to fingerprint, held (the same tensors: a write through .data is seen)
struct Watch : torch::CustomClassHolder {
  std::vector<at::Tensor> tensors;
  explicit Watch(std::vector<at::Tensor> held) : tensors(std::move(held)) {
    for (const at::Tensor& t : tensors)
      TORCH_CHECK(t.device().is_cpu(), "litehrnet_mm.Watch holds CPU tensors, got one on ",
                  t.device());
  }
  at::Tensor stamp() { return fingerprint(tensors); }
  int64_t count() { return static_cast<int64_t>(tensors.size()); }
};

}  // namespace

TORCH_LIBRARY_FRAGMENT(litehrnet_mm, m) {
  m.def("fingerprint(Tensor[] tensors) -> Tensor");
  m.class_<Watch>("Watch")
      .def(torch::init<std::vector<at::Tensor>>())
      .def("stamp", &Watch::stamp)
      .def("count", &Watch::count);
}

TORCH_LIBRARY_IMPL(litehrnet_mm, CPU, m) { m.impl("fingerprint", &fingerprint); }
