#include "train/gradient_buckets.h"

#include "train/data_parallel.h"

namespace whittle::train {

GradientBuckets::GradientBuckets(DataParallel& ranks, std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : ranks_(ranks), parameters_(std::move(parameters)), bucket_of_(parameters_.size()), arrived_(parameters_.size()) {
  int64_t bytes = 0;
  for (std::size_t i = parameters_.size(); i-- > 0;) {
    const int64_t size = static_cast<int64_t>(parameters_[i].nbytes());
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    bucket.offsets.push_back(bucket.members.empty() ? 0 : bucket.offsets.back() + parameters_[bucket.members.back()].numel());
    bucket.members.push_back(i);
    bucket_of_[i] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& bucket : buckets_) {
    const std::size_t last = bucket.members.back();
    bucket.flat = torch::zeros({bucket.offsets.back() + parameters_[last].numel()}, parameters_[last].options());
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    hooks_.push_back(parameters_[i].register_hook([this, i](torch::Tensor gradient) { on_gradient(i, gradient); }));
  }
}

GradientBuckets::~GradientBuckets() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

void GradientBuckets::start_step() {
  std::fill(arrived_.begin(), arrived_.end(), false);
  for (Bucket& bucket : buckets_) {
    bucket.ready = 0;
    bucket.wait = nullptr;
  }
  next_bucket_ = 0;
}

void GradientBuckets::on_gradient(std::size_t parameter, const torch::Tensor& gradient) {
  Bucket& bucket = buckets_[bucket_of_[parameter]];
  std::size_t position = 0;
  while (bucket.members[position] != parameter) ++position;
  bucket.flat.narrow(0, bucket.offsets[position], gradient.numel()).copy_(gradient.reshape({-1}));
  if (!arrived_[parameter]) ++bucket.ready;
  arrived_[parameter] = true;
  start_ready_buckets();
}

void GradientBuckets::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].ready == buckets_[next_bucket_].members.size()) {
    Bucket& bucket = buckets_[next_bucket_++];
    bucket.wait = ranks_.start_sum(bucket.flat);
  }
}

void GradientBuckets::finish_step() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (arrived_[i]) continue;
    Bucket& bucket = buckets_[bucket_of_[i]];
    std::size_t position = 0;
    while (bucket.members[position] != i) ++position;
    bucket.flat.narrow(0, bucket.offsets[position], parameters_[i].numel()).zero_();
    arrived_[i] = true;
    ++bucket.ready;
  }
  start_ready_buckets();
  for (Bucket& bucket : buckets_) {
    bucket.wait();
    for (std::size_t position = 0; position < bucket.members.size(); ++position) {
      torch::Tensor& parameter = parameters_[bucket.members[position]];
      torch::Tensor sum = bucket.flat.narrow(0, bucket.offsets[position], parameter.numel()).view_as(parameter);
      if (parameter.grad().defined()) {
        parameter.mutable_grad().copy_(sum);
      } else {
        parameter.mutable_grad() = sum.clone();
      }
    }
  }
}

}  // namespace whittle::train
