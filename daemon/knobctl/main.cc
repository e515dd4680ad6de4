// SPDX-License-Identifier: Apache-2.0
// knobctl: operator CLI for knobd. Everything lives in knobctl.cc (tested in-process).
#include <iostream>

#include "daemon/knobctl/knobctl.h"
#include "optimizers/analyze.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  knob::KnobctlEnv env;
  env.analyze = [](const std::vector<std::string>& a, std::ostream& out, std::ostream& err) {
    return knob::RunAnalyze(a, out, err);
  };
  return knob::RunKnobctl(args, std::cout, std::cerr, env);
}
