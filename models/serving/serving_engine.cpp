#include "models/serving/serving_engine.h"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

#include "models/layer_costs.h"
#include "models/op_costs.h"

namespace moesim::models {

namespace {
constexpr double kActivationBytes = 2.0;  // token rows move in BF16
}

std::int64_t ServingEngine::Batch::total() const {
  std::int64_t n = 0;
  for (std::int64_t t : tokens) n += t;
  return n;
}

// One all-to-all in flight: fires `done` when its last flow lands.
struct ServingEngine::Exchange {
  explicit Exchange(sim::Simulator& sim) : done(sim) {}
  sim::Signal done;
  int pending = 0;
  void start(sim::FlowNetwork& net, const std::vector<sim::LinkId>& path, double bytes) {
    ++pending;
    net.start(path, bytes, [this] { land(); });
  }
  void start(sim::FlowNetwork& net, const sim::Coflow& collective) {
    ++pending;
    net.start(collective, [this] { land(); });
  }

 private:
  void land() {
    if (--pending == 0) done.fire();
  }
};

ServingEngine::ServingEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu,
                             const std::vector<GpuSlowdown>& slowdowns, Topology& topology, ExpertPlacement placement,
                             RoutingSource& routing, ServingConfig config, ServingMetrics& metrics,
                             sim::TraceWriter* trace, ServingPolicies policies)
    : sim_(sim),
      model_(model),
      gpu_(gpu),
      costs_(model, gpu),
      slowdowns_(slowdowns),
      topology_(topology),
      collective_(topology.network()),
      placement_(std::move(placement)),
      policies_(policies),
      routing_(routing),
      config_(config),
      metrics_(metrics),
      trace_(trace),
      gpus_(topology.gpu_count()),
      work_(sim) {
  if (static_cast<int>(slowdowns_.size()) != gpus_) throw std::logic_error("one slowdown per GPU expected");
  memory_ = policies_.provisioner != nullptr
                ? memory_budget(model_, "serverless expert pool", policies_.provisioner->reserved_expert_bytes(), 0,
                                gpu_.memory_bytes, config_.activation_reserve_bytes)
                : check_memory(model_, placement_, gpus_, gpu_.memory_bytes, config_.activation_reserve_bytes);
  iteration_loads_.assign(static_cast<std::size_t>(model_.moe_layer_count()),
                          std::vector<std::int64_t>(static_cast<std::size_t>(model_.experts), 0));
  running_.resize(static_cast<std::size_t>(gpus_));
  for (int src = 0; src < gpus_; ++src) {
    for (int dst = 0; dst < gpus_; ++dst) {
      gpu_routes_.push_back(src == dst ? sim::Coflow::Route{} : collective_.route(topology_.gpu_to_gpu(src, dst)));
    }
  }
  std::vector<sim::Coflow::Route> dispatch, combine;
  for (int src = 0; src < gpus_; ++src) {
    for (int dst = 0; dst < gpus_; ++dst) {
      if (src == dst) continue;
      dispatch.push_back(gpu_routes_[static_cast<std::size_t>(src * gpus_ + dst)]);
      combine.push_back(gpu_routes_[static_cast<std::size_t>(dst * gpus_ + src)]);
    }
  }
  dispatch_pattern_ = sim::Coflow::Pattern(std::move(dispatch));
  combine_pattern_ = sim::Coflow::Pattern(std::move(combine));
  // On a switch the combine's links carry the dispatch's parts back (GPU g's uplink
  // what its downlink brought), so its per-link sums are the dispatch's, relabelled.
  if (combine_pattern_.pair_with(dispatch_pattern_)) {
    find_switch_slots();
    // Cables are symmetric when each twin link is as fast as the link it replaces:
    // the combine then has the dispatch's bottleneck candidates (run_alone_twin).
    const sim::FlowNetwork& net = topology_.network();
    twin_bandwidths_equal_ = std::ranges::all_of(dispatch_pattern_.links(), [&](sim::LinkId l) {
      return net.link_bandwidth(l) == net.link_bandwidth(combine_pattern_.twin_link(l));
    });
  }
  part_bytes_.resize(dispatch_pattern_.parts());
  kv_used_.assign(static_cast<std::size_t>(gpus_), 0);
  assigned_.assign(static_cast<std::size_t>(gpus_), 0);
  expert_memo_.assign(static_cast<std::size_t>(gpus_ * kExpertMemoTokens), -1);
  for (int g = 0; g < gpus_; ++g) expert_memo_[static_cast<std::size_t>(g * kExpertMemoTokens)] = 0;  // no tokens, no work
  memo_slowdown_ = slowdowns_;
  if (trace_ != nullptr) {
    for (int g = 0; g < gpus_; ++g) gpu_tracks_.push_back(trace_->add_track("GPUs", fmt::format("gpu{}", g)));
  }
}

