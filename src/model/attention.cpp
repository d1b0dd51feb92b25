#include "model/attention.h"

#include <ATen/Parallel.h>
#include <cblas.h>

#include <bit>
#include <cstring>
#include <vector>

#include "model/dropout_mask.h"

namespace whittle::model {
namespace {

using detail::DropoutMask;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Queries are processed in blocks of this many rows, so a block of scores
// (rows × keys floats) stays in L2.
constexpr int64_t kQueryBlock = 128;

// exp(x) for x <= 0 to about 1 ulp: x = n·ln2 + r with |r| <= ln2/2, a
// degree-6 polynomial for exp(r), then 2^n through the exponent bits. Plain
// arithmetic so that the row loops below vectorise; glibc's expf does not.
inline float exp_non_positive(float x) {
  x = x < -87.0f ? -87.0f : x;  // exp(-87) is near FLT_MIN; below it softmax weights are 0 anyway
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  float n = (x * kLog2e + kRoundMagic) - kRoundMagic;
  // A NaN score (from NaN or overflowing weights) must not reach the int
  // conversion below, which is undefined for it; r, and so the result, stays NaN.
  n = n >= -126.0f ? n : -126.0f;
  float r = x - n * 0.693145751953125f;  // ln2, high part (exact in float)
  r -= n * 1.428606765330187e-06f;       // ln2, low part
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  auto exponent = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(exponent);
}

// In-place softmax of one row of n scores. The clone is chosen by CPU
// features (x86-64-v3: AVX2, FMA), not by model: "arch=haswell" clones run
// only on Intel's Haswell family and left AMD CPUs on the SSE2 default.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void softmax_row(float* row, int64_t n) {
  // The reductions are declared so that they vectorise: without the pragmas
  // the compiler must keep their strict left-to-right order.
  float maximum = row[0];
#pragma omp simd reduction(max : maximum)
  for (int64_t j = 1; j < n; ++j) maximum = std::max(maximum, row[j]);
  // Two loops rather than one: GCC vectorises neither part of the fused loop.
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) row[j] = exp_non_positive(row[j] - maximum);
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; ++j) sum += row[j];
  float inverse = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inverse;
}

// Softmax backward for one row: ds = p · (dp − Σ dp·p), written over dp.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void softmax_backward_row(const float* p, float* dp,
                                                                                     int64_t n) {
  float dot = 0.0f;
  for (int64_t j = 0; j < n; ++j) dot += dp[j] * p[j];
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - dot);
}

// Row-major C = alpha · op(A) · op(B) + beta · C on strided matrices.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// Shapes and raw pointers of one call, shared by forward and backward.
struct Geometry {
  int64_t batch, query_length, key_length, hidden, heads, head_size;
  const int64_t* lengths;

  Geometry(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& key_lengths,
           int64_t head_count)
      : batch(queries.size(0)),
        query_length(queries.size(1)),
        key_length(keys.size(1)),
        hidden(queries.size(2)),
        heads(head_count),
        head_size(queries.size(2) / head_count),
        lengths(key_lengths.data_ptr<int64_t>()) {}

  // Offset of row `position` of head `head` of example `example` in a [B, len, H] tensor.
  int64_t offset(int64_t example, int64_t position, int64_t head, int64_t length) const {
    return (example * length + position) * hidden + head * head_size;
  }
  // Index of probability (example, head, query, key) in a [B, heads, Q, L] tensor.
  int64_t probability_index(int64_t example, int64_t head, int64_t query) const {
    return ((example * heads + head) * query_length + query) * key_length;
  }
};

// Applies dropout to `rows` rows of probabilities, writing into `out`.
void drop_rows(const Geometry& g, const DropoutMask& mask, int64_t example, int64_t head, int64_t first_query,
               int64_t rows, int64_t keys, const float* in, int64_t ld_in, float* out, int64_t ld_out) {
  for (int64_t i = 0; i < rows; ++i) {
    auto base = static_cast<uint64_t>(g.probability_index(example, head, first_query + i));
    detail::apply_dropout_run(mask, base, keys, in + i * ld_in, out + i * ld_out);
  }
}

