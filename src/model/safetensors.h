#pragma once
#include <filesystem>
#include <map>
#include <string>

#include <torch/torch.h>

namespace whittle::model {

using TensorMap = std::map<std::string, torch::Tensor>;

// Reads a .safetensors file (8-byte little-endian header length, JSON header
// with dtype/shape/data_offsets per tensor and an optional __metadata__, then
// raw little-endian data). F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL
// load; floating tensors are returned as float32 unless keep_dtype is set.
// Any malformed file (short file, bad header length, bad JSON, unknown dtype,
// offsets out of range or overlapping, shape/size mismatch) throws
// whittle::Error naming the file and the problem.
TensorMap read_safetensors(const std::filesystem::path& path, bool keep_dtype = false);
TensorMap parse_safetensors(const std::string& bytes, const std::string& origin, bool keep_dtype = false);

// Writes tensors (contiguous, CPU) in the same format, keys sorted, header
// padded with spaces to a multiple of 8 as Hugging Face's writer does, with
// {"format": "pt"} metadata. Written atomically. As in Hugging Face's writer,
// the data is laid out largest element size first, then by name (key order
// when all share a dtype), so every tensor is aligned to its element size.
void write_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
std::string serialize_safetensors(const TensorMap& tensors,
                                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace whittle::model
