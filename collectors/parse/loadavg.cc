#include "collectors/parse/loadavg.h"

#include "collectors/parse/text.h"

namespace knob::parse {

Result<LoadAvg> ParseLoadAvg(std::string_view text) {
  LoadAvg l;
  if (!ToDouble(NextToken(text), l.load1) || !ToDouble(NextToken(text), l.load5) ||
      !ToDouble(NextToken(text), l.load15)) {
    return InvalidArgumentError("loadavg: bad load");
  }
  std::string_view tasks = NextToken(text);
  size_t slash = tasks.find('/');
  if (slash == std::string_view::npos || !ToU64(tasks.substr(0, slash), l.runnable) ||
      !ToU64(tasks.substr(slash + 1), l.total)) {
    return InvalidArgumentError("loadavg: bad runnable/total");
  }
  return l;
}

}  // namespace knob::parse
