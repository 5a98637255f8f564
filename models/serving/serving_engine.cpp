#include "models/serving/serving_engine.h"

#include <algorithm>
#include <fmt/format.h>
#include <limits>
#include <span>
#include <stdexcept>

#include "models/layer_costs.h"

namespace moesim::models {

namespace {

// Memory per GPU: the placement's expert copies, or a provisioner's pool.
MemoryBudget engine_memory(const MoeModel& model, const GpuProfile& gpu, const ExpertPlacement& placement, int gpus,
                           const ServingConfig& config, const ServingPolicies& policies) {
  return policies.provisioner != nullptr
             ? memory_budget(model, "serverless expert pool", policies.provisioner->reserved_expert_bytes(), 0,
                             gpu.memory_bytes, config.activation_reserve_bytes, config.attention_tp)
             : check_memory(model, placement, gpus, gpu.memory_bytes, config.activation_reserve_bytes,
                            config.attention_tp);
}

}  // namespace

ServingEngine::ServingEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu,
                             const std::vector<GpuSlowdown>& slowdowns, Topology& topology, ExpertPlacement placement,
                             RoutingSource& routing, ServingConfig config, ServingMetrics& metrics,
                             sim::TraceWriter* trace, ServingPolicies policies, int first_gpu)
    : sim_(sim),
      model_(model),
      gpu_(gpu),
      costs_(model, gpu, config.attention_tp),
      topology_(topology),
      placement_(std::move(placement)),
      policies_(policies),
      routing_(routing),
      config_(config),
      metrics_(metrics),
      trace_(trace),
      gpus_(topology.gpu_count()),
      tp_(config_.attention_tp),
      memory_(engine_memory(model_, gpu_, placement_, gpus_, config_, policies_)),
      recorder_(metrics, trace, gpus_, first_gpu),
      // A TP group holds each request's KV over its shards: one rank's capacity is theirs together.
      scheduler_(sim, model_, config_, gpus_ / tp_, memory_.kv_capacity() * model_.kv_shards(tp_), metrics, trace,
                 first_gpu, tp_, model_.kv_shards(tp_)),
      attention_(model_, costs_, slowdowns, recorder_, tp_),
      experts_(model_, costs_, slowdowns, recorder_, policies_.dispatch, policies_.provisioner,
               config_.expert_kernels == ServingConfig::ExpertKernels::kGrouped),
      all_to_all_(make_all_to_all(topology, model_, config_)) {
  if (static_cast<int>(slowdowns.size()) != gpus_) throw std::logic_error("one slowdown per GPU expected");
  if (tp_ < 1 || gpus_ % tp_ != 0) throw std::logic_error("attention_tp must divide the engine's GPUs");
  if (tp_ > 1) tp_collectives_ = std::make_unique<TpCollectives>(topology, model_, tp_, collective_overhead(topology, config_));
  iteration_loads_.assign(static_cast<std::size_t>(model_.moe_layer_count()),
                          std::vector<std::int64_t>(static_cast<std::size_t>(model_.experts), 0));
  index_placement();
}

void ServingEngine::index_placement() {
  single_owners_.assign(placement_.replicas.size(), {});
  for (std::size_t l = 0; l < placement_.replicas.size(); ++l) {
    if (one_copy_each(placement_.replicas[l])) single_owners_[l] = placement_.primary_gpus(static_cast<int>(l));
  }
}

const std::vector<std::vector<int>>& ServingEngine::layer_copies(int moe_layer,
                                                                 const std::vector<std::vector<std::int64_t>>& counts,
                                                                 std::vector<std::int64_t>& per_expert) {
  if (policies_.provisioner == nullptr) return placement_.replicas[static_cast<std::size_t>(moe_layer)];
  // The provisioner is asked at the layer's gate, with its true token counts.
  std::fill(per_expert.begin(), per_expert.end(), 0);
  for (const auto& src : counts) {
    for (std::size_t e = 0; e < per_expert.size(); ++e) per_expert[e] += src[e];
  }
  return policies_.provisioner->acquire(moe_layer, per_expert);
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
  index_placement();
  migrating_ = false;
}

void ServingEngine::offer_loads_to_controller() {
  if (policies_.controller == nullptr) return;
  policies_.controller->observe(sim_.now(), iteration_loads_);
  if (migrating_) return;
  if (auto next = policies_.controller->propose(sim_.now(), placement_)) {
    migrating_ = true;  // from now: the spawned migration starts after this process yields
    sim_.spawn(migrate(std::move(*next)));
  }
}

sim::Time ServingEngine::swap_time(const Batch& batch) const {
  sim::Time slowest = 0;
  const sim::FlowNetwork& network = topology_.network();
  // Under TP attention each GPU of a rank copies its shard of the rank's KV.
  const auto shards = static_cast<double>(model_.kv_shards(tp_));
  for (int g = 0; g < gpus_; ++g) {
    const std::int64_t bytes = batch.swap_bytes[static_cast<std::size_t>(g / tp_)];
    if (bytes == 0) continue;
    const auto& path = topology_.host_to_gpu(g);
    double bandwidth = std::numeric_limits<double>::infinity();
    for (const sim::LinkId l : path) bandwidth = std::min(bandwidth, network.link_bandwidth(l));
    const sim::Time t = topology_.transfer_startup(path) + network.path_latency(path) +
                        sim::from_seconds(static_cast<double>(bytes) / shards / bandwidth);
    slowest = std::max(slowest, t);
  }
  return slowest;
}

std::span<const TpStep> ServingEngine::tp_steps(bool moe_layer, bool after_experts) const {
  if (tp_collectives_ == nullptr) return {};
  return after_experts ? TpCollectives::after_experts() : TpCollectives::after_attention(config_.tp_collective, moe_layer);
}