void ServingEngine::submit(Request r) {
  const auto least = std::min_element(assigned_.begin(), assigned_.end());
  r.gpu = static_cast<int>(least - assigned_.begin());
  const std::int64_t need = kv_reservation(r);
  if (need > memory_.kv_capacity()) {
    metrics_.record_dropped(r, fmt::format("KV cache for {} tokens ({} bytes) exceeds a GPU's capacity ({} bytes)",
                                           r.input_tokens + r.output_tokens, need, memory_.kv_capacity()));
    return;
  }
  ++*least;
  waiting_.push_back(std::make_unique<Request>(r));
  work_.fire();
}

void ServingEngine::close() {
  closed_ = true;
  work_.fire();
}

bool ServingEngine::in_closed_bucket(sim::Time arrival) const {
  return config_.batching == ServingConfig::Batching::kContinuous || arrival <= sim_.now() / config_.bucket * config_.bucket;
}

bool ServingEngine::admit(int gpu, const Request& r) {
  const auto g = static_cast<std::size_t>(gpu);
  const std::int64_t need = kv_reservation(r);
  if (!in_closed_bucket(r.arrival)) return false;
  if (static_cast<int>(running_[g].size()) >= config_.max_running_requests) return false;
  if (kv_used_[g] + need > memory_.kv_capacity()) return false;
  kv_used_[g] += need;  // reserved for the request's whole life (no preemption)
  return true;
}

