// moesim trace convert|info: real routing traces into the compact format.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <memory>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/progress.h"
#include "experiments/report/plot.h"
#include "models/catalog.h"
#include "models/workload/routing_source.h"
#include "traces/arrival_stats.h"
#include "traces/compact_routing.h"
#include "traces/flame_moe_csv.h"
#include "traces/llama4_routing_json.h"
#include "traces/routing_stats.h"
#include "util/atomic_file.h"
#include "util/errors.h"

namespace moesim::cli {
namespace {

using RequestSink = std::function<void(const traces::RoutingTraceHeader&, const traces::RequestRouting&)>;

// Streams the requests of a real routing trace in one of the known formats.
void read_real_routing(const std::string& format, const std::string& input, const std::string& attribution,
                       const RequestSink& sink) {
  auto with_attribution = [&](const traces::RoutingTraceHeader& h, const traces::RequestRouting& r) {
    traces::RoutingTraceHeader header = h;
    header.attribution = attribution;
    sink(header, r);
  };
  if (format == "llama4-json") {
    const auto layout = traces::Llama4Layout::maverick();
    const auto files = traces::list_llama4_request_files(input);
    const traces::RoutingTraceHeader header{"llama-4-maverick-17b-128e", static_cast<std::uint32_t>(layout.moe_layers.size()),
                                            static_cast<std::uint32_t>(layout.experts),
                                            static_cast<std::uint32_t>(layout.top_k), false, attribution};
    report::ProgressBar bar("read", report::ProgressBar::stderr_is_terminal());
    for (std::size_t i = 0; i < files.size(); ++i) {
      sink(header, traces::read_llama4_routing_json(files[i], i, layout));
      bar.update(i + 1, files.size());
    }
    bar.finish();
  } else if (format == "flame-moe-csv") {
    traces::read_flame_moe_routing(traces::find_flame_moe_files(input), "flame-moe-290m", with_attribution);
  } else {
    throw UsageError(fmt::format("unknown --format '{}' (known: llama4-json, flame-moe-csv)", format));
  }
}

int convert(const std::string& format, const std::string& input, const std::string& output, const std::string& attribution,
            bool verify) {
  if (output.empty()) throw UsageError("missing -o/--output file");
  std::unique_ptr<traces::CompactRoutingWriter> writer;
  std::uint64_t decisions = 0;
  read_real_routing(format, input, attribution, [&](const traces::RoutingTraceHeader& header, const traces::RequestRouting& r) {
    if (!writer) writer = std::make_unique<traces::CompactRoutingWriter>(output, header);
    for (const auto& s : r.steps) decisions += static_cast<std::uint64_t>(s.tokens) * header.moe_layers * header.top_k;
    writer->write(r);
  });
  if (!writer) throw moesim::InputError(fmt::format("{}: no requests found", input));
  writer->finish();
  std::cout << fmt::format("Converted {} requests ({} routing decisions) from {} to {}\n", writer->requests_written(),
                           decisions, input, output);
  if (verify) {
    traces::CompactRoutingReader reader(output);
    std::uint64_t index = 0;
    bool same = true;
    read_real_routing(format, input, attribution, [&](const traces::RoutingTraceHeader& header, const traces::RequestRouting& r) {
      const auto back = reader.next();
      if (same && (!back || !(*back == r) || !(reader.header() == header))) {
        std::cerr << fmt::format("verify: request {} differs after the round trip\n", index);
        same = false;
      }
      ++index;
    });
    if (same && reader.next()) {
      std::cerr << "verify: extra requests in the output\n";
      same = false;
    }
    if (!same) return 1;
    std::cout << "Verified: reading the compact file back gives exactly the original routing.\n";
  }
  return 0;
}

int info(const std::string& path) {
  traces::CompactRoutingReader reader(path);
  const auto& h = reader.header();
  std::uint64_t requests = 0;
  std::uint64_t steps = 0;
  std::uint64_t tokens = 0;
  while (const auto r = reader.next()) {
    ++requests;
    steps += r->steps.size();
    for (const auto& s : r->steps) tokens += s.tokens;
  }
  std::cout << fmt::format(
      "{}\n  model: {}\n  MoE layers: {}, experts: {}, top-k: {}, gate weights: {}\n  requests: {}, steps: {}, tokens: {}, "
      "routing decisions: {}\n  attribution: {}\n",
      path, h.model, h.moe_layers, h.experts, h.top_k, h.has_gate_weights ? "yes" : "no", requests, steps, tokens,
      tokens * h.moe_layers * h.top_k, h.attribution);
  return 0;
}

struct StatsOptions {
  std::string json_path;
  std::string png_path;
  int window = 256;
  int top_h = 8;
  double rate_window_s = 60.0;
  std::string arrival_format = "auto";
  std::string zipf_for;  // a model whose Zipf exponents should match this trace's skew
};

// The Zipf exponent that gives `model`'s experts and top-k the trace's per-layer Gini
// (quartiles over layers): synthetic routing with a skew taken from real data.
std::string zipf_match(const traces::RoutingStats& s, const std::string& model_name) {
  const models::MoeModel model = models::load_moe_model(model_name);
  std::vector<double> ginis;
  for (const auto& l : s.layers) ginis.push_back(l.gini);
  std::sort(ginis.begin(), ginis.end());
  const auto at = [&](double q) { return ginis[static_cast<std::size_t>(q * static_cast<double>(ginis.size() - 1) + 0.5)]; };
  std::string out = fmt::format("\nZipf exponent giving {} ({} experts, top-{}) this trace's per-layer Gini:\n", model.name,
                                model.experts, model.top_k);
  for (const auto& [label, q] : {std::pair{"25%", 0.25}, std::pair{"median", 0.5}, std::pair{"75%", 0.75}}) {
    const double skew = models::zipf_skew_for_gini(model.experts, model.top_k, at(q));
    out += fmt::format("  {:>6} layer Gini {:.3f} -> skew {}\n", label, at(q),
                       std::isnan(skew) ? std::string("out of reach (0..8)") : fmt::format("{:.2f}", skew));
  }
  return out;
}

// Routing traces (.moert) get routing statistics, anything else is read as an arrival trace.
int stats(const std::string& path, const StatsOptions& o) {
  std::string json;
  const bool routing = std::filesystem::path(path).extension() == ".moert";
  if (routing) {
    if (o.window < 1) throw UsageError("--window must be at least 1 token");
    if (o.top_h < 1) throw UsageError("--top must be at least 1 expert");
    const traces::RoutingStats s = traces::compute_routing_stats(path, o.window, o.top_h);
    std::cout << traces::format_routing_stats(s);
    if (!o.zipf_for.empty()) std::cout << zipf_match(s, o.zipf_for);
    json = traces::routing_stats_json(s);
  } else {
    if (!(o.rate_window_s > 0.0)) throw UsageError("--rate-window must be positive (seconds)");
    const traces::ArrivalStats s = traces::compute_arrival_stats(path, o.arrival_format, o.rate_window_s);
    std::cout << traces::format_arrival_stats(s);
    json = traces::arrival_stats_json(s);
  }
  if (!o.json_path.empty()) {
    write_file_atomic(o.json_path, json);
    std::cout << "JSON: " << o.json_path << "\n";
  }
  if (!o.png_path.empty()) {
    report::render_plot(routing ? "routing-heatmap" : "arrival-rate", json, o.png_path);
    std::cout << "PNG: " << o.png_path << "\n";
  }
  return 0;
}

// Routing decisions per second of the streaming reader (file in the page cache).
int bench_read(const std::string& path, int repetitions) {
  if (repetitions < 1) throw UsageError("--repetitions must be at least 1");
  std::vector<double> rates;
  std::uint64_t decisions = 0;
  for (int rep = 0; rep < repetitions; ++rep) {
    const auto begin = std::chrono::steady_clock::now();
    traces::CompactRoutingReader reader(path);
    const std::uint64_t ids_per_token = std::uint64_t{reader.header().moe_layers} * reader.header().top_k;
    traces::RequestRouting r;
    decisions = 0;
    while (reader.next(r)) {
      for (const auto& s : r.steps) decisions += s.tokens * ids_per_token;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    if (decisions == 0) throw InputError(fmt::format("{}: the routing trace holds no routing decisions; nothing to time", path));
    rates.push_back(static_cast<double>(decisions) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  std::cout << fmt::format("{}: {} routing decisions per pass, {} passes: median {:.1f} M decisions/s (min {:.1f}, max {:.1f})\n",
                           path, decisions, repetitions, rates[rates.size() / 2] / 1e6, rates.front() / 1e6,
                           rates.back() / 1e6);
  return 0;
}

}  // namespace

int run_trace(const std::vector<std::string>& args) {
  CommandParser parser("trace", "<action> [options]",
                       "Actions:\n"
                       "  convert <input> -o <file.moert> --format llama4-json|flame-moe-csv [--verify]\n"
                       "           convert a real routing trace into the compact routing format: llama4-json,\n"
                       "           a folder of per-request JSON files (Llama-4-Maverick MMLU); flame-moe-csv, a\n"
                       "           folder of per-layer router-score CSVs (FLAME-MoE); --verify reads it back\n"
                       "           and compares.\n"
                       "  info <file.moert>   header and totals of a compact routing trace\n"
                       "  stats <file.moert> [--json FILE] [--png FILE] [--window N] [--top H] [--zipf-for MODEL]\n"
                       "           per-layer load skew, temporal stability, cross-layer predictability,\n"
                       "           per-request similarity, token locality; --png draws the per-layer load heatmap;\n"
                       "           --zipf-for: the Zipf exponent giving MODEL's experts the trace's per-layer Gini\n"
                       "  stats <arrivals.csv|.jsonl> [--json FILE] [--png FILE] [--rate-window S]\n"
                       "           request rate over time, burstiness, token-length distributions;\n"
                       "           --png draws the rate over time\n"
                       "  bench <file.moert> [--repetitions N]   read speed in routing decisions/s");
  std::vector<std::string> positional;
  std::string output;
  std::string format = "llama4-json";
  std::string attribution;
  bool verify = false;
  StatsOptions so;
  int repetitions = 11;
  parser.add_options()("args", po::value(&positional), "action and its input")(
      "output,o", po::value(&output), "output file")("format", po::value(&format)->default_value(format),
                                                      "input format: llama4-json, flame-moe-csv")(
      "attribution", po::value(&attribution), "origin/license note stored in the file's header")(
      "verify", po::bool_switch(&verify), "read the output back and compare with the input")(
      "json", po::value(&so.json_path), "stats: also write JSON here")(
      "png", po::value(&so.png_path), "stats: also draw a PNG here")(
      "window", po::value(&so.window)->default_value(so.window), "stats: tokens per window for temporal stability")(
      "top", po::value(&so.top_h)->default_value(so.top_h), "stats: hot experts compared between windows")(
      "rate-window", po::value(&so.rate_window_s)->default_value(so.rate_window_s), "stats: seconds per arrival-rate window")(
      "arrival-format", po::value(&so.arrival_format)->default_value(so.arrival_format),
      "stats: arrival trace format (auto: by extension; azure-llm-2023, mooncake)")(
      "zipf-for", po::value(&so.zipf_for), "stats: the Zipf exponent giving this model the trace's per-layer Gini")(
      "repetitions", po::value(&repetitions)->default_value(repetitions), "bench: passes over the file");
  parser.add_positional("args", -1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (positional.size() != 2) throw UsageError("expected an action and one input (convert <dir> | info <file> | stats <file>)");
  if (positional[0] == "convert") return convert(format, positional[1], output, attribution, verify);
  if (positional[0] == "info") return info(positional[1]);
  if (positional[0] == "stats") return stats(positional[1], so);
  if (positional[0] == "bench") return bench_read(positional[1], repetitions);
  throw UsageError(fmt::format("unknown action '{}' (expected: convert, info, stats)", positional[0]));
}

}  // namespace moesim::cli
