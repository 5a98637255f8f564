#pragma once
// PNG figures from moesim's JSON outputs, drawn by the embedded matplotlib script
// experiments/plots/moesim_plot.py run with /usr/bin/python3 (Debian's
// python3-matplotlib; the first python3 on PATH may be another interpreter).
#include <string>

namespace moesim::report {

// Renders `kind` (see moesim_plot.py) from the JSON text into `png_path`
// atomically. Throws std::runtime_error saying what to install if it cannot.
void render_plot(const std::string& kind, const std::string& json_text, const std::string& png_path);

}  // namespace moesim::report
