#pragma once
// Opening user input files safely: a directory is named as such (not reported later
// as "truncated" or "unexpected end of input"), and whole-file reads stop at a
// stated size, so a device without end (/dev/zero) or a huge file is refused
// instead of read until memory runs out (docs/limits.md).
#include <cstddef>
#include <string>

namespace moesim::util {

// Throws InputError("<path>: is a directory, expected a file") for a directory.
void require_not_directory(const std::string& path);

// The whole file, at most `max_bytes`; InputError if it cannot be opened, is a
// directory or holds more (`what` names the kind of input in the message).
std::string read_input_file(const std::string& path, std::size_t max_bytes, const char* what);

}  // namespace moesim::util
