#include "experiments/workflows/sweep.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "util/text_table.h"
#include "experiments/run/run_metrics.h"
#include "experiments/workflows/parallel.h"
#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::workflows {

namespace {

template <class Json>
Json axis_json(const SweepAxis& a, bool zipped) {
  Json j{{"path", a.path}, {"values", a.values}};
  if (zipped) j["zip"] = true;
  return j;
}

constexpr double kMaxSweepPoints = 1e6;

// Reads {path: [values]} members as axes: each its own group, or, for a zip, all
// in one group with lists of one length.
void read_axes(SweepSpec& spec, const JsonInput& object, bool zip) {
  const auto members = object.members();
  object.check(!members.empty(), "an object of JSON path -> list of values, with at least one path");
  std::size_t group = spec.axes.empty() ? 0 : spec.axes.back().group + 1;
  std::size_t first = spec.axes.size();  // the zip's first axis, once read
  for (const auto& [axis_path, values] : members) {
    SweepAxis axis{axis_path, {}, group};
    if (!zip) ++group;
    for (const auto& v : values.items()) axis.values.push_back(v.raw());
    values.check(!axis.values.empty(), "a non-empty list of values");
    if (zip && first < spec.axes.size()) {
      const SweepAxis& lead = spec.axes[first];
      values.check(axis.values.size() == lead.values.size(),
                   fmt::format("{} values, as many as '{}' (zipped lists move in step)", lead.values.size(), lead.path));
    }
    check_override_path(spec.scenario, axis_path, values);
    spec.axes.push_back(std::move(axis));
  }
}

}  // namespace

nlohmann::json SweepSpec::identity() const {
  nlohmann::json axes_json = nlohmann::json::array();
  for (const auto& a : axes) axes_json.push_back(axis_json<nlohmann::json>(a, is_zipped(a)));
  return {{"scenario", scenario.json}, {"grid", axes_json}, {"policies", policies}, {"seeds", seeds}};
}

SweepSpec load_sweep_spec(const std::string& path) {
  const JsonInput json = JsonInput::load_file(path);
  SweepSpec spec;
  spec.source = path;
  spec.scenario = load_scenario_document(json.at("scenario").path_relative_to_source());
  const auto grid = json.find("grid");
  const auto zip = json.find("zip");
  json.check(grid || zip, "a \"grid\" or a \"zip\" object of JSON path -> list of values");
  if (grid) read_axes(spec, *grid, false);
  if (zip) read_axes(spec, *zip, true);
  if (const auto policies = json.find("policies")) {
    for (const auto& p : policies->items()) spec.policies.push_back(p.string());
    policies->check(!spec.policies.empty(), "a non-empty list of placement policies");
  }
  if (const auto seeds = json.find("seeds")) {
    for (const auto& s : seeds->items()) spec.seeds.push_back(static_cast<std::uint64_t>(s.integer_at_least(0)));
    seeds->check(!spec.seeds.empty(), "a non-empty list of seeds");
  }
  // The points are listed in memory before any runs: a grid of many long axes is
  // refused here, with its size, rather than allocated until memory runs out.
  double points = static_cast<double>(std::max<std::size_t>(1, spec.policies.size())) *
                  static_cast<double>(std::max<std::size_t>(1, spec.seeds.size()));
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    if (a == 0 || spec.axes[a].group != spec.axes[a - 1].group) points *= static_cast<double>(spec.axes[a].values.size());
  }
  if (points > kMaxSweepPoints) {
    json.fail(fmt::format("the sweep has {:.3g} points (grid × policies × seeds); at most {:.0f} accepted "
                          "(docs/limits.md)",
                          points, kMaxSweepPoints));
  }
  return spec;
}

std::vector<SweepPoint> sweep_points(const SweepSpec& spec) {
  const std::vector<std::string> policies = spec.policies.empty() ? std::vector<std::string>{""} : spec.policies;
  std::vector<std::optional<std::uint64_t>> seeds;
  for (const auto s : spec.seeds) seeds.emplace_back(s);
  if (seeds.empty()) seeds.emplace_back(std::nullopt);
  // Odometer over the axis groups, last group fastest; then policies, then seeds innermost.
  const std::size_t groups = spec.axes.empty() ? 0 : spec.axes.back().group + 1;
  std::vector<std::size_t> digit(groups, 0), radix(groups, 0);
  for (const auto& a : spec.axes) radix[a.group] = a.values.size();
  std::vector<SweepPoint> points;
  for (;;) {
    for (const auto& policy : policies) {
      for (const auto& seed : seeds) {
        SweepPoint p;
        p.index = points.size();
        for (std::size_t a = 0; a < spec.axes.size(); ++a) {
          p.overrides.values.emplace_back(spec.axes[a].path, spec.axes[a].values[digit[spec.axes[a].group]]);
        }
        p.overrides.policy = policy;
        p.overrides.seed = seed;
        nlohmann::json key{{"values", nlohmann::json::array()}, {"policy", policy}, {"seed", seed ? nlohmann::json(*seed) : nullptr}};
        for (const auto& [path, value] : p.overrides.values) key["values"].push_back({path, value});
        p.key = key.dump();
        points.push_back(std::move(p));
      }
    }
    std::size_t g = groups;
    while (g > 0 && ++digit[g - 1] == radix[g - 1]) digit[--g] = 0;
    if (g == 0) break;
  }
  return points;
}

