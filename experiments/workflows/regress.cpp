#include "experiments/workflows/regress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "util/text_table.h"
#include "experiments/run/run_metrics.h"
#include "experiments/workflows/parallel.h"
#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::workflows {

Better better_direction(const std::string& metric) {
  return metric == "slo_attainment" || metric == "throughput_tokens_per_s" ? Better::kHigher : Better::kLower;
}

const Tolerance& RegressSuite::tolerance(const std::string& metric) const {
  const auto it = tolerances.find(metric);
  return it != tolerances.end() ? it->second : tolerances.at("default");
}

namespace {

Tolerance parse_tolerance(const JsonInput& json) {
  Tolerance t;
  if (const auto r = json.find("relative")) t.relative = r->non_negative_number();
  if (const auto a = json.find("absolute")) t.absolute = a->non_negative_number();
  return t;
}

void check_metric_name(const JsonInput& where, const std::string& name) {
  if (const std::string unknown = run::unknown_metric(name); !unknown.empty()) where.fail(unknown);
}

std::string run_key(const std::string& case_name, const std::string& policy) { return case_name + "/" + policy; }

}  // namespace

RegressSuite load_regress_suite(const std::string& path) {
  const JsonInput json = JsonInput::load_file(path);
  RegressSuite suite;
  suite.source = path;
  suite.baseline_path = json.at("baseline").path_relative_to_source();
  for (const auto& m : json.at("metrics").items()) {
    check_metric_name(m, m.string());
    suite.metrics.push_back(m.string());
  }
  json.at("metrics").check(!suite.metrics.empty(), "a non-empty list of metric names");
  suite.tolerances["default"] = Tolerance{0.0, 1e-9};
  if (const auto tolerances = json.find("tolerances")) {
    for (const auto& [metric, t] : tolerances->members()) {
      if (metric != "default") check_metric_name(t, metric);
      suite.tolerances[metric] = parse_tolerance(t);
    }
  }
  for (const auto& c : json.at("cases").items()) {
    RegressCase rc;
    rc.name = c.at("name").string();
    c.at("name").check(rc.name.find('/') == std::string::npos && !rc.name.empty(), "a non-empty name without '/'");
    for (const auto& other : suite.cases) {
      if (other.name == rc.name) c.at("name").fail(fmt::format("case name '{}' is used twice", rc.name));
    }
    rc.scenario = load_scenario_document(c.at("scenario").path_relative_to_source());
    if (const auto overrides = c.find("overrides")) {
      for (const auto& [p, v] : overrides->members()) {
        check_override_path(rc.scenario, p, v);
        rc.overrides.values.emplace_back(p, v.raw());
      }
    }
    if (const auto seed = c.find("seed")) rc.overrides.seed = static_cast<std::uint64_t>(seed->integer_at_least(0));
    for (const auto& p : c.at("policies").items()) rc.policies.push_back(p.string());
    c.at("policies").check(!rc.policies.empty(), "a non-empty list of placement policies");
    for (const auto& policy : rc.policies) {
      Overrides o = rc.overrides;
      o.policy = policy;
      try {
        make_variant(rc.scenario, o);
      } catch (const InputError& e) {
        c.fail(fmt::format("case '{}', policy '{}': {}", rc.name, policy, e.what()));
      }
    }
    suite.cases.push_back(std::move(rc));
  }
  json.at("cases").check(!suite.cases.empty(), "a non-empty list of cases");
  return suite;
}

RegressValues run_regress_suite(const RegressSuite& suite, int threads) {
  std::vector<std::pair<const RegressCase*, std::string>> runs;
  for (const auto& c : suite.cases) {
    for (const auto& p : c.policies) runs.emplace_back(&c, p);
  }
  RegressValues values;
  std::mutex mutex;
  parallel_for(runs.size(), threads, [&](std::size_t i) {
    Overrides o = runs[i].first->overrides;
    o.policy = runs[i].second;
    const auto columns = run::metric_columns(run::run_scenario(make_variant(runs[i].first->scenario, o)));
    std::map<std::string, double> metrics;
    for (const auto& m : suite.metrics) metrics[m] = run::metric_value(columns, m);
    const std::lock_guard lock(mutex);
    values[run_key(runs[i].first->name, runs[i].second)] = std::move(metrics);
  });
  return values;
}

RegressValues load_baseline(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw InputError(fmt::format("{}: baseline file missing (create it with `moesim regress <suite> --update-baseline`)", path));
  }
  const JsonInput json = [&] {
    try {
      return JsonInput::load_file(path);
    } catch (const InputError& e) {
      throw InputError(fmt::format("corrupt baseline ({}); regenerate it with --update-baseline", e.what()));
    }
  }();
  RegressValues values;
  for (const auto& [run, metrics] : json.at("runs").members()) {
    for (const auto& [metric, value] : metrics.members()) values[run][metric] = value.number();
  }
  return values;
}

