#pragma once
// Subcommand plumbing shared by every `moesim <command>`: one table of commands,
// Boost.Program_options parsing with uniform --help, and one error convention:
// UsageError / InputError -> message naming the option, exit code 2.
#include <boost/program_options.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace moesim::sim {
class TraceWriter;
}

namespace moesim::cli {

namespace po = boost::program_options;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Parses args against `options` (plus --help). Returns false after printing the
// help text when --help was given; throws UsageError for unknown or malformed options.
class CommandParser {
 public:
  CommandParser(std::string command, std::string usage, std::string description);
  po::options_description_easy_init add_options() { return options_.add_options(); }
  // Accepts `count` positional values (-1: any number) under option `name`.
  void add_positional(const char* name, int count) { positional_.add(name, count); }
  bool parse(const std::vector<std::string>& args, po::variables_map& vm);
  std::string help() const;
  const std::string& command() const { return command_; }

 private:
  std::string command_;
  std::string usage_;
  std::string description_;
  po::options_description options_;
  po::positional_options_description positional_;
};

// Writes the trace (atomically) and says where, how many records and how many the
// --trace-limit dropped.
void write_trace_and_report(const std::string& path, const sim::TraceWriter& trace);

// "0.5,0.7,0.9" -> {0.5, 0.7, 0.9}; throws UsageError naming `option` on bad text.
std::vector<double> parse_number_list(const std::string& option, const std::string& text);
// "a,b,,c" -> {a, b, c}; throws UsageError "--<option> needs at least one <what>" when empty.
std::vector<std::string> parse_name_list(const std::string& option, const std::string& text, const std::string& what);

// --threads: 0 means one worker per core; negative values are a UsageError.
int worker_threads(int requested);

int run_validate(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_catalog(const std::vector<std::string>& args);
int run_calibrate(const std::vector<std::string>& args);
int run_compare(const std::vector<std::string>& args);
int run_policies(const std::vector<std::string>& args);
int run_settings(const std::vector<std::string>& args);
int run_offload(const std::vector<std::string>& args);
int run_place(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_plan(const std::vector<std::string>& args);
int run_regress(const std::vector<std::string>& args);
int run_sweep(const std::vector<std::string>& args);
int run_trace(const std::vector<std::string>& args);

}  // namespace moesim::cli
