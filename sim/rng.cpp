#include "sim/rng.h"

#include <cmath>
#include <stdexcept>

namespace moesim::sim {
namespace {

// Ziggurat tables for the standard exponential (Marsaglia & Tsang, "The Ziggurat
// Method for Generating Random Variables", JSS 5(8), 2000; 256 layers). Unlike the
// paper's 32-bit version, the layer index and the abscissa come from disjoint bits
// of one 64-bit draw (low 8 bits, high 53 bits), which removes the known
// correlation between them.
struct ExponentialZiggurat {
  static constexpr double kScale = 9007199254740992.0;  // 2^53
  static constexpr double kTailStart = 7.697117470131487;
  std::uint64_t k[256];
  double w[256];
  double f[256];
  ExponentialZiggurat() {
    double de = kTailStart;
    double te = de;
    const double ve = 3.949659822581572e-3;
    const double q = ve / std::exp(-de);
    k[0] = static_cast<std::uint64_t>((de / q) * kScale);
    k[1] = 0;
    w[0] = q / kScale;
    w[255] = de / kScale;
    f[0] = 1.0;
    f[255] = std::exp(-de);
    for (int i = 254; i >= 1; --i) {
      de = -std::log(ve / de + std::exp(-de));
      k[i + 1] = static_cast<std::uint64_t>((de / te) * kScale);
      te = de;
      f[i] = std::exp(-de);
      w[i] = de / kScale;
    }
  }
};

// Built during static initialisation (no guard on the sampling path). Sampling
// before main() from another translation unit's static initialiser is not supported.
const ExponentialZiggurat kExponentialZiggurat;


}  // namespace

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a64(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t sm = seed;
  for (auto& word : s_) word = splitmix64(sm);
}

double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

void Rng::throw_empty_range() { throw std::invalid_argument("uniform_int needs n > 0"); }

bool Rng::bernoulli(double p) { return uniform01() < p; }

double Rng::exponential(double rate) {
  if (!(rate > 0.0)) throw std::invalid_argument("exponential rate must be > 0");
  return standard_exponential() / rate;
}

double Rng::standard_exponential() {
  const ExponentialZiggurat& z = kExponentialZiggurat;
  for (;;) {
    const std::uint64_t u = next_u64();
    const auto layer = static_cast<std::size_t>(u & 0xff);
    const std::uint64_t j = u >> 11;
    const double x = static_cast<double>(j) * z.w[layer];
    if (j < z.k[layer]) return x;  // inside the layer's rectangle: ~98.9% of draws
    if (layer == 0) return ExponentialZiggurat::kTailStart - std::log1p(-uniform01());  // memoryless tail
    if (z.f[layer] + uniform01() * (z.f[layer - 1] - z.f[layer]) < std::exp(-x)) return x;
  }
}

double Rng::normal(double mean, double stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_normal_;
  }
  // Marsaglia's polar method.
  double u = 0.0;
  double v = 0.0;
  double s = 0.0;
  do {
    u = 2.0 * uniform01() - 1.0;
    v = 2.0 * uniform01() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * f;
  has_spare_ = true;
  return mean + stddev * u * f;
}

double Rng::lognormal(double mu, double sigma) { return std::exp(normal(mu, sigma)); }

double Rng::gamma(double shape, double scale) {
  if (!(shape > 0.0 && scale > 0.0)) throw std::invalid_argument("gamma shape and scale must be > 0");
  if (shape < 1.0) {
    // Boost to shape + 1 and scale back (Marsaglia & Tsang, 2000, note 6).
    const double u = uniform01();
    return gamma(shape + 1.0, scale) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0.0;
    double v = 0.0;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform01();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * scale;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * scale;
  }
}

double Rng::pareto(double scale, double shape) {
  if (!(scale > 0.0 && shape > 0.0)) throw std::invalid_argument("pareto scale and shape must be > 0");
  return scale / std::pow(1.0 - uniform01(), 1.0 / shape);
}

Rng RngStreams::stream(std::string_view name) const {
  std::uint64_t state = seed_ ^ fnv1a64(name);
  return Rng(splitmix64(state));
}

Rng RngStreams::stream(std::string_view name, std::uint64_t index) const {
  std::uint64_t state = seed_ ^ fnv1a64(name);
  state = splitmix64(state) ^ (index * 0xd1b54a32d192ed03ULL);
  return Rng(splitmix64(state));
}

}  // namespace moesim::sim
