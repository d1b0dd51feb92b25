#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace whittle::train {

class DataParallel;

// Sums parameters' gradients over the ranks while backward still runs: the
// parameters are grouped into buckets of about `bucket_bytes`, in reverse
// order (the last layers' gradients are ready first), and a bucket's sum
// starts as soon as its last gradient arrives. Buckets start in index order
// on every rank, as Gloo pairs collectives by the order they are called in.
class GradientBuckets {
 public:
  GradientBuckets(DataParallel& ranks, std::vector<torch::Tensor> parameters, int64_t bucket_bytes = 1 << 20);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Before each backward.
  void start_step();
  // After backward: starts what has not started (a parameter without a
  // gradient this step counts as zeros), waits for every sum and writes the
  // sums into the gradients.
  void finish_step();

 private:
  struct Bucket {
    std::vector<std::size_t> members;  // indices into parameters_
    int64_t numel = 0;
    torch::Tensor flat;
    std::size_t ready = 0;
    std::function<void()> wait;
  };
  // Where `parameter`'s gradient sits in its bucket's flat tensor.
  torch::Tensor slot(std::size_t parameter);
  void on_gradient(std::size_t parameter, const torch::Tensor& gradient);
  void start_ready_buckets();

  DataParallel& ranks_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::size_t> bucket_of_;     // per parameter
  std::vector<int64_t> offset_of_;         // per parameter, in its bucket's flat tensor
  std::vector<bool> arrived_;              // per parameter, this step
  std::vector<Bucket> buckets_;
  std::size_t next_bucket_ = 0;
  std::vector<unsigned> hooks_;
};

}  // namespace whittle::train
