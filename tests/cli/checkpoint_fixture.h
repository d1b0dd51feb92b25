#pragma once
// Checkpoints for the eval tests, written in-process with whittle_model so
// that each test can start from a valid one and break one part of it.
#include <cstdint>
#include <filesystem>
#include <string>

namespace whittle::cli_testing {

// A randomly initialised classifier from the tiny config (hidden 16), saved
// with the fixture tokenizer: config.json, model.safetensors, vocab.txt, ...
// `seed` draws the weights.
void write_tiny_checkpoint(const std::filesystem::path& dir, uint64_t seed = 1);

// A .safetensors file body: the 8-byte little-endian length of `header`,
// `header`, then `data`.
std::string safetensors_bytes(const std::string& header, const std::string& data);
std::string safetensors_bytes_with_length(uint64_t header_length, const std::string& rest);

}  // namespace whittle::cli_testing