bool ServingEngine::closed_form_iteration_possible() const {
  // Exact only when the iteration's collectives are alone on the network from start
  // to end: nothing in flight now, nobody else starting transfers (a migration or
  // a provisioner's loads), and one entity per collective. Traced runs take the
  // event path so that link counters appear as the network changes.
  return config_.closed_form_iterations && all_to_all_->closed_form() && policies_.provisioner == nullptr &&
         !migrating_ && trace_ == nullptr && topology_.network().idle();
}

sim::Process ServingEngine::run() {
  std::vector<sim::Time> stage(static_cast<std::size_t>(gpus_));
  std::vector<std::int64_t> per_expert(static_cast<std::size_t>(model_.experts));
  RoutingCounts routing;  // refilled every iteration, its storage kept
  RowSupport routed_rows;  // the experts each row of `routing` touched, where the source says
  ExpertProvisioner* const provisioner = policies_.provisioner;
  for (;;) {
    if (!scheduler_.busy()) {
      if (scheduler_.closed()) {
        if (provisioner != nullptr) provisioner->finish(sim_.now());
        if (on_finish_) on_finish_();
        co_return;
      }
      scheduler_.work().reset();
      co_await scheduler_.work().wait();
      continue;
    }
    Batch batch = scheduler_.form();
    if (batch.total() == 0) {
      if (config_.batching == ServingConfig::Batching::kContinuous) {
        throw std::logic_error("serving engine formed an empty batch with work pending");
      }
      co_await sim_.sleep(scheduler_.next_bucket() - sim_.now());  // the next bucket closes
      continue;
    }
    if (const sim::Time swap = swap_time(batch); swap > 0) co_await sim_.sleep(swap);
    metrics_.record_iteration(batch.total());
    if (tp_ == 1) {
      gpu_spans_ = scheduler_.spans(batch);
    } else {
      split_spans(scheduler_.spans(batch), tp_, gpu_spans_);
    }
    const bool listed = routing_.route_listed(gpu_spans_, routing, routed_rows);
    if (provisioner != nullptr) provisioner->begin_iteration(sim_.now(), routing);
    // In closed form the iteration's clock `now` runs ahead of the simulator's, which
    // catches up once at the end; otherwise every stage is waited for as it happens.
    const bool closed_form = closed_form_iteration_possible();
    attention_.prepare(batch);
    sim::Time now = sim_.now();
    int moe_layer = 0;
    for (int layer = 0; layer < model_.layers; ++layer) {
      const sim::Time attention = attention_.run(layer, now, closed_form, stage);
      if (closed_form) {
        now += attention;
      } else {
        co_await sim_.sleep(attention);
        now = sim_.now();
      }
      const bool moe = model_.is_moe_layer(layer);
      // Part 0: the TP groups' collectives after the non-expert work; part 1 (MoE
      // layers): the experts with their all-to-alls, then the TP all-gather.
      for (const bool experts_part : {false, true}) {
        if (experts_part) {
          if (!moe) break;
          const auto& counts = routing[static_cast<std::size_t>(moe_layer)];
          if (moe_layer == 0) metrics_.record_routing(batch.total(), 0, 0);
          const sim::Time gate = now;
          // The placement's owners hold only when it, not a provisioner, gives the copies.
          const auto l = static_cast<std::size_t>(moe_layer);
          const LayerHints hints{provisioner == nullptr && !single_owners_[l].empty() ? &single_owners_[l] : nullptr,
                                 listed ? &routed_rows : nullptr, l};
          experts_.assign(layer_copies(moe_layer, counts, per_expert), counts, per_expert, hints);
          std::copy(per_expert.begin(), per_expert.end(), iteration_loads_[static_cast<std::size_t>(moe_layer)].begin());
          for (const Direction direction : {Direction::kDispatch, Direction::kCombine}) {
            if (direction == Direction::kCombine) {
              if (provisioner != nullptr) {
                if (sim::Signal* ready = provisioner->pending()) co_await ready->wait();
              }
              // A closed-form iteration runs at one simulated instant, so the GPUs'
              // slowdowns checked at its first MoE layer still hold at the others.
              const sim::Time done = std::max(now, experts_.run(layer, now, !closed_form || moe_layer == 0, stage));
              if (closed_form) {
                now = done;
              } else {
                co_await sim_.sleep(done - sim_.now());
                now = sim_.now();
              }
              if (provisioner != nullptr) provisioner->release(moe_layer, experts_.copy_busy());
            }
            if (!all_to_all_->prepare(direction, experts_.pair_tokens())) continue;  // every row stayed local
            if (closed_form) {
              now = all_to_all_->run_alone(direction, now);
              continue;
            }
            if (const auto lead = all_to_all_->lead_time()) co_await sim_.sleep(*lead);
            Exchange exchange(sim_);
            all_to_all_->start(exchange);
            co_await exchange.done.wait();
            now = sim_.now();
          }
          metrics_.record_moe_layer(now - gate);
          ++moe_layer;
        }
        for (const TpStep step : tp_steps(moe, experts_part)) {
          if (!tp_collectives_->prepare(step, batch.tokens)) continue;
          if (closed_form) {
            now = tp_collectives_->run_alone(now);
            continue;
          }
          Exchange exchange(sim_);
          tp_collectives_->start(exchange);
          co_await exchange.done.wait();
          now = sim_.now();
        }
      }
    }
    if (closed_form) co_await sim_.sleep(now - sim_.now());
    scheduler_.complete(batch);
    offer_loads_to_controller();
  }
}

}  // namespace moesim::models
