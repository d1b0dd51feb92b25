#include "train/gradient_buckets.h"

#include "train/data_parallel.h"

namespace whittle::train {

GradientBuckets::GradientBuckets(DataParallel& ranks, std::vector<torch::Tensor> parameters, int64_t bucket_bytes)
    : ranks_(ranks),
      parameters_(std::move(parameters)),
      bucket_of_(parameters_.size()),
      offset_of_(parameters_.size()),
      arrived_(parameters_.size()) {
  int64_t bytes = 0;
  for (std::size_t i = parameters_.size(); i-- > 0;) {
    const int64_t size = static_cast<int64_t>(parameters_[i].nbytes());
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    offset_of_[i] = bucket.numel;
    bucket.numel += parameters_[i].numel();
    bucket.members.push_back(i);
    bucket_of_[i] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& bucket : buckets_) bucket.flat = torch::zeros({bucket.numel}, parameters_[bucket.members[0]].options());
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

torch::Tensor GradientBuckets::slot(std::size_t parameter) {
  return buckets_[bucket_of_[parameter]].flat.narrow(0, offset_of_[parameter], parameters_[parameter].numel());
}

void GradientBuckets::on_gradient(std::size_t parameter, const torch::Tensor& gradient) {
  slot(parameter).copy_(gradient.reshape({-1}));
  if (!arrived_[parameter]) ++buckets_[bucket_of_[parameter]].ready;
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
    slot(i).zero_();
    arrived_[i] = true;
    ++buckets_[bucket_of_[i]].ready;
  }
  start_ready_buckets();
  for (Bucket& bucket : buckets_) {
    bucket.wait();
    for (std::size_t member : bucket.members) {
      torch::Tensor& parameter = parameters_[member];
      torch::Tensor sum = slot(member).view_as(parameter);
      if (parameter.grad().defined()) {
        parameter.mutable_grad().copy_(sum);
      } else {
        parameter.mutable_grad() = sum.clone();
      }
    }
  }
}

}  // namespace whittle::train
