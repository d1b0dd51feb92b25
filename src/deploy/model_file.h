#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "deploy/compiled_model.h"

namespace whittle::deploy {

// The compiled-model file, version 2 (docs/deploy-format.md):
//   bytes 0-7    magic "WHTLDPLY"
//   bytes 8-11   format version (uint32 little-endian)
//   bytes 12-15  header length H (uint32)
//   bytes 16-23  payload length P (uint64)
//   bytes 24-31  checksum: data::Digest64 of the header and payload bytes
//   bytes 32-    the header, UTF-8 JSON; zero padding to a multiple of 64;
//                then the payload: the packed tensors and the vocabulary,
//                each at a 64-byte aligned offset that the header gives.
constexpr uint32_t kModelFileVersion = 2;
// Version 1 stored integers as int4, int8, int16 or int32 only; version 2
// stores each at its own width (int5, int6, ...). Both are read.
constexpr uint32_t kOldestModelFileVersion = 1;

std::string serialize_compiled_model(const CompiledModel& model);
// Throws whittle::Error naming `origin` for anything that is not a complete,
// intact file of a version this build reads: too short or truncated, wrong
// magic, newer version, checksum mismatch (corruption), malformed header or
// tensors that do not fit the model.
CompiledModel parse_compiled_model(const std::string& bytes, const std::string& origin);

// Where the bytes of a file go, read from its header (the file is checked
// as parse_compiled_model checks it, tensors are not unpacked).
struct FileLayout {
  int64_t total_bytes = 0;
  int64_t header_bytes = 0;      // preamble, JSON header and its padding
  int64_t vocabulary_bytes = 0;
  std::map<std::string, int64_t> tensor_bytes;     // data and row scales, by tensor name
  std::map<std::string, std::string> tensor_storage;  // "int8 bitmap", "float32 dense", ...
};
FileLayout describe_model_file(const std::string& bytes, const std::string& origin);

// Writes atomically.
void write_compiled_model(const std::filesystem::path& path, const CompiledModel& model);
CompiledModel read_compiled_model(const std::filesystem::path& path);

}  // namespace whittle::deploy
