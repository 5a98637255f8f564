# Writes a C++ source returning the text of a script, so the moesim binary can run
# its plots without knowing where the source tree is.
# Usage: moesim_embed_script(<output.cpp> <script> <function name>)
function(moesim_embed_script output script function)
  file(READ "${script}" text)
  set(body "// Generated from ${script} by experiments/plots/embed_script.cmake; do not edit.\n")
  string(APPEND body "namespace moesim::report {\nconst char* ${function}() {\n  return R\"moesim_py(${text})moesim_py\";\n}\n}  // namespace moesim::report\n")
  file(WRITE "${output}.new" "${body}")
  file(COPY_FILE "${output}.new" "${output}" ONLY_IF_DIFFERENT)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${script}")
endfunction()