// Forward for one (example, head): context rows, and the softmax
// probabilities into `saved` when it is not null (for backward).
void attend(const Geometry& g, const float* q, const float* k, const float* v, float* context, float* saved,
            double dropout, const DropoutMask& mask, int64_t example, int64_t head, std::vector<float>& scratch) {
  int64_t keys = g.lengths[example];
  const float* k_head = k + g.offset(example, 0, head, g.key_length);
  const float* v_head = v + g.offset(example, 0, head, g.key_length);
  for (int64_t first = 0; first < g.query_length; first += kQueryBlock) {
    int64_t rows = std::min(kQueryBlock, g.query_length - first);
    scratch.resize(static_cast<std::size_t>(2 * rows * keys));
    float* scores = saved ? saved + g.probability_index(example, head, first) : scratch.data();
    int64_t ld_scores = saved ? g.key_length : keys;
    gemm(false, true, rows, keys, g.head_size, q + g.offset(example, first, head, g.query_length), g.hidden, k_head,
         g.hidden, 0.0f, scores, ld_scores);
    for (int64_t i = 0; i < rows; ++i) softmax_row(scores + i * ld_scores, keys);
    const float* weights = scores;
    int64_t ld_weights = ld_scores;
    if (dropout > 0.0) {
      float* dropped = scratch.data() + rows * keys;
      drop_rows(g, mask, example, head, first, rows, keys, scores, ld_scores, dropped, keys);
      weights = dropped;
      ld_weights = keys;
    }
    gemm(false, false, rows, g.head_size, keys, weights, ld_weights, v_head, g.hidden, 0.0f,
         context + g.offset(example, first, head, g.query_length), g.hidden);
  }
}

torch::Tensor attention_forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& lengths, int64_t heads, double dropout, uint64_t seed,
                                torch::Tensor* probabilities) {
  Geometry g(q, k, lengths, heads);
  torch::Tensor context = torch::empty_like(q);
  float* saved = nullptr;
  if (probabilities != nullptr) {
    *probabilities = torch::empty({g.batch, heads, g.query_length, g.key_length}, q.options());
    saved = probabilities->data_ptr<float>();
  }
  DropoutMask mask(seed, dropout);
  const float* qp = q.data_ptr<float>();
  const float* kp = k.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  float* out = context.data_ptr<float>();
  at::parallel_for(0, g.batch * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t task = begin; task < end; ++task) {
      attend(g, qp, kp, vp, out, saved, dropout, mask, task / heads, task % heads, scratch);
    }
  });
  return context;
}

struct Gradients {
  torch::Tensor queries, keys, values;
};

// Backward for one (example, head), one query block at a time; the key and
// value gradients of the head accumulate over the blocks.
void attend_backward(const Geometry& g, const float* q, const float* k, const float* v, const float* probabilities,
                     const float* grad_context, float* grad_q, float* grad_k, float* grad_v, double dropout,
                     const DropoutMask& mask, int64_t example, int64_t head, std::vector<float>& scratch) {
  int64_t keys = g.lengths[example];
  const float* k_head = k + g.offset(example, 0, head, g.key_length);
  const float* v_head = v + g.offset(example, 0, head, g.key_length);
  float* grad_k_head = grad_k + g.offset(example, 0, head, g.key_length);
  float* grad_v_head = grad_v + g.offset(example, 0, head, g.key_length);
  for (int64_t first = 0; first < g.query_length; first += kQueryBlock) {
    int64_t rows = std::min(kQueryBlock, g.query_length - first);
    float beta = first == 0 ? 0.0f : 1.0f;
    scratch.resize(static_cast<std::size_t>(2 * rows * keys));
    float* dropped = scratch.data();
    float* grad_scores = scratch.data() + rows * keys;
    const float* p = probabilities + g.probability_index(example, head, first);
    const float* grad_out = grad_context + g.offset(example, first, head, g.query_length);
    const float* weights = p;
    int64_t ld_weights = g.key_length;
    if (dropout > 0.0) {
      drop_rows(g, mask, example, head, first, rows, keys, p, g.key_length, dropped, keys);
      weights = dropped;
      ld_weights = keys;
    }
    gemm(true, false, keys, g.head_size, rows, weights, ld_weights, grad_out, g.hidden, beta, grad_v_head, g.hidden);
    gemm(false, true, rows, keys, g.head_size, grad_out, g.hidden, v_head, g.hidden, 0.0f, grad_scores, keys);
    if (dropout > 0.0) {
      drop_rows(g, mask, example, head, first, rows, keys, grad_scores, keys, grad_scores, keys);
    }
    for (int64_t i = 0; i < rows; ++i) softmax_backward_row(p + i * g.key_length, grad_scores + i * keys, keys);
    gemm(false, false, rows, g.head_size, keys, grad_scores, keys, k_head, g.hidden, 0.0f,
         grad_q + g.offset(example, first, head, g.query_length), g.hidden);
    gemm(true, false, keys, g.head_size, rows, grad_scores, keys, q + g.offset(example, first, head, g.query_length),
         g.hidden, beta, grad_k_head, g.hidden);
  }
}

