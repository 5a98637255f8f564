#pragma once
// The compact routing format (".moert", version 1), little-endian:
//
//   header   "MOERTRC1" | u32 version=1 | str model | u32 moe_layers | u32 experts
//            | u32 top_k | u32 flags (bit 0: gate weights) | str attribution
//   request  u32 0x51455252 ("RREQ") | u64 id | u32 steps
//            per step: u32 tokens, then per MoE layer tokens·top_k expert ids
//            (u8 when experts <= 256, else u16) and, with bit 0, as many f32 weights
//            | u64 FNV-1a of the request's bytes after the marker
//   (str = u32 length + bytes; the file ends after the last request.)
//
// Readers stream one request at a time, so memory does not grow with the file.
// Every error names the file, the request index and the byte offset.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "traces/routing_trace.h"

namespace moesim::traces {

class CompactRoutingWriter {
 public:
  // Writes to `path` + ".tmp" and renames on finish(), so a crash leaves no partial file.
  CompactRoutingWriter(const std::string& path, RoutingTraceHeader header);
  ~CompactRoutingWriter();
  void write(const RequestRouting& r);  // throws std::invalid_argument on shape errors
  void finish();
  std::uint64_t requests_written() const { return count_; }

 private:
  std::string path_;
  std::string tmp_;
  RoutingTraceHeader header_;
  std::FILE* file_ = nullptr;
  std::uint64_t count_ = 0;
  std::string buffer_;
};

class CompactRoutingReader {
 public:
  // What a trace may declare (docs/limits.md): ids are u16, so 65,536 experts; the
  // other counts are far above any published MoE model and keep every product of
  // counts well inside 64 bits. Counts are also checked against the bytes left.
  static constexpr std::uint32_t kMaxExperts = 65536;
  static constexpr std::uint32_t kMaxMoeLayers = 4096;
  static constexpr std::uint32_t kMaxSteps = 1u << 24;
  // Statistics keep per-(layer, expert) tables: 2^20 cells (8 MiB each) is 60 times
  // DeepSeek-V3's 58 × 256.
  static constexpr std::uint64_t kMaxLayerExperts = std::uint64_t{1} << 20;
  static constexpr std::uint32_t kMaxStepTokens = 1u << 24;

  explicit CompactRoutingReader(const std::string& path);  // reads and checks the header
  ~CompactRoutingReader();
  CompactRoutingReader(const CompactRoutingReader&) = delete;
  CompactRoutingReader& operator=(const CompactRoutingReader&) = delete;

  const RoutingTraceHeader& header() const { return header_; }
  // The next request, or nullopt at a clean end of file. Throws InputError on
  // truncation, a bad marker, a checksum mismatch or an expert id out of range.
  std::optional<RequestRouting> next();
  // The same into `r`, reusing its vectors' storage (the fast path for replay
  // and statistics); false at a clean end of file.
  bool next(RequestRouting& r);
  std::uint64_t requests_read() const { return index_; }

 private:
  void read_header();
  // Makes n bytes available at buffer_[pos_...]; false if the file ends first.
  bool fill(std::size_t n);
  void read_exact(void* dst, std::size_t n, const char* what);
  // n payload bytes, hashed into the request checksum; throws on truncation.
  const char* take(std::size_t n, const char* what);
  std::string path_;
  std::FILE* file_ = nullptr;
  RoutingTraceHeader header_;
  std::uint64_t index_ = 0;
  // Bytes of the file after buffer_[pos_]; a stream of unknown size (a pipe)
  // counts as unbounded, and only the stated maxima apply.
  std::uint64_t remaining() const;
  std::uint64_t file_size_ = UINT64_MAX;
  std::uint64_t offset_ = 0;  // file offset of buffer_[pos_]
  std::string buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::uint64_t checksum_ = 0;
};

}  // namespace moesim::traces
