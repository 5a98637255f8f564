#include "traces/compact_routing.h"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>

#include "util/errors.h"
#include "util/input_file.h"
#include "sim/rng.h"

namespace moesim::traces {
namespace {

constexpr char kMagic[8] = {'M', 'O', 'E', 'R', 'T', 'R', 'C', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kRequestMarker = 0x51455252;  // "RREQ"
constexpr std::uint32_t kFlagGateWeights = 1;

template <class T>
void put(std::string& out, T v) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // this project targets little-endian hosts (x86-64, aarch64)
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

bool narrow_ids(const RoutingTraceHeader& h) { return h.experts <= 256; }

}  // namespace

CompactRoutingWriter::CompactRoutingWriter(const std::string& path, RoutingTraceHeader header)
    : path_(path), tmp_(path + ".tmp"), header_(std::move(header)) {
  if (header_.moe_layers == 0 || header_.experts == 0 || header_.top_k == 0 || header_.experts > 65536) {
    throw std::invalid_argument("routing trace header needs moe_layers, experts (<= 65536) and top_k > 0");
  }
  const auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (file_ == nullptr) throw std::runtime_error(fmt::format("cannot write {}: {}", tmp_, std::strerror(errno)));
  std::string h(kMagic, sizeof(kMagic));
  put(h, kVersion);
  put_string(h, header_.model);
  put(h, header_.moe_layers);
  put(h, header_.experts);
  put(h, header_.top_k);
  put<std::uint32_t>(h, header_.has_gate_weights ? kFlagGateWeights : 0);
  put_string(h, header_.attribution);
  std::fwrite(h.data(), 1, h.size(), file_);
}

CompactRoutingWriter::~CompactRoutingWriter() {
  if (file_ != nullptr) {  // not finished: discard the partial file
    std::fclose(file_);
    std::remove(tmp_.c_str());
  }
}

void CompactRoutingWriter::write(const RequestRouting& r) {
  if (r.steps.empty()) throw std::invalid_argument(fmt::format("request {}: no steps (a request routes at least one)", r.id));
  buffer_.clear();
  put(buffer_, r.id);
  put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(r.steps.size()));
  for (std::size_t s = 0; s < r.steps.size(); ++s) {
    const RoutingStep& step = r.steps[s];
    if (step.experts.size() != header_.moe_layers) {
      throw std::invalid_argument(fmt::format("request {} step {}: {} MoE layers, header says {}", r.id, s,
                                              step.experts.size(), header_.moe_layers));
    }
    if (step.tokens == 0) throw std::invalid_argument(fmt::format("request {} step {}: 0 tokens", r.id, s));
    put(buffer_, step.tokens);
    for (std::size_t l = 0; l < step.experts.size(); ++l) {
      const auto& ids = step.experts[l];
      if (ids.size() != static_cast<std::size_t>(step.tokens) * header_.top_k) {
        throw std::invalid_argument(fmt::format("request {} step {} layer {}: {} expert ids for {} tokens × top-{}",
                                                r.id, s, l, ids.size(), step.tokens, header_.top_k));
      }
      for (std::uint16_t e : ids) {
        if (e >= header_.experts) throw std::invalid_argument(fmt::format("request {}: expert id {} >= {}", r.id, e, header_.experts));
        if (narrow_ids(header_)) {
          put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(e));
        } else {
          put<std::uint16_t>(buffer_, e);
        }
      }
      if (header_.has_gate_weights) {
        if (step.gate_weights.size() != step.experts.size() || step.gate_weights[l].size() != ids.size()) {
          throw std::invalid_argument(fmt::format("request {} step {}: gate weights do not match the expert ids", r.id, s));
        }
        for (float w : step.gate_weights[l]) put<float>(buffer_, w);
      }
    }
  }
  std::string record;
  put(record, kRequestMarker);
  record += buffer_;
  put<std::uint64_t>(record, sim::fnv1a64(buffer_));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", tmp_, std::strerror(errno)));
  }
  ++count_;
}

void CompactRoutingWriter::finish() {
  const bool ok = std::fflush(file_) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) throw std::runtime_error(fmt::format("cannot write {}", tmp_));
  std::filesystem::rename(tmp_, path_);
}

