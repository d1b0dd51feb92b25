#include "model/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/path_checks.h"

namespace whittle::model {
namespace fs = std::filesystem;
using nlohmann::json;

// Tensor data is copied byte for byte between the file and torch tensors.
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

namespace {

// The reference implementation refuses larger headers; real ones are a few MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr size_t kHeaderLengthBytes = 8;
constexpr const char* kMetadataKey = "__metadata__";

struct Dtype {
  std::string_view name;
  torch::ScalarType scalar_type;
  uint64_t element_bytes;
};

constexpr std::array<Dtype, 9> kDtypes = {{
    {"F64", torch::kFloat64, 8},
    {"F32", torch::kFloat32, 4},
    {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2},
    {"I64", torch::kInt64, 8},
    {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},
    {"I8", torch::kInt8, 1},
    {"U8", torch::kUInt8, 1},
}};
constexpr Dtype kBool = {"BOOL", torch::kBool, 1};

std::optional<Dtype> dtype_named(std::string_view name) {
  if (name == kBool.name) return kBool;
  for (const Dtype& dtype : kDtypes) {
    if (dtype.name == name) return dtype;
  }
  return std::nullopt;
}

std::optional<Dtype> dtype_of(torch::ScalarType scalar_type) {
  if (scalar_type == kBool.scalar_type) return kBool;
  for (const Dtype& dtype : kDtypes) {
    if (dtype.scalar_type == scalar_type) return dtype;
  }
  return std::nullopt;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// ---------------------------------------------------------------- reading

struct Entry {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

class HeaderParser {
 public:
  explicit HeaderParser(const std::string& origin) : origin_(origin) {}

  [[noreturn]] void fail(const std::string& problem) const { throw Error(origin_ + ": " + problem); }

  uint64_t read_header_length(const std::string& bytes) const {
    if (bytes.size() < kHeaderLengthBytes) {
      fail("file is " + std::to_string(bytes.size()) +
           " bytes long, shorter than the 8-byte header length; not a safetensors file");
    }
    uint64_t length = 0;
    for (size_t i = 0; i < kHeaderLengthBytes; ++i) {
      length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
    }
    if (length > kMaxHeaderBytes) {
      fail("header length " + std::to_string(length) + " exceeds the 100 MB limit; not a safetensors file");
    }
    if (length > bytes.size() - kHeaderLengthBytes) {
      fail("header length " + std::to_string(length) + " is larger than the " +
           std::to_string(bytes.size() - kHeaderLengthBytes) + " bytes after it (truncated file?)");
    }
    return length;
  }

  json parse_json(std::string_view text) const {
    if (text.empty() || text.front() != '{') fail("header is not a JSON object (it must start with '{')");
    // nlohmann keeps the last of duplicate keys; a duplicated tensor name
    // would silently hide data, so duplicates are refused while parsing.
    std::set<std::string> names;
    auto reject_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second) {
        fail("header has the key " + parsed.dump() + " twice");
      }
      return true;
    };
    try {
      json header = json::parse(text.begin(), text.end(), reject_duplicates);
      if (!header.is_object()) fail("header is not a JSON object");
      return header;
    } catch (const json::exception& error) {  // parse_error, or out_of_range for a number like 1e400
      fail(std::string("header is not valid JSON: ") + error.what());
    }
  }

  void check_metadata(const json& metadata) const {
    if (!metadata.is_object()) fail("__metadata__ must be an object of strings");
    for (const auto& [key, value] : metadata.items()) {
      if (!value.is_string()) fail("__metadata__ value of " + quoted(key) + " must be a string");
    }
  }

  Entry parse_entry(const std::string& name, const json& info) const {
    const std::string tensor = "tensor " + quoted(name);
    if (!info.is_object()) fail(tensor + " must be an object with dtype, shape and data_offsets");
    Entry entry{name, parse_dtype(tensor, info), parse_shape(tensor, info), 0, 0};
    auto offsets = field(tensor, info, "data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail(tensor + " data_offsets must be [BEGIN, END] with non-negative integers, got " + offsets.dump());
    }
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.end < entry.begin) fail(tensor + " data_offsets " + offsets.dump() + " end before they begin");
    uint64_t expected_bytes = byte_size(tensor, entry);
    if (entry.end - entry.begin != expected_bytes) {
      fail(tensor + " has shape " + info.at("shape").dump() + " of " + std::string(entry.dtype.name) + " (" +
           std::to_string(expected_bytes) + " bytes) but data_offsets " + offsets.dump() + " span " +
           std::to_string(entry.end - entry.begin) + " bytes");
    }
    return entry;
  }

