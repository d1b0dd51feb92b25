#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "util/launcher.h"

namespace whittle::train {

// Where the ranks of a data-parallel run meet, in PyTorch's conventions:
// MASTER_ADDR and MASTER_PORT name rank 0's store; the rank and world size
// come from RANK/WORLD_SIZE, Open MPI or srun (see training_rank_from).
struct Rendezvous {
  ProcessPlace place;
  std::string master_address = "127.0.0.1";
  uint16_t master_port = 29500;
  // Every collective fails after this long, so a rank that died or stalled
  // makes the others stop with an error instead of hanging.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};

  // From the environment; none when this is a single process.
  static std::optional<Rendezvous> from_environment(const EnvironmentLookup& environment);
};

// The ranks of a data-parallel run, joined over Gloo (TCP): each rank trains
// on its slice of every global batch and the gradients are summed, so the
// global batch and the learning-rate schedule do not depend on the number of
// ranks. The C++ frontend has no DistributedDataParallel: this and
// GradientBuckets are its small counterpart.
class DataParallel {
 public:
  explicit DataParallel(const Rendezvous& rendezvous);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return place_.index; }
  int world_size() const { return place_.count; }
  bool is_first() const { return rank() == 0; }

  // Makes every rank start from rank 0's values.
  void broadcast(std::vector<torch::Tensor> tensors);
  // Sums each tensor (contiguous) over the ranks, in place. Gradients go
  // through GradientBuckets instead, which starts their sums during backward.
  void sum(std::vector<torch::Tensor> tensors);
  // Starts summing `tensor` (contiguous) in place over the ranks; the
  // returned function waits until the sum is there. Every rank must start
  // the same sums in the same order.
  std::function<void()> start_sum(torch::Tensor tensor);
  // Sums the rows `rows` (sorted, unique, the same on every rank) of a
  // [N, D] tensor that is zero elsewhere on every rank: the word-embedding
  // gradient, whose rows outside the batch's tokens are zero.
  void sum_rows(torch::Tensor& tensor, const torch::Tensor& rows);
  // The sorted union of every rank's `ids` (int64).
  torch::Tensor union_of(const torch::Tensor& ids);
  // Returns once every rank has called it (say, once rank 0 has saved).
  void barrier();
  // Seconds spent in collectives since the last call.
  double take_communication_seconds();

 private:
  struct Group;
  ProcessPlace place_;
  std::unique_ptr<Group> group_;
  double communication_seconds_ = 0.0;
};

// The slice of a global batch (dataset indices) that rank `rank` of `world` trains on.
std::vector<int64_t> rank_slice(const std::vector<int64_t>& global_batch, int rank, int world);

}  // namespace whittle::train
