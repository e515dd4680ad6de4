// SPDX-License-Identifier: Apache-2.0
// knobctl: operator CLI for knobd. Everything lives in knobctl.cc (tested in-process); analyze
// is plugged in here so the in-process library does not link the models.
#include <iostream>

#include "daemon/knobctl/analyze_cli.h"
#include "daemon/knobctl/knobctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  knob::KnobctlEnv env;
  env.analyze = [](const knob::AnalyzeRequest& a, std::ostream& out, std::ostream& err) {
    return knob::ctl::RunAnalyzeCli(a, out, err);
  };
  return knob::RunKnobctl(args, std::cout, std::cerr, env);
}
