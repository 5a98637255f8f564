#include "policies/offload/activation_matching.h"

#include <cmath>
#include <stdexcept>

namespace moesim::policies {

TraceCollection::TraceCollection(int capacity, int layers, int experts)
    : capacity_(capacity), layers_(layers), experts_(experts) {
  if (capacity < 1) throw std::logic_error("trace collection capacity must be at least 1");
}

void TraceCollection::add(const ActivationMatrix& eam) {
  if (eam.layers != layers_ || eam.experts != experts_) throw std::logic_error("EAM shape differs from the collection's");
  if (static_cast<int>(traces_.size()) < capacity_) {
    traces_.emplace_back();
    access_.push_back(0);
    unit_.emplace_back();
    store(traces_.size() - 1, eam);
    return;
  }
  std::size_t victim = 0;
  for (std::size_t c = 1; c < access_.size(); ++c) {
    if (access_[c] < access_[victim]) victim = c;
  }
  store(victim, eam);
}

void TraceCollection::store(std::size_t c, const ActivationMatrix& eam) {
  traces_[c] = eam;
  access_[c] = 1;
  std::vector<double>& unit = unit_[c];
  unit = eam.counts;
  for (int l = 0; l < layers_; ++l) {
    double sq = 0.0;
    for (int e = 0; e < experts_; ++e) sq += eam.at(l, e) * eam.at(l, e);
    const double norm = std::sqrt(sq);
    for (int e = 0; e < experts_; ++e) {
      unit[static_cast<std::size_t>(l * experts_ + e)] = norm > 0.0 ? eam.at(l, e) / norm : 0.0;
    }
  }
}

std::span<const double> TraceCollection::unit_row(std::size_t c, int layer) const {
  return {unit_[c].data() + static_cast<std::ptrdiff_t>(layer) * experts_, static_cast<std::size_t>(experts_)};
}

ActivationMatcher::ActivationMatcher(const TraceCollection& collection)
    : collection_(collection), eam_(collection.layers(), collection.experts()) {
  reset();
}

void ActivationMatcher::reset() {
  eam_ = ActivationMatrix(collection_.layers(), collection_.experts());
  dot_.assign(collection_.size() * static_cast<std::size_t>(collection_.layers()), 0.0);
  norm_.assign(static_cast<std::size_t>(collection_.layers()), 0.0);
}

void ActivationMatcher::add(int layer, std::span<const std::int64_t> counts) {
  const auto L = static_cast<std::size_t>(collection_.layers());
  double sq = 0.0;
  for (int e = 0; e < eam_.experts; ++e) {
    const auto n = static_cast<double>(counts[static_cast<std::size_t>(e)]);
    eam_.at(layer, e) += n;
    sq += eam_.at(layer, e) * eam_.at(layer, e);
    if (n == 0.0) continue;
    for (std::size_t c = 0; c < collection_.size(); ++c) {
      dot_[c * L + static_cast<std::size_t>(layer)] += n * collection_.unit_row(c, layer)[static_cast<std::size_t>(e)];
    }
  }
  norm_[static_cast<std::size_t>(layer)] = std::sqrt(sq);
}

double ActivationMatcher::cosine(std::size_t c, int layer) const {
  const double norm = norm_[static_cast<std::size_t>(layer)];
  if (norm == 0.0) return 0.0;  // an empty trace row has dot 0 as well
  return dot_[c * static_cast<std::size_t>(collection_.layers()) + static_cast<std::size_t>(layer)] / norm;
}

double ActivationMatcher::masked_similarity(int layer) const {
  // cosine(row, uniform) = Σ row / (√E · |row|)
  const double uniform_norm = std::sqrt(static_cast<double>(eam_.experts));
  double sum = 0.0;
  for (int i = 0; i <= layer; ++i) {
    const double norm = norm_[static_cast<std::size_t>(i)];
    if (norm == 0.0) continue;
    double row_sum = 0.0;
    for (const double v : eam_.row(i)) row_sum += v;
    sum += row_sum / (uniform_norm * norm);
  }
  return sum;
}

double ActivationMatcher::distance(std::size_t c, int layer, MatchMode mode) const {
  return distance_given(c, layer, mode, mode == MatchMode::kCodeFaithful ? masked_similarity(layer) : 0.0);
}

double ActivationMatcher::distance_given(std::size_t c, int layer, MatchMode mode, double masked) const {
  const int L = collection_.layers();
  if (mode == MatchMode::kPaper) {
    double sum = 0.0;
    for (int i = 0; i <= layer; ++i) sum += cosine(c, i);
    return 1.0 - sum / static_cast<double>(layer + 1);
  }
  // Code-faithful: executed layers compare against a masked (uniform) trace row.
  double sum = masked;
  for (int i = layer + 1; i < L; ++i) sum += cosine(c, i);
  return 1.0 - sum / static_cast<double>(L);
}

int ActivationMatcher::best(int layer, MatchMode mode) const {
  int best = -1;
  double best_distance = 0.0;
  const double masked = mode == MatchMode::kCodeFaithful ? masked_similarity(layer) : 0.0;
  for (std::size_t c = 0; c < collection_.size(); ++c) {
    const double d = distance_given(c, layer, mode, masked);
    if (best < 0 || d < best_distance) {
      best = static_cast<int>(c);
      best_distance = d;
    }
  }
  return best;
}

}  // namespace moesim::policies