CompactRoutingReader::CompactRoutingReader(const std::string& path) : path_(path) {
  util::require_not_directory(path);
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) throw InputError(fmt::format("{}: cannot open file: {}", path, std::strerror(errno)));
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) file_size_ = size;
  }
  // The destructor does not run for a constructor that throws: close the file on
  // a rejected header here (found by fuzzing: every bad file leaked a descriptor).
  try {
    read_header();
  } catch (...) {
    std::fclose(file_);
    file_ = nullptr;
    throw;
  }
}

void CompactRoutingReader::read_header() {
  const std::string& path = path_;
  char magic[8];
  read_exact(magic, sizeof(magic), "the format signature");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    throw InputError(fmt::format("{}: not a moesim compact routing trace (bad signature)", path));
  }
  auto u32 = [&](const char* what) {
    std::uint32_t v = 0;
    read_exact(&v, sizeof(v), what);
    return v;
  };
  auto str = [&](const char* what) {
    const std::uint32_t n = u32(what);
    if (n > (1u << 20)) throw InputError(fmt::format("{}: implausible {} length {} at byte {}", path, what, n, offset_));
    std::string s(n, '\0');
    read_exact(s.data(), n, what);
    return s;
  };
  const std::uint32_t version = u32("the version");
  if (version != kVersion) throw InputError(fmt::format("{}: format version {} (this moesim reads {})", path, version, kVersion));
  header_.model = str("the model name");
  header_.moe_layers = u32("moe_layers");
  header_.experts = u32("experts");
  header_.top_k = u32("top_k");
  header_.has_gate_weights = (u32("flags") & kFlagGateWeights) != 0;
  header_.attribution = str("the attribution");
  if (header_.moe_layers == 0 || header_.moe_layers > kMaxMoeLayers || header_.experts == 0 ||
      header_.experts > kMaxExperts || header_.top_k == 0 || header_.top_k > header_.experts ||
      std::uint64_t{header_.moe_layers} * header_.experts > kMaxLayerExperts) {
    throw InputError(fmt::format("{}: header has moe_layers={}, experts={}, top_k={} (accepted: 1 <= moe_layers <= {}, "
                                 "1 <= top_k <= experts <= {}, moe_layers × experts <= {})",
                                 path, header_.moe_layers, header_.experts, header_.top_k, kMaxMoeLayers, kMaxExperts,
                                 kMaxLayerExperts));
  }
}

CompactRoutingReader::~CompactRoutingReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool CompactRoutingReader::fill(std::size_t n) {
  if (end_ - pos_ >= n) return true;
  buffer_.erase(0, pos_);
  end_ -= pos_;
  pos_ = 0;
  // Read ahead up to 1 MiB, but no further than the file goes (a small file gets a
  // small buffer); offset_ is now the file offset of buffer_[0].
  const std::size_t want = std::max<std::size_t>(
      n, static_cast<std::size_t>(std::min<std::uint64_t>(std::uint64_t{1} << 20, file_size_ - offset_)));
  if (buffer_.size() < want) buffer_.resize(want);
  while (end_ < n) {
    const std::size_t got = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
    if (got == 0) return false;
    end_ += got;
  }
  return true;
}

void CompactRoutingReader::read_exact(void* dst, std::size_t n, const char* what) {
  if (!fill(n)) {
    throw InputError(fmt::format("{}: truncated while reading {} of request {} (byte offset {})", path_, what, index_, offset_));
  }
  std::memcpy(dst, buffer_.data() + pos_, n);
  pos_ += n;
  offset_ += n;
}

const char* CompactRoutingReader::take(std::size_t n, const char* what) {
  if (!fill(n)) {
    throw InputError(fmt::format("{}: truncated while reading {} of request {} (byte offset {})", path_, what, index_, offset_));
  }
  const char* at = buffer_.data() + pos_;
  checksum_ = sim::fnv1a64(std::string_view(at, n), checksum_);
  pos_ += n;
  offset_ += n;
  return at;
}

std::uint64_t CompactRoutingReader::remaining() const {
  return file_size_ > offset_ ? file_size_ - offset_ : 0;
}

std::optional<RequestRouting> CompactRoutingReader::next() {
  RequestRouting r;
  if (!next(r)) return std::nullopt;
  return r;
}

