// Measures tokenizer throughput on one core.
//
// Usage: tokenizer_speed TEXT_FILE [TOKENIZER_DIR] [MAX_LENGTH]
// TEXT_FILE holds JSON lines {"text": ...} (e.g. IMDb reviews) or plain text,
// one document per line. TOKENIZER_DIR defaults to the repo's
// tests/fixtures/tokenizer (bert-base-uncased); MAX_LENGTH to 0 (no limit).
// Only encode() is timed; reading and JSON parsing are not.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "util/error.h"

#ifndef WHITTLE_SOURCE_DIR
#define WHITTLE_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;

std::vector<std::string> read_documents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw whittle::Error("cannot read " + path.string());
  std::vector<std::string> documents;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.front() == '{') {
      documents.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
    } else {
      documents.push_back(std::move(line));
    }
  }
  return documents;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: " << argv[0] << " TEXT_FILE [TOKENIZER_DIR] [MAX_LENGTH]\n";
    return 2;
  }
  try {
    const fs::path default_tokenizer = fs::path(WHITTLE_SOURCE_DIR) / "tests/fixtures/tokenizer";
    const fs::path tokenizer_dir = argc >= 3 ? fs::path(argv[2]) : default_tokenizer;
    const int64_t max_length = argc >= 4 ? std::stoll(argv[3]) : 0;

    const std::vector<std::string> documents = read_documents(argv[1]);
    const auto tokenizer = whittle::text::Tokenizer::load(tokenizer_dir);

    std::size_t bytes = 0;
    std::size_t ids = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& document : documents) {
      bytes += document.size();
      ids += tokenizer.encode(document, max_length).size();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("%zu documents, %.1f MB, %zu ids (max_length %lld) in %.2f s: %.1f MB/s, %.2f M ids/s\n",
                documents.size(), bytes / 1e6, ids, static_cast<long long>(max_length), seconds, bytes / 1e6 / seconds,
                ids / 1e6 / seconds);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