namespace {

std::string describe(const SweepPoint& point) {
  std::vector<std::string> parts;
  for (const auto& [path, value] : point.overrides.values) parts.push_back(fmt::format("{}={}", path, value.dump()));
  if (!point.overrides.policy.empty()) parts.push_back("policy=" + point.overrides.policy);
  if (point.overrides.seed) parts.push_back(fmt::format("seed={}", *point.overrides.seed));
  return fmt::format("point {} ({})", point.index, fmt::join(parts, ", "));
}

}  // namespace

void check_points(const SweepSpec& spec, const std::vector<SweepPoint>& points) {
  for (const auto& p : points) {
    try {
      make_variant(spec.scenario, p.overrides);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: {}: {}", spec.source, describe(p), e.what()));
    }
  }
}

nlohmann::ordered_json run_point(const SweepSpec& spec, const SweepPoint& point) {
  nlohmann::ordered_json out{{"index", point.index}, {"key", point.key}};
  nlohmann::ordered_json parameters = nlohmann::ordered_json::object();
  for (const auto& [path, value] : point.overrides.values) parameters[path] = value;
  out["parameters"] = parameters;
  const run::Scenario s = make_variant(spec.scenario, point.overrides);
  // The policy as the sweep names it, parameters included ("eplb:redundant_per_gpu=0"),
  // so that two variants of one policy stay apart in the table and CSV.
  out["policy"] = point.overrides.policy.empty() ? s.placement : point.overrides.policy;
  out["seed"] = s.seed;
  try {
    const run::RunResult r = run::run_scenario(s);
    nlohmann::ordered_json metrics;
    for (const auto& [name, value] : run::metric_columns(r)) metrics[name] = value;
    out["metrics"] = metrics;
  } catch (const InputError& e) {
    // A variant the models reject (it does not fit in memory, ...) is a result of the sweep.
    out["error"] = e.what();
  }
  return out;
}

void run_points(const SweepSpec& spec, const std::vector<SweepPoint>& points, int threads,
                const std::function<void(const nlohmann::ordered_json&)>& on_done) {
  std::mutex done_mutex;
  parallel_for(points.size(), threads, [&](std::size_t i) {
    const auto result = run_point(spec, points[i]);
    const std::lock_guard lock(done_mutex);
    on_done(result);
  });
}

namespace {

std::vector<nlohmann::ordered_json> sorted(std::vector<nlohmann::ordered_json> results) {
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return a["index"].template get<std::size_t>() < b["index"].template get<std::size_t>(); });
  return results;
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string value_text(const nlohmann::ordered_json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::string sweep_json(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results) {
  nlohmann::ordered_json j;
  j["sweep"] = spec.source;
  j["scenario"] = spec.scenario.path;
  j["grid"] = nlohmann::ordered_json::array();
  for (const auto& a : spec.axes) j["grid"].push_back(axis_json<nlohmann::ordered_json>(a, spec.is_zipped(a)));
  j["points"] = nlohmann::ordered_json::array();
  for (auto r : sorted(results)) {
    r.erase("key");
    j["points"].push_back(std::move(r));
  }
  return j.dump(2) + "\n";
}

std::string sweep_csv(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results) {
  const std::vector<std::string> metrics = run::metric_names();
  std::vector<std::string> header{"index"};
  for (const auto& a : spec.axes) header.push_back(csv_cell(a.path));
  header.insert(header.end(), {"policy", "seed", "error"});
  header.insert(header.end(), metrics.begin(), metrics.end());
  std::string out = fmt::format("{}\n", fmt::join(header, ","));
  for (const auto& r : sorted(results)) {
    std::vector<std::string> row{fmt::format("{}", r["index"].get<std::size_t>())};
    for (const auto& a : spec.axes) row.push_back(csv_cell(value_text(r["parameters"][a.path])));
    row.push_back(csv_cell(r["policy"].get<std::string>()));
    row.push_back(fmt::format("{}", r["seed"].get<std::uint64_t>()));
    row.push_back(r.contains("error") ? csv_cell(r["error"].get<std::string>()) : "");
    for (const auto& m : metrics) row.push_back(r.contains("metrics") ? fmt::format("{}", r["metrics"][m].get<double>()) : "");
    out += fmt::format("{}\n", fmt::join(row, ","));
  }
  return out;
}

std::string sweep_table(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results,
                        const std::vector<std::string>& metrics) {
  std::vector<std::string> header{"#"};
  for (const auto& a : spec.axes) header.push_back(a.path);
  header.insert(header.end(), {"policy", "seed"});
  header.insert(header.end(), metrics.begin(), metrics.end());
  util::TextTable t(header);
  for (const auto& r : sorted(results)) {
    std::vector<std::string> row{fmt::format("{}", r["index"].get<std::size_t>())};
    for (const auto& a : spec.axes) row.push_back(value_text(r["parameters"][a.path]));
    row.push_back(r["policy"].get<std::string>());
    row.push_back(fmt::format("{}", r["seed"].get<std::uint64_t>()));
    for (const auto& m : metrics) {
      row.push_back(r.contains("metrics") ? fmt::format("{:.4g}", r["metrics"][m].get<double>()) : "error");
    }
    t.add_row(std::move(row));
  }
  return t.render();
}

}  // namespace moesim::workflows