std::string baseline_json(const RegressValues& values) {
  nlohmann::ordered_json runs = nlohmann::ordered_json::object();
  for (const auto& [run, metrics] : values) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [metric, value] : metrics) m[metric] = value;
    runs[run] = m;
  }
  nlohmann::ordered_json j{{"comment", "moesim regress baseline: rewrite with `moesim regress <suite> --update-baseline`"},
                           {"runs", runs}};
  return j.dump(2) + "\n";
}

std::vector<MetricCheck> compare_to_baseline(const RegressSuite& suite, const RegressValues& baseline,
                                             const RegressValues& now) {
  std::vector<MetricCheck> checks;
  for (const auto& [run, metrics] : now) {
    const auto base_run = baseline.find(run);
    for (const auto& [metric, value] : metrics) {
      MetricCheck c{run, metric, 0.0, value, suite.tolerance(metric), Verdict::kMissing};
      if (base_run != baseline.end()) {
        if (const auto b = base_run->second.find(metric); b != base_run->second.end()) {
          c.baseline = b->second;
          const double change = value - c.baseline;
          const double allowed = c.tolerance.absolute + c.tolerance.relative * std::abs(c.baseline);
          const bool worse = better_direction(metric) == Better::kLower ? change > 0 : change < 0;
          if (change == 0.0) {
            c.verdict = Verdict::kSame;
          } else if (std::abs(change) <= allowed) {
            c.verdict = Verdict::kWithin;
          } else {
            c.verdict = worse ? Verdict::kRegressed : Verdict::kImproved;
          }
        }
      }
      checks.push_back(c);
    }
  }
  return checks;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kSame: return "same";
    case Verdict::kWithin: return "within tolerance";
    case Verdict::kImproved: return "IMPROVED";
    case Verdict::kRegressed: return "REGRESSED";
    case Verdict::kMissing: return "NO BASELINE";
  }
  return "?";
}

namespace {

std::string change_text(const MetricCheck& c) {
  if (c.verdict == Verdict::kMissing) return "-";
  if (c.baseline == 0.0) return fmt::format("{:+.4g}", c.now - c.baseline);
  return fmt::format("{:+.2f}%", 100.0 * (c.now - c.baseline) / std::abs(c.baseline));
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

bool fails(const MetricCheck& c) { return c.verdict == Verdict::kRegressed || c.verdict == Verdict::kMissing; }

}  // namespace

std::string format_checks(const std::vector<MetricCheck>& checks) {
  util::TextTable t({"run", "metric", "baseline", "now", "change", "tolerance", "verdict"});
  std::map<Verdict, int> counts;
  for (const auto& c : checks) {
    ++counts[c.verdict];
    if (c.verdict == Verdict::kSame) continue;
    t.add_row({c.run, c.metric, c.verdict == Verdict::kMissing ? "-" : fmt::format("{:.6g}", c.baseline),
               fmt::format("{:.6g}", c.now), change_text(c),
               fmt::format("±{:g}% +{:g}", 100 * c.tolerance.relative, c.tolerance.absolute), verdict_name(c.verdict)});
  }
  std::string out = counts[Verdict::kSame] == static_cast<int>(checks.size()) ? "" : t.render() + "\n";
  return out + fmt::format("{} checks: {} same, {} within tolerance, {} improved, {} regressed, {} without baseline\n",
                           checks.size(), counts[Verdict::kSame], counts[Verdict::kWithin], counts[Verdict::kImproved],
                           counts[Verdict::kRegressed], counts[Verdict::kMissing]);
}

std::string junit_xml(const std::vector<MetricCheck>& checks, double seconds) {
  // case -> policy -> checks
  std::map<std::string, std::map<std::string, std::vector<const MetricCheck*>>> tree;
  for (const auto& c : checks) {
    const auto slash = c.run.find('/');
    tree[c.run.substr(0, slash)][c.run.substr(slash + 1)].push_back(&c);
  }
  std::size_t failures_total = 0;
  std::string suites;
  for (const auto& [case_name, policies] : tree) {
    std::size_t failures = 0;
    std::string cases;
    for (const auto& [policy, list] : policies) {
      std::string failure_text;
      for (const MetricCheck* c : list) {
        if (!fails(*c)) continue;
        failure_text += fmt::format("{}: baseline {:.6g}, now {:.6g} ({}), tolerance ±{:g}% +{:g}: {}\n", c->metric,
                                    c->baseline, c->now, change_text(*c), 100 * c->tolerance.relative,
                                    c->tolerance.absolute, verdict_name(c->verdict));
      }
      cases += fmt::format("    <testcase classname=\"moesim.regress.{}\" name=\"{}\">\n", xml_escape(case_name), xml_escape(policy));
      if (!failure_text.empty()) {
        ++failures;
        cases += fmt::format("      <failure message=\"placement quality regressed\">{}</failure>\n", xml_escape(failure_text));
      }
      cases += "    </testcase>\n";
    }
    failures_total += failures;
    suites += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n{}  </testsuite>\n", xml_escape(case_name),
                          policies.size(), failures, cases);
  }
  std::size_t tests = 0;
  for (const auto& [case_name, policies] : tree) tests += policies.size();
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"moesim regress\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n{}</testsuites>\n",
                     tests, failures_total, seconds, suites);
}

}  // namespace moesim::workflows