  // The spec requires the tensors to tile the data section exactly: no byte
  // unused (a hiding place) and none shared by two tensors.
  void check_coverage(std::vector<Entry>& entries, uint64_t data_bytes) const {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered_until = 0;
    const Entry* previous = nullptr;
    for (const Entry& entry : entries) {
      if (entry.end > data_bytes) {
        fail("tensor " + quoted(entry.name) + " data_offsets [" + std::to_string(entry.begin) + ", " +
             std::to_string(entry.end) + "] are out of range of the " + std::to_string(data_bytes) +
             "-byte data section");
      }
      if (entry.begin < covered_until) {
        fail("tensors " + quoted(previous->name) + " and " + quoted(entry.name) + " overlap in the data section");
      }
      if (entry.begin > covered_until) {
        fail("data section has a hole of " + std::to_string(entry.begin - covered_until) + " bytes before tensor " +
             quoted(entry.name));
      }
      covered_until = entry.end;
      previous = &entry;
    }
    if (covered_until != data_bytes) {
      fail("data section has " + std::to_string(data_bytes - covered_until) +
           " trailing bytes not covered by any tensor");
    }
  }

 private:
  const json& field(const std::string& tensor, const json& info, const char* key) const {
    auto it = info.find(key);
    if (it == info.end()) fail(tensor + " lacks \"" + key + "\"");
    return *it;
  }

  Dtype parse_dtype(const std::string& tensor, const json& info) const {
    const json& dtype = field(tensor, info, "dtype");
    if (!dtype.is_string()) fail(tensor + " dtype must be a string, got " + dtype.dump());
    auto known = dtype_named(dtype.get<std::string>());
    if (!known) fail(tensor + " has unknown or unsupported dtype " + dtype.dump());
    return *known;
  }

  std::vector<int64_t> parse_shape(const std::string& tensor, const json& info) const {
    const json& shape = field(tensor, info, "shape");
    if (!shape.is_array()) fail(tensor + " shape must be an array of sizes, got " + shape.dump());
    std::vector<int64_t> sizes;
    for (const json& size : shape) {
      if (!size.is_number_unsigned() || size.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        fail(tensor + " shape must hold non-negative integers, got " + shape.dump());
      }
      sizes.push_back(size.get<int64_t>());
    }
    return sizes;
  }

  uint64_t byte_size(const std::string& tensor, const Entry& entry) const {
    uint64_t bytes = entry.dtype.element_bytes;
    for (int64_t size : entry.shape) {
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(size), &bytes)) {
        fail(tensor + " shape is too large to address");
      }
    }
    return bytes;
  }

  const std::string& origin_;
};

std::vector<Entry> parse_header(const HeaderParser& parser, const json& header) {
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == kMetadataKey) {
      parser.check_metadata(info);
    } else {
      entries.push_back(parser.parse_entry(name, info));
    }
  }
  return entries;
}

bool is_floating(torch::ScalarType type) {
  return type == torch::kFloat64 || type == torch::kFloat16 || type == torch::kBFloat16;
}

torch::Tensor materialize(const HeaderParser& parser, const Entry& entry, const char* data, bool keep_dtype) {
  torch::Tensor tensor = torch::empty(entry.shape, torch::TensorOptions().dtype(entry.dtype.scalar_type));
  const uint64_t bytes = entry.end - entry.begin;
  if (bytes == 0) return tensor;
  const char* source = data + entry.begin;
  // Any byte other than 0 or 1 in a torch bool is undefined behaviour.
  if (entry.dtype.scalar_type == torch::kBool &&
      std::any_of(source, source + bytes, [](char byte) { return byte != 0 && byte != 1; })) {
    parser.fail("BOOL tensor " + quoted(entry.name) + " holds bytes other than 0 and 1");
  }
  std::memcpy(tensor.data_ptr(), source, bytes);
  if (!keep_dtype && is_floating(entry.dtype.scalar_type)) return tensor.to(torch::kFloat32);
  return tensor;
}

std::string read_whole_file(const fs::path& path) {
  require_regular_file(path, "file");
  std::error_code error;
  // Sized up front so the bytes are read once, straight into their buffer:
  // model files are large and a stream-to-string copy would double the peak.
  const uintmax_t size = fs::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (error || !in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uintmax_t>(in.gcount()) != size) {
    throw Error("cannot read " + path.string() + ": file changed or I/O error while reading");
  }
  return bytes;
}

