// Where a process stands among those a launcher started: --shard, Open MPI,
// Slurm (array tasks and srun), PyTorch-style variables, and what is refused.
#include "util/launcher.h"

#include <gtest/gtest.h>

#include <map>

#include "util/error.h"

namespace whittle {
namespace {

EnvironmentLookup environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

void expect_place(const ProcessPlace& place, int index, int count, const std::string& source) {
  EXPECT_EQ(place.index, index);
  EXPECT_EQ(place.count, count);
  EXPECT_EQ(place.source, source);
}

TEST(Launcher, ShardFlag) {
  expect_place(parse_shard("2/5"), 2, 5, "--shard 2/5");
  for (const char* bad : {"2", "5/5", "-1/3", "a/3", "1/0", "1/", "/3", "1/3x"}) {
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  }
}

TEST(Launcher, NoLauncherMeansOneProcess) {
  expect_place(sweep_shard_from(environment({})), 0, 1, "single process");
  expect_place(training_rank_from(environment({})), 0, 1, "single process");
}

TEST(Launcher, OpenMpiRanks) {
  auto mpi = environment({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
  expect_place(sweep_shard_from(mpi), 1, 4, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
  expect_place(training_rank_from(mpi), 1, 4, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
}

TEST(Launcher, SlurmArrayTasksArePositionsAmongTheIndices) {
  auto array = [](const std::string& id) {
    return environment({{"SLURM_ARRAY_TASK_ID", id},
                        {"SLURM_ARRAY_TASK_MIN", "1"},
                        {"SLURM_ARRAY_TASK_MAX", "7"},
                        {"SLURM_ARRAY_TASK_STEP", "2"},
                        {"SLURM_ARRAY_TASK_COUNT", "4"},
                        {"SLURM_PROCID", "0"},
                        {"SLURM_NTASKS", "1"}});
  };
  expect_place(sweep_shard_from(array("1")), 0, 4, "SLURM_ARRAY_TASK_ID");
  expect_place(sweep_shard_from(array("7")), 3, 4, "SLURM_ARRAY_TASK_ID");
  // An array task is a job of its own, not a training rank.
  expect_place(training_rank_from(array("7")), 0, 1, "SLURM_PROCID/SLURM_NTASKS");
  auto uneven = environment({{"SLURM_ARRAY_TASK_ID", "9"},
                             {"SLURM_ARRAY_TASK_MIN", "1"},
                             {"SLURM_ARRAY_TASK_MAX", "9"},
                             {"SLURM_ARRAY_TASK_COUNT", "3"}});
  EXPECT_THROW(sweep_shard_from(uneven), Error);
}

TEST(Launcher, TrainingPrefersPyTorchVariables) {
  auto both = environment({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
  expect_place(training_rank_from(both), 0, 2, "RANK/WORLD_SIZE");
  expect_place(sweep_shard_from(both), 1, 2, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE");
}

TEST(Launcher, HalfSetOrBadVariablesAreNamed) {
  try {
    training_rank_from(environment({{"RANK", "1"}}));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("WORLD_SIZE is not"), std::string::npos) << error.what();
  }
  try {
    training_rank_from(environment({{"RANK", "3"}, {"WORLD_SIZE", "2"}}));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("RANK/WORLD_SIZE"), std::string::npos) << error.what();
  }
  EXPECT_THROW(training_rank_from(environment({{"RANK", "one"}, {"WORLD_SIZE", "2"}})), Error);
}

}  // namespace
}  // namespace whittle
