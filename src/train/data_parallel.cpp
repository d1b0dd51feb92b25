#include "train/data_parallel.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>

#include "util/error.h"

namespace whittle::train {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for a collective; a rank that died or stalled surfaces here as an
// error (Gloo's connection error, or its timeout) that names the rank.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, int rank, const std::string& what) {
  try {
    work->wait();
  } catch (const std::exception& error) {
    throw Error("data-parallel " + what + " failed on rank " + std::to_string(rank) +
                " (another rank died, stalled or could not be reached): " + std::string(error.what()).substr(0, 300));
  }
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

std::optional<Rendezvous> Rendezvous::from_environment(const EnvironmentLookup& environment) {
  Rendezvous rendezvous;
  rendezvous.place = training_rank_from(environment);
  if (rendezvous.place.count == 1) return std::nullopt;
  if (auto address = environment("MASTER_ADDR")) rendezvous.master_address = *address;
  if (auto port = environment("MASTER_PORT")) {
    rendezvous.master_port = static_cast<uint16_t>(parse_whole_number(*port, "MASTER_PORT", 1, 65535));
  }
  if (auto seconds = environment("WHITTLE_COLLECTIVE_TIMEOUT")) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(*seconds, &used);
    } catch (const std::exception&) {
    }
    if (used != seconds->size() || !(value >= 0.1 && value <= 86400.0)) {
      throw Error("WHITTLE_COLLECTIVE_TIMEOUT must be seconds from 0.1 to 86400, got \"" + *seconds + "\"");
    }
    rendezvous.timeout = std::chrono::milliseconds(static_cast<int64_t>(value * 1000));
  }
  return rendezvous;
}

DataParallel::DataParallel(const Rendezvous& rendezvous)
    : place_(rendezvous.place), group_(std::make_unique<Group>()) {
  c10d::TCPStoreOptions store_options;
  store_options.port = rendezvous.master_port;
  store_options.isServer = rendezvous.place.index == 0;
  store_options.numWorkers = rendezvous.place.count;
  store_options.timeout = rendezvous.timeout;
  try {
    group_->store = c10::make_intrusive<c10d::TCPStore>(rendezvous.master_address, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(rendezvous.timeout);
    // Bind where rank 0's address leads: loopback for a one-machine run,
    // the cluster network otherwise (Debian maps the host name to 127.0.1.1).
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                               : rendezvous.master_address == "127.0.0.1" || rendezvous.master_address == "localhost"
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;  // the cores belong to the model's kernels
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, place_.index, place_.count, options);
  } catch (const std::exception& error) {
    throw Error("cannot join the data-parallel group as rank " + std::to_string(place_.index) + " of " +
                std::to_string(place_.count) + " at " + rendezvous.master_address + ":" +
                std::to_string(rendezvous.master_port) + " (" + place_.source + "): " + error.what());
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast(std::vector<torch::Tensor> tensors) {
  auto start = Clock::now();
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> one = {tensor.detach()};
    wait_for(group_->gloo->broadcast(one), rank(), "broadcast");
  }
  communication_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
}

void DataParallel::sum(std::vector<torch::Tensor> tensors) {
  // All started before any is awaited, so that their transfers overlap.
  std::vector<std::function<void()>> waits;
  for (auto& tensor : tensors) waits.push_back(start_sum(tensor));
  for (auto& wait : waits) wait();
}

std::function<void()> DataParallel::start_sum(torch::Tensor tensor) {
  auto start = Clock::now();
  std::vector<torch::Tensor> one = {tensor};
  auto work = group_->gloo->allreduce(one);
  communication_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  return [this, work] {
    auto waited = Clock::now();
    wait_for(work, rank(), "gradient all-reduce");
    communication_seconds_ += std::chrono::duration<double>(Clock::now() - waited).count();
  };
}

torch::Tensor DataParallel::union_of(const torch::Tensor& ids) {
  auto start = Clock::now();
  torch::Tensor local = std::get<0>(torch::_unique(ids.reshape({-1}).to(torch::kInt64), /*sorted=*/true));
  // Gloo gathers equal sizes: agree on the largest, pad with -1.
  std::vector<torch::Tensor> count = {torch::tensor({local.size(0)}, torch::kInt64)};
  c10d::AllreduceOptions largest;
  largest.reduceOp = c10d::ReduceOp::MAX;
  wait_for(group_->gloo->allreduce(count, largest), rank(), "row count exchange");
  const int64_t width = count[0].item<int64_t>();
  torch::Tensor padded = torch::full({width}, -1, torch::kInt64);
  padded.narrow(0, 0, local.size(0)).copy_(local);
  std::vector<std::vector<torch::Tensor>> gathered(1);
  for (int r = 0; r < world_size(); ++r) gathered[0].push_back(torch::empty({width}, torch::kInt64));
  std::vector<torch::Tensor> input = {padded};
  wait_for(group_->gloo->allgather(gathered, input), rank(), "row exchange");
  torch::Tensor all = torch::cat(gathered[0]);
  all = all.masked_select(all.ge(0));
  communication_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  return std::get<0>(torch::_unique(all, /*sorted=*/true));
}

void DataParallel::sum_rows(torch::Tensor& tensor, const torch::Tensor& rows) {
  torch::Tensor selected = tensor.index_select(0, rows);
  sum({selected});
  tensor.zero_();
  tensor.index_copy_(0, rows, selected);
}

void DataParallel::barrier() { wait_for(group_->gloo->barrier(), rank(), "barrier"); }

double DataParallel::take_communication_seconds() { return std::exchange(communication_seconds_, 0.0); }

std::vector<int64_t> rank_slice(const std::vector<int64_t>& global_batch, int rank, int world) {
  const auto size = static_cast<int64_t>(global_batch.size());
  const int64_t begin = size * rank / world;
  const int64_t end = size * (rank + 1) / world;
  return {global_batch.begin() + begin, global_batch.begin() + end};
}

}  // namespace whittle::train