Gradients attention_backward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& lengths, const torch::Tensor& probabilities,
                             const torch::Tensor& grad_context, int64_t heads, double dropout, uint64_t seed) {
  Geometry g(q, k, lengths, heads);
  // Rows of padded keys get no gradient: start from zeros.
  Gradients grads{torch::empty_like(q), torch::zeros_like(k), torch::zeros_like(v)};
  DropoutMask mask(seed, dropout);
  torch::Tensor grad_out = grad_context.contiguous();
  at::parallel_for(0, g.batch * heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t task = begin; task < end; ++task) {
      attend_backward(g, q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(),
                      probabilities.data_ptr<float>(), grad_out.data_ptr<float>(), grads.queries.data_ptr<float>(),
                      grads.keys.data_ptr<float>(), grads.values.data_ptr<float>(), dropout, mask, task / heads,
                      task % heads, scratch);
    }
  });
  return grads;
}

class TiledAttention : public torch::autograd::Function<TiledAttention> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& lengths, int64_t heads, double dropout,
                               int64_t seed) {
    torch::Tensor probabilities;
    torch::Tensor output = attention_forward(q, k, v, lengths, heads, dropout, static_cast<uint64_t>(seed), &probabilities);
    context->save_for_backward({q, k, v, lengths, probabilities});
    context->saved_data["heads"] = heads;
    context->saved_data["dropout"] = dropout;
    context->saved_data["seed"] = seed;
    return output;
  }

  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    auto saved = context->get_saved_variables();
    Gradients grads = attention_backward(saved[0], saved[1], saved[2], saved[3], saved[4], grad_outputs[0],
                                         context->saved_data["heads"].toInt(),
                                         context->saved_data["dropout"].toDouble(),
                                         static_cast<uint64_t>(context->saved_data["seed"].toInt()));
    return {grads.queries, grads.keys, grads.values, torch::Tensor(), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tiled_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                              const torch::Tensor& key_lengths, int64_t heads, double dropout_probability,
                              uint64_t seed) {
  TORCH_CHECK(queries.dim() == 3 && keys.dim() == 3 && values.sizes() == keys.sizes(), "attention shapes");
  TORCH_CHECK(queries.size(2) % heads == 0, "hidden size must be divisible by the number of heads");
  TORCH_CHECK(dropout_probability >= 0.0 && dropout_probability < 1.0, "attention dropout must be in [0, 1)");
  torch::Tensor q = queries.contiguous();
  torch::Tensor k = keys.contiguous();
  torch::Tensor v = values.contiguous();
  torch::Tensor lengths = key_lengths.to(torch::kInt64).contiguous();
  bool needs_grad = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (!needs_grad) return attention_forward(q, k, v, lengths, heads, dropout_probability, seed, nullptr);
  return TiledAttention::apply(q, k, v, lengths, heads, dropout_probability, static_cast<int64_t>(seed));
}

torch::Tensor right_padded_lengths(const torch::Tensor& attention_mask) {
  torch::Tensor mask = attention_mask.ne(0);
  torch::Tensor lengths = mask.sum(1);
  torch::Tensor positions = torch::arange(mask.size(1), torch::kInt64).unsqueeze(0);
  bool right_padded = torch::equal(mask, positions.lt(lengths.unsqueeze(1)));
  if (!right_padded || lengths.min().item<int64_t>() < 1) return {};
  return lengths;
}

}  // namespace whittle::model