bool CompactRoutingReader::next(RequestRouting& r) {
  if (!fill(1)) return false;
  std::uint32_t marker = 0;
  if (!fill(sizeof(marker))) {
    throw InputError(fmt::format("{}: truncated at request {} (byte offset {})", path_, index_, offset_));
  }
  read_exact(&marker, sizeof(marker), "the request marker");
  if (marker != kRequestMarker) {
    throw InputError(fmt::format("{}: request {} does not start with its marker (byte offset {})", path_, index_,
                                 offset_ - sizeof(marker)));
  }
  const std::uint64_t start = offset_;
  checksum_ = sim::kFnv1aOffset;
  std::memcpy(&r.id, take(sizeof(r.id), "the request id"), sizeof(r.id));
  std::uint32_t steps = 0;
  std::memcpy(&steps, take(sizeof(steps), "the step count"), sizeof(steps));
  const std::size_t id_bytes = header_.experts <= 256 ? 1 : 2;
  // Counts are checked against the bytes the file still holds before anything is
  // allocated for them: a corrupt count is an error, not a multi-gigabyte resize.
  const std::uint64_t per_token = std::uint64_t{header_.moe_layers} * header_.top_k *
                                  (id_bytes + (header_.has_gate_weights ? sizeof(float) : 0));
  const std::uint64_t smallest_step = sizeof(std::uint32_t) + per_token;  // a step holds at least one token
  if (steps == 0 || steps > kMaxSteps || std::uint64_t{steps} * smallest_step > remaining()) {
    throw InputError(fmt::format("{}: request {} claims {} steps; accepted 1..{} and at most what the {} bytes left "
                                 "hold (byte offset {})",
                                 path_, index_, steps, kMaxSteps, remaining(), offset_));
  }
  r.steps.resize(steps);
  for (std::size_t s = 0; s < r.steps.size(); ++s) {
    RoutingStep& step = r.steps[s];
    std::memcpy(&step.tokens, take(sizeof(step.tokens), "a step's token count"), sizeof(step.tokens));
    if (step.tokens == 0 || step.tokens > kMaxStepTokens || std::uint64_t{step.tokens} * per_token > remaining()) {
      throw InputError(fmt::format("{}: request {} step {} holds {} tokens; accepted 1..{} and at most what the {} "
                                   "bytes left hold (byte offset {})",
                                   path_, index_, s, step.tokens, kMaxStepTokens, remaining(), offset_));
    }
    const std::size_t n = static_cast<std::size_t>(step.tokens) * header_.top_k;
    step.experts.resize(header_.moe_layers);
    step.gate_weights.resize(header_.has_gate_weights ? header_.moe_layers : 0);
    for (std::uint32_t l = 0; l < header_.moe_layers; ++l) {
      auto& ids = step.experts[l];
      ids.resize(n);
      const char* raw = take(n * id_bytes, "expert ids");
      std::uint16_t largest = 0;
      if (id_bytes == 1) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(raw);
        for (std::size_t i = 0; i < n; ++i) {
          ids[i] = bytes[i];
          largest = std::max<std::uint16_t>(largest, bytes[i]);
        }
      } else {
        std::memcpy(ids.data(), raw, 2 * n);
        for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, ids[i]);
      }
      if (n > 0 && largest >= header_.experts) {
        throw InputError(fmt::format("{}: request {} has expert id {} >= experts ({})", path_, index_, largest, header_.experts));
      }
      if (header_.has_gate_weights) {
        step.gate_weights[l].resize(n);
        std::memcpy(step.gate_weights[l].data(), take(n * sizeof(float), "gate weights"), n * sizeof(float));
      }
    }
  }
  const std::uint64_t expected = checksum_;
  std::uint64_t checksum = 0;
  read_exact(&checksum, sizeof(checksum), "the checksum");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // libFuzzer builds: let mutations reach past the checksum
  if (checksum != expected) {
    throw InputError(fmt::format("{}: checksum mismatch in request {} (bytes {}..{}): the file is corrupt", path_, index_,
                                 start, offset_));
  }
#endif
  ++index_;
  return true;
}

}  // namespace moesim::traces