// ---------------------------------------------------------------- writing

struct Prepared {
  std::string name;
  Dtype dtype;
  torch::Tensor tensor;  // CPU, contiguous
  uint64_t begin = 0;    // offset in the data section
};

std::vector<Prepared> prepare(const TensorMap& tensors) {
  std::vector<Prepared> prepared;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) throw Error("cannot save a tensor named __metadata__: the name is reserved");
    if (!tensor.defined()) throw Error("cannot save tensor " + quoted(name) + ": it is undefined");
    auto dtype = dtype_of(tensor.scalar_type());
    if (!dtype) {
      throw Error("cannot save tensor " + quoted(name) + ": dtype " + std::string(c10::toString(tensor.scalar_type())) +
                  " has no safetensors equivalent");
    }
    prepared.push_back({name, *dtype, tensor.detach().to(torch::kCPU).contiguous()});
  }
  return prepared;
}

// Like the reference writer, lays the data out by element size, largest
// first (then by name), so that every tensor starts at a multiple of its
// element size and readers can view the bytes in place. Returns the tensors
// in data order and sets their offsets.
std::vector<const Prepared*> lay_out_data(std::vector<Prepared>& prepared) {
  std::vector<Prepared*> order;
  for (Prepared& item : prepared) order.push_back(&item);
  std::stable_sort(order.begin(), order.end(), [](const Prepared* a, const Prepared* b) {
    return a->dtype.element_bytes > b->dtype.element_bytes;
  });
  uint64_t offset = 0;
  for (Prepared* item : order) {
    item->begin = offset;
    offset += item->tensor.nbytes();
  }
  return {order.begin(), order.end()};
}

std::string header_text(const std::vector<Prepared>& prepared, const std::map<std::string, std::string>& metadata) {
  // ordered_json gives a deterministic layout: __metadata__ first, then the
  // tensors by name, each with dtype, shape, data_offsets.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  for (const Prepared& item : prepared) {
    header[item.name] = {{"dtype", item.dtype.name},
                         {"shape", item.tensor.sizes().vec()},
                         {"data_offsets", {item.begin, item.begin + item.tensor.nbytes()}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::type_error& error) {
    throw Error(std::string("cannot save tensors: names and metadata must be valid UTF-8 (") + error.what() + ")");
  }
  // Padding keeps the data section 8-byte aligned for readers that map it.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

TensorMap parse_safetensors(const std::string& bytes, const std::string& origin, bool keep_dtype) {
  HeaderParser parser(origin);
  const uint64_t header_length = parser.read_header_length(bytes);
  const json header = parser.parse_json(std::string_view(bytes).substr(kHeaderLengthBytes, header_length));
  std::vector<Entry> entries = parse_header(parser, header);
  const uint64_t data_start = kHeaderLengthBytes + header_length;
  parser.check_coverage(entries, bytes.size() - data_start);

  TensorMap tensors;
  for (const Entry& entry : entries) {
    tensors.emplace(entry.name, materialize(parser, entry, bytes.data() + data_start, keep_dtype));
  }
  return tensors;
}

TensorMap read_safetensors(const fs::path& path, bool keep_dtype) {
  return parse_safetensors(read_whole_file(path), path.string(), keep_dtype);
}

std::string serialize_safetensors(const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<Prepared> prepared = prepare(tensors);
  const std::vector<const Prepared*> data_order = lay_out_data(prepared);
  const std::string header = header_text(prepared, metadata);
  uint64_t data_bytes = 0;
  for (const Prepared& item : prepared) data_bytes += item.tensor.nbytes();

  std::string bytes;
  bytes.reserve(kHeaderLengthBytes + header.size() + data_bytes);
  const uint64_t header_length = header.size();
  for (size_t i = 0; i < kHeaderLengthBytes; ++i) bytes.push_back(static_cast<char>((header_length >> (8 * i)) & 0xFF));
  bytes += header;
  for (const Prepared* item : data_order) {
    if (item->tensor.nbytes() == 0) continue;  // an empty tensor may have no storage at all
    bytes.append(static_cast<const char*>(item->tensor.data_ptr()), item->tensor.nbytes());
  }
  return bytes;
}

void write_safetensors(const fs::path& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

}  // namespace whittle::model