ServingEngine::Batch ServingEngine::form_batch() {
  // Static buckets: a GPU with a batch still running admits nothing.
  std::vector<bool> open(running_.size(), true);
  if (config_.batching == ServingConfig::Batching::kStaticBuckets) {
    for (std::size_t g = 0; g < running_.size(); ++g) open[g] = running_[g].empty();
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const int g = (*it)->gpu;
    if (open[static_cast<std::size_t>(g)] && admit(g, **it)) {
      running_[static_cast<std::size_t>(g)].push_back(std::move(*it));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  Batch b;
  b.prefill.resize(static_cast<std::size_t>(gpus_));
  b.decode.resize(static_cast<std::size_t>(gpus_));
  b.tokens.assign(static_cast<std::size_t>(gpus_), 0);
  for (std::size_t g = 0; g < running_.size(); ++g) {
    std::int64_t budget = config_.max_batched_tokens;
    // Decodes first, then prefill chunks in arrival order (Sarathi-style chunked prefill).
    for (const auto& r : running_[g]) {
      if (r->prefill_done() && budget > 0) {
        b.decode[g].push_back(r.get());
        --budget;
      }
    }
    for (const auto& r : running_[g]) {
      if (r->prefill_done() || budget == 0) continue;
      const std::int64_t chunk = std::min({config_.prefill_chunk, r->input_tokens - r->prefilled, budget});
      b.prefill[g].emplace_back(r.get(), chunk);
      budget -= chunk;
    }
    b.tokens[g] = config_.max_batched_tokens - budget;
  }
  return b;
}

BatchSpans ServingEngine::batch_spans(const Batch& b) const {
  BatchSpans spans(static_cast<std::size_t>(gpus_));
  for (std::size_t g = 0; g < spans.size(); ++g) {
    for (const Request* r : b.decode[g]) spans[g].push_back(TokenSpan{r->id, r->generated, 1, false});
    for (const auto& [r, chunk] : b.prefill[g]) spans[g].push_back(TokenSpan{r->id, r->prefilled, chunk, true});
  }
  return spans;
}

void ServingEngine::prepare_attention(const Batch& b) {
  attention_loads_.assign(static_cast<std::size_t>(gpus_), AttentionLoad{});
  for (std::size_t g = 0; g < attention_loads_.size(); ++g) {
    for (const auto& [r, chunk] : b.prefill[g]) attention_loads_[g].add_prefill(r->context(), chunk);
    for (const Request* r : b.decode[g]) attention_loads_[g].add_decode(r->context());
  }
  attention_memo_.assign(attention_loads_.size() * 4, -1);
  attention_slowest_.fill(-1);
}

void ServingEngine::check_memo(std::size_t g) {
  const GpuSlowdown now = slowdowns_[g];
  GpuSlowdown& at = memo_slowdown_[g];
  if (now.compute == at.compute && now.memory == at.memory) return;
  at = now;
  std::fill_n(attention_memo_.begin() + static_cast<std::ptrdiff_t>(g * 4), 4, -1);
  std::fill_n(expert_memo_.begin() + static_cast<std::ptrdiff_t>(g) * kExpertMemoTokens, kExpertMemoTokens, -1);
  expert_memo_[g * kExpertMemoTokens] = 0;  // a copy given no tokens does no work
}

sim::Time ServingEngine::expert_time(std::size_t g, std::int64_t tokens) {
  if (tokens >= kExpertMemoTokens) return costs_.expert(slowdowns_[g], tokens);
  sim::Time& t = expert_memo_[static_cast<std::size_t>(static_cast<std::int64_t>(g) * kExpertMemoTokens + tokens)];
  if (t < 0) t = costs_.expert(slowdowns_[g], tokens);
  return t;
}

std::size_t ServingEngine::layer_kind(int layer) const {
  return (model_.is_moe_layer(layer) ? 1 : 0) + (layer == model_.layers - 1 ? 2 : 0);
}

double ServingEngine::row_bytes() const { return static_cast<double>(model_.d_model) * kActivationBytes; }

sim::Time ServingEngine::attention_stage_time(int gpu, int layer) {
  const auto g = static_cast<std::size_t>(gpu);
  check_memo(g);
  sim::Time& t = attention_memo_[g * 4 + layer_kind(layer)];
  if (t < 0) t = costs_.non_expert(slowdowns_[g], layer, attention_loads_[g]);
  return t;
}

sim::Time ServingEngine::attention_stage(int layer, sim::Time start, bool closed_form, std::vector<sim::Time>& stage) {
  // A closed-form iteration is computed at one simulated instant, so slowdowns cannot
  // change between its layers: the slowest GPU of each layer kind is found once, and
  // later layers of that kind only add the memoised per-GPU times to the busy totals
  // (closed form runs without a trace, so there are no spans to write).
  const std::size_t kind = layer_kind(layer);
  sim::Time* slowest = closed_form ? &attention_slowest_[kind] : nullptr;
  if (slowest != nullptr && *slowest >= 0) {
    for (int g = 0; g < gpus_; ++g) metrics_.record_gpu_busy(g, attention_memo_[static_cast<std::size_t>(g) * 4 + kind]);
    return *slowest;
  }
  for (int g = 0; g < gpus_; ++g) stage[static_cast<std::size_t>(g)] = attention_stage_time(g, layer);
  trace_stage("attention", layer, start, stage);
  const sim::Time attention = *std::max_element(stage.begin(), stage.end());
  if (slowest != nullptr) *slowest = attention;
  return attention;
}

void ServingEngine::assign_tokens(const std::vector<std::vector<int>>& replicas,
                                  const std::vector<std::vector<std::int64_t>>& counts, std::vector<std::int64_t>& expert_tokens) {
  if (std::all_of(replicas.begin(), replicas.end(), [](const std::vector<int>& copies) { return copies.size() == 1; })) {
    assign_to_single_copies(replicas, counts, expert_tokens);
    return;
  }
  const auto E = static_cast<std::size_t>(model_.experts);
  pair_tokens_.assign(static_cast<std::size_t>(gpus_ * gpus_), 0);
  std::vector<std::int64_t>& copy_tokens = copy_tokens_;
  copy_tokens.assign(static_cast<std::size_t>(gpus_) * E, 0);
  std::fill(expert_tokens.begin(), expert_tokens.end(), 0);
  std::vector<std::int64_t> gpu_tokens(static_cast<std::size_t>(gpus_), 0);
  std::int64_t assignments = 0;
  std::int64_t remote = 0;
  // Without branches on n: which experts a batch touches is random, and a branch
  // on it mispredicted often. Adding 0 changes nothing.
  auto send = [&](int src, int dst, std::size_t e, std::int64_t n) {
    copy_tokens[static_cast<std::size_t>(dst) * E + e] += n;
    gpu_tokens[static_cast<std::size_t>(dst)] += n;
    pair_tokens_[static_cast<std::size_t>(src * gpus_ + dst)] += n;
    remote += n * static_cast<std::int64_t>(dst != src);
  };
  for (int src = 0; src < gpus_; ++src) {
    const std::int64_t* from = counts[static_cast<std::size_t>(src)].data();
    for (std::size_t e = 0; e < E; ++e) {
      const std::int64_t n = from[e];
      expert_tokens[e] += n;
      assignments += n;
      const auto& copies = replicas[e];
      if (copies.size() == 1) {
        send(src, copies.front(), e, n);
        continue;
      }
      if (n == 0) continue;
      if (policies_.dispatch == nullptr) throw std::logic_error("a placement with replicas needs a dispatch rule");
      share_.assign(copies.size(), 0);
      policies_.dispatch->split(n, src, copies, gpu_tokens, share_);
      for (std::size_t i = 0; i < copies.size(); ++i) {
        if (share_[i] > 0) send(src, copies[i], e, share_[i]);
      }
    }
  }
  copy_loads_.clear();
  for (std::size_t i = 0; i < copy_tokens.size(); ++i) {
    if (copy_tokens[i] > 0) copy_loads_.push_back(CopyLoad{i / E, i % E, copy_tokens[i]});
  }
  metrics_.record_routing(0, assignments, remote);
}

void ServingEngine::assign_to_single_copies(const std::vector<std::vector<int>>& replicas,
                                            const std::vector<std::vector<std::int64_t>>& counts,
                                            std::vector<std::int64_t>& expert_tokens) {
  const auto E = static_cast<std::size_t>(model_.experts);
  const auto G = static_cast<std::size_t>(gpus_);
  owner_.resize(E);
  for (std::size_t e = 0; e < E; ++e) owner_[e] = replicas[e].front();
  pair_tokens_.assign(G * G, 0);
  source_rows_.resize(G);
  for (std::size_t src = 0; src < G; ++src) source_rows_[src] = counts[src].data();
  copy_loads_.resize(E);
  // Expert by expert: its total stays in a register, and the rows that stay local
  // are one load per expert (remote = all − local) instead of a test per count.
  // Local pointers: the compiler cannot tell that the stores below leave the vectors'
  // own fields alone, and would reload them after every one.
  const int* const owner = owner_.data();
  const std::int64_t* const* const from = source_rows_.data();
  std::int64_t* const pairs = pair_tokens_.data();
  CopyLoad* const loads = copy_loads_.data();
  std::int64_t* const per_expert = expert_tokens.data();
  std::int64_t assignments = 0;
  std::int64_t local = 0;
  for (std::size_t e = 0; e < E; ++e) {
    const auto dst = static_cast<std::size_t>(owner[e]);
    std::int64_t total = 0;
    for (std::size_t src = 0; src < G; ++src) {
      const std::int64_t n = from[src][e];
      pairs[src * G + dst] += n;
      total += n;
    }
    per_expert[e] = total;
    loads[e] = CopyLoad{dst, e, total};
    assignments += total;
    local += from[dst][e];
  }
  const std::int64_t remote = assignments - local;
  metrics_.record_routing(0, assignments, remote);
}

void ServingEngine::find_switch_slots() {
  // One switch: every pair's route is src's uplink then dst's downlink, 2G distinct
  // links, all routes as long (a per-part latency would need the parts).
  const auto G = static_cast<std::size_t>(gpus_);
  if (G < 2 || dispatch_pattern_.uniform_latency() < 0 || combine_pattern_.uniform_latency() < 0) return;
  std::vector<sim::LinkId> up(G), down(G);
  for (std::size_t src = 0; src < G; ++src) {
    for (std::size_t dst = 0; dst < G; ++dst) {
      if (src == dst) continue;
      const auto& links = gpu_routes_[src * G + dst].links;
      if (links.size() != 2) return;
      const bool first_up = dst == (src == 0 ? 1 : 0);
      const bool first_down = src == (dst == 0 ? 1 : 0);
      if (first_up) up[src] = links[0];
      if (first_down) down[dst] = links[1];
      if (links[0] != up[src] || links[1] != down[dst]) return;
    }
  }
  std::vector<sim::LinkId> all(up);
  all.insert(all.end(), down.begin(), down.end());
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) return;
  // Sums of integer token counts times an integral row size are exact below 2^53,
  // so summing per GPU gives bitwise the per-part sums (Coflow::assign_sums).
  const double largest_layer_bytes = static_cast<double>(config_.max_batched_tokens) * static_cast<double>(G) *
                                     model_.top_k * row_bytes();
  if (row_bytes() != std::floor(row_bytes()) || !(largest_layer_bytes < 0x1p53)) return;
  const auto links = dispatch_pattern_.links();
  std::vector<std::uint32_t> slots(links.size());
  for (std::size_t u = 0; u < links.size(); ++u) {
    const auto at_up = std::find(up.begin(), up.end(), links[u]);
    slots[u] = at_up != up.end() ? static_cast<std::uint32_t>(at_up - up.begin())
                                 : static_cast<std::uint32_t>(G + static_cast<std::size_t>(std::find(down.begin(), down.end(), links[u]) - down.begin()));
  }
  switch_slot_ = std::move(slots);
  slot_tokens_.resize(2 * G);
  slot_pairs_.resize(2 * G);
  link_demand_.resize(links.size());
  link_crossings_.resize(links.size());
}

void ServingEngine::assign_switch_sums(double row_bytes) {
  // Per GPU: the rows it sends (its pair-matrix row, off the diagonal) over its
  // uplink, and those it receives (its column) over its downlink; a link's
  // crossings are its non-empty pairs. Full sums first, then the diagonal out:
  // no branch on src != dst.
  const auto G = static_cast<std::size_t>(gpus_);
  const std::int64_t* const pairs = pair_tokens_.data();
  std::int64_t* const tokens = slot_tokens_.data();
  std::uint32_t* const used = slot_pairs_.data();
  std::fill_n(tokens + G, G, 0);
  std::fill_n(used + G, G, 0U);
  std::size_t parts = 0;
  for (std::size_t src = 0; src < G; ++src) {
    const std::int64_t* const row = pairs + src * G;
    std::int64_t sent = 0;
    std::uint32_t nonempty = 0;
    for (std::size_t dst = 0; dst < G; ++dst) {
      const std::int64_t n = row[dst];
      const auto any = static_cast<std::uint32_t>(n > 0);
      sent += n;
      nonempty += any;
      tokens[G + dst] += n;
      used[G + dst] += any;
    }
    const std::int64_t own = row[src];
    tokens[src] = sent - own;
    used[src] = nonempty - static_cast<std::uint32_t>(own > 0);
    parts += used[src];
  }
  for (std::size_t g = 0; g < G; ++g) {
    const std::int64_t own = pairs[g * G + g];
    tokens[G + g] -= own;
    used[G + g] -= static_cast<std::uint32_t>(own > 0);
  }
  for (std::size_t u = 0; u < switch_slot_.size(); ++u) {
    const std::uint32_t slot = switch_slot_[u];
    link_demand_[u] = static_cast<double>(tokens[slot]) * row_bytes;
    link_crossings_[u] = used[slot];
  }
  collective_.assign_sums(dispatch_pattern_, link_demand_, link_crossings_, parts, config_.collective_overhead);
}

void ServingEngine::fill_part_bytes(double row_bytes) {
  // Token counts are integers far below 2^53, so each size is bitwise what summing
  // the rows as doubles gave. Per source, the pairs before and after the diagonal:
  // no branch on src != dst, and the index in a register rather than in the frame.
  const auto G = static_cast<std::size_t>(gpus_);
  const std::int64_t* const pairs = pair_tokens_.data();
  double* part = part_bytes_.data();
  for (std::size_t src = 0; src < G; ++src) {
    const std::int64_t* const row = pairs + src * G;
    for (std::size_t dst = 0; dst < src; ++dst) *part++ = static_cast<double>(row[dst]) * row_bytes;
    for (std::size_t dst = src + 1; dst < G; ++dst) *part++ = static_cast<double>(row[dst]) * row_bytes;
  }
}

sim::Process ServingEngine::migrate(ExpertPlacement next) {
  migrating_ = true;
  const sim::Time start = sim_.now();
  // Slots per GPU are fixed at start-up (the KV cache was sized around them).
  const auto needed = next.experts_per_gpu();
  for (int g = 0; g < gpus_; ++g) {
    if (needed[static_cast<std::size_t>(g)] * model_.expert_bytes() > memory_.expert_weights_max) {
      throw std::runtime_error(fmt::format("placement '{}' puts {} expert copies on GPU {}, more than the memory reserved at start",
                                           next.policy, needed[static_cast<std::size_t>(g)], g));
    }
  }
  const auto moves = placement_.missing_in(next);
  Exchange exchange(sim_);
  const auto bytes = static_cast<double>(model_.expert_bytes());
  for (const auto& [layer, expert, dst] : moves) {
    // From the first current copy (all GPUs of a node are one NVSwitch hop apart).
    const int src = placement_.replicas[static_cast<std::size_t>(layer)][static_cast<std::size_t>(expert)].front();
    exchange.start(topology_.network(), topology_.gpu_to_gpu(src, dst), bytes);
  }
  if (exchange.pending > 0) co_await exchange.done.wait();
  metrics_.record_migration(static_cast<std::int64_t>(moves.size()), bytes * static_cast<double>(moves.size()),
                            sim_.now() - start, next.swaps);
  if (trace_ != nullptr && !moves.empty()) {
    trace_->span(trace_->add_track("placement", "migrations"),
                 fmt::format("{}: {} expert copies", next.policy, moves.size()), start, sim_.now());
  }
  placement_ = std::move(next);
  migrating_ = false;
}

void ServingEngine::trace_request(const Request& r) {
  if (trace_ == nullptr) return;
  const auto track = trace_->add_track("requests", fmt::format("req {}", r.id));
  trace_->span(track, fmt::format("prefill ({} tokens, gpu {})", r.input_tokens, r.gpu), r.arrival, r.first_token);
  if (r.last_token > r.first_token) {
    trace_->span(track, fmt::format("decode ({} tokens)", r.output_tokens), r.first_token, r.last_token);
  }
}

void ServingEngine::trace_stage(const char* what, int layer, sim::Time start, const std::vector<sim::Time>& per_gpu) {
  for (int g = 0; g < gpus_; ++g) {
    const sim::Time t = per_gpu[static_cast<std::size_t>(g)];
    metrics_.record_gpu_busy(g, t);
    if (trace_ != nullptr && t > 0) {
      trace_->span(gpu_tracks_[static_cast<std::size_t>(g)], fmt::format("{} L{}", what, layer), start, start + t);
    }
  }
}

sim::Process ServingEngine::run() {
  sim::FlowNetwork& net = topology_.network();
  const double row_bytes = this->row_bytes();
  std::vector<sim::Time> stage(static_cast<std::size_t>(gpus_));
  std::vector<std::int64_t> per_expert(static_cast<std::size_t>(model_.experts));
  RoutingCounts routing;  // refilled every iteration, its storage kept
  for (;;) {
    bool busy = !waiting_.empty();
    for (const auto& r : running_) busy = busy || !r.empty();
    if (!busy) {
      if (closed_) {
        if (policies_.provisioner != nullptr) policies_.provisioner->finish(sim_.now());
        co_return;
      }
      work_.reset();
      co_await work_.wait();
      continue;
    }
    Batch batch = form_batch();
    if (batch.total() == 0) {
      if (config_.batching == ServingConfig::Batching::kContinuous) {
        throw std::logic_error("serving engine formed an empty batch with work pending");
      }
      co_await sim_.sleep((sim_.now() / config_.bucket + 1) * config_.bucket - sim_.now());  // the next bucket closes
      continue;
    }
    metrics_.record_iteration(batch.total());
    routing_.route(batch_spans(batch), routing);
    if (policies_.provisioner != nullptr) policies_.provisioner->begin_iteration(sim_.now(), routing);
    // In closed form the iteration's clock `now` runs ahead of the simulator's, which
    // catches up once at the end; otherwise every stage is waited for as it happens.
    const bool closed_form = closed_form_iteration_possible();
    prepare_attention(batch);
    sim::Time now = sim_.now();
    int moe_layer = 0;
    for (int layer = 0; layer < model_.layers; ++layer) {
      // Attention (+ gate, shared experts or dense FFN) on every GPU for its tokens.
      const sim::Time attention = attention_stage(layer, now, closed_form, stage);
      if (closed_form) {
        now += attention;
      } else {
        co_await sim_.sleep(attention);
        now = sim_.now();
      }
      if (!model_.is_moe_layer(layer)) continue;

      const auto& counts = routing[static_cast<std::size_t>(moe_layer)];
      if (moe_layer == 0) metrics_.record_routing(batch.total(), 0, 0);
      const sim::Time gate = now;
      const auto* replicas = &placement_.replicas[static_cast<std::size_t>(moe_layer)];
      if (policies_.provisioner != nullptr) {
        std::fill(per_expert.begin(), per_expert.end(), 0);
        for (const auto& src : counts) {
          for (std::size_t e = 0; e < per_expert.size(); ++e) per_expert[e] += src[e];
        }
        replicas = &policies_.provisioner->acquire(moe_layer, per_expert);
      }
      assign_tokens(*replicas, counts, per_expert);
      auto& observed = iteration_loads_[static_cast<std::size_t>(moe_layer)];
      for (std::size_t e = 0; e < per_expert.size(); ++e) observed[e] = per_expert[e];

      // Dispatch: rows to the experts' GPUs; combine: the same volumes back.
      for (const bool combine : {false, true}) {
        if (combine) {
          const sim::Time dispatched = now;
          // A closed-form iteration runs at one simulated instant, so the GPUs'
          // slowdowns checked at its first MoE layer still hold at the others.
          const bool check_memos = !closed_form || moe_layer == 0;
          if (policies_.provisioner != nullptr) {
            if (sim::Signal* ready = policies_.provisioner->pending()) co_await ready->wait();
          }
          const sim::Time experts_done = std::max(now, expert_stage_end(layer, dispatched, check_memos, stage));
          if (closed_form) {
            now = experts_done;
          } else {
            co_await sim_.sleep(experts_done - sim_.now());
            now = sim_.now();
          }
          if (policies_.provisioner != nullptr) policies_.provisioner->release(moe_layer, copy_busy_);
        }
        // Every (source, destination) pair of GPUs that exchanges rows.
        const auto each_part = [&](auto&& take) {
          for (int src = 0; src < gpus_; ++src) {
            for (int dst = 0; dst < gpus_; ++dst) {
              const auto n = static_cast<double>(pair_tokens_[static_cast<std::size_t>(src * gpus_ + dst)]);
              if (n == 0.0 || src == dst) continue;
              take(gpu_routes_[static_cast<std::size_t>(combine ? dst * gpus_ + src : src * gpus_ + dst)], n * row_bytes);
            }
          }
        };
        if (config_.collectives == ServingConfig::Collectives::kCoflow) {
          // The collective's fixed cost (launch and synchronisation) precedes the data.
          const bool by_switch = !switch_slot_.empty();
          if (combine && by_switch) {
            collective_.assign_twin(combine_pattern_, config_.collective_overhead);
          } else if (combine) {
            collective_.assign_twin(combine_pattern_, part_bytes_, config_.collective_overhead);
          } else if (by_switch) {
            assign_switch_sums(row_bytes);
          } else {
            fill_part_bytes(row_bytes);
            collective_.assign(dispatch_pattern_, part_bytes_, config_.collective_overhead);
          }
          if (collective_.parts() == 0) continue;  // everything stayed local: no collective
          if (closed_form) {
            // The combine by switch sums is the dispatch relabelled (assign_twin above).
            now = combine && by_switch && twin_bandwidths_equal_ ? net.run_alone_twin(collective_, now) : net.run_alone(collective_, now);
            continue;
          }
          Exchange exchange(sim_);
          exchange.start(net, collective_);
          co_await exchange.done.wait();
        } else {
          bool any_remote = false;
          each_part([&](const sim::Coflow::Route&, double) { any_remote = true; });
          if (!any_remote) continue;
          co_await sim_.sleep(config_.collective_overhead);
          Exchange exchange(sim_);
          each_part([&](const sim::Coflow::Route& route, double bytes) { exchange.start(net, route.links, bytes); });
          co_await exchange.done.wait();
        }
        now = sim_.now();
      }
      metrics_.record_moe_layer(now - gate);
      ++moe_layer;
    }
    if (closed_form) co_await sim_.sleep(now - sim_.now());
    complete_iteration(batch);
    if (policies_.controller != nullptr) {
      policies_.controller->observe(sim_.now(), iteration_loads_);
      if (!migrating_) {
        if (auto next = policies_.controller->propose(sim_.now(), placement_)) {
          migrating_ = true;  // from now: the spawned migration starts after this process yields
          sim_.spawn(migrate(std::move(*next)));
        }
      }
    }
  }
}

bool ServingEngine::closed_form_iteration_possible() const {
  // Exact only when the iteration's collectives are alone on the network from start
  // to end: nothing in flight now, nobody else starting transfers (a migration or
  // a provisioner's loads), and one entity per collective. Traced runs take the
  // event path so that link counters appear as the network changes.
  return config_.closed_form_iterations && config_.collectives == ServingConfig::Collectives::kCoflow &&
         policies_.provisioner == nullptr && !migrating_ && trace_ == nullptr && topology_.network().idle();
}

sim::Time ServingEngine::expert_stage_end(int layer, sim::Time now, bool check_memos, std::vector<sim::Time>& stage) {
  const auto E = static_cast<std::size_t>(model_.experts);
  if (check_memos) {
    for (std::size_t g = 0; g < stage.size(); ++g) check_memo(g);
  }
  std::fill(stage.begin(), stage.end(), 0);
  // Per-copy times only for a provisioner (it bills them); a copy without tokens is 0.
  const bool per_copy = policies_.provisioner != nullptr;
  if (per_copy) copy_busy_.assign(static_cast<std::size_t>(gpus_) * E, 0);
  // Over the copies this layer has (one per expert without replicas), not every
  // (GPU, expert) slot; the memo answers 0 for 0 tokens, so no branch on them.
  for (const CopyLoad& c : copy_loads_) {
    const sim::Time t = expert_time(c.gpu, c.tokens);
    stage[c.gpu] += t;
    if (per_copy) copy_busy_[c.gpu * E + c.expert] = t;
  }
  // A GPU whose copies were still loading when the dispatch landed starts late.
  const auto start_of = [&](int g) { return per_copy ? std::max(now, policies_.provisioner->ready_at(g)) : now; };
  sim::Time end = now;
  sim::Time slowest = 0;
  sim::Time total = 0;  // integer nanoseconds: the same sum in any order, and no spill of a double
  for (int g = 0; g < gpus_; ++g) {
    const sim::Time busy = stage[static_cast<std::size_t>(g)];
    metrics_.record_gpu_busy(g, busy);  // adding 0 for an idle GPU changes nothing
    end = std::max(end, start_of(g) + busy);
    slowest = std::max(slowest, busy);
    total += busy;
  }
  if (trace_ != nullptr) {
    for (int g = 0; g < gpus_; ++g) {
      const sim::Time busy = stage[static_cast<std::size_t>(g)];
      if (busy == 0) continue;
      trace_->span(gpu_tracks_[static_cast<std::size_t>(g)], fmt::format("experts L{}", layer), start_of(g), start_of(g) + busy);
    }
  }
  const auto sum = static_cast<double>(total);
  metrics_.record_max_expert_time(slowest);
  if (sum > 0.0) metrics_.record_layer_imbalance(layer, static_cast<double>(slowest) * gpus_ / sum);
  return end;
}

void ServingEngine::complete_iteration(Batch& b) {
  const sim::Time now = sim_.now();
  for (std::size_t g = 0; g < running_.size(); ++g) {
    for (auto& [r, chunk] : b.prefill[g]) {
      r->prefilled += chunk;
      if (r->prefill_done()) {  // the pass over the last prompt token yields the first output token
        r->generated = 1;
        r->first_token = now;
        r->last_token = now;
      }
    }
    for (Request* r : b.decode[g]) {
      ++r->generated;
      metrics_.record_inter_token(now - r->last_token);
      r->last_token = now;
    }
    auto& list = running_[g];
    for (auto it = list.begin(); it != list.end();) {
      if ((*it)->prefill_done() && (*it)->finished()) {
        metrics_.record_request(**it);
        trace_request(**it);
        kv_used_[g] -= kv_reservation(**it);
        --assigned_[g];
        it = list.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace moesim::models
