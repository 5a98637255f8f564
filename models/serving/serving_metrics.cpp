#include "models/serving/serving_metrics.h"

namespace moesim::models {

void ServingMetrics::record_request(const Request& r, int gpu) {
  RequestRecord rec{r.id, gpu, r.arrival, r.input_tokens, r.output_tokens, r.first_token, r.last_token};
  ttft_.add(rec.ttft_s());
  if (r.output_tokens > 1) tpot_.add(rec.tpot_s());
  e2e_.add(rec.e2e_s());
  if (rec.meets(slo_)) ++met_slo_;
  output_tokens_ += r.output_tokens;
  if (r.last_token > last_completion_) last_completion_ = r.last_token;
  records_.push_back(rec);
}

void ServingMetrics::record_dropped(const Request& r, const std::string& reason) { dropped_.emplace_back(r.id, reason); }

double ServingMetrics::slo_attainment() const {
  const std::size_t all = records_.size() + dropped_.size();
  return all == 0 ? 0.0 : static_cast<double>(met_slo_) / static_cast<double>(all);
}

}  // namespace moesim::models
