#ifndef PRESENCE_CLIENT_CHART_H_
#define PRESENCE_CLIENT_CHART_H_

// `presencectl chart`: the timeline drawn as a self-contained SVG (no
// fonts, scripts or anything fetched), the way an analyst would sketch it.
// One lane per organization, grouped under its parent; a bar from
// establishment to end, each bound drawn as the interval of days it denotes
// (a bar fades in over an establishment known to the year, out over an end
// known to the month; "c." marks an approximate one) and a bound that is not
// recorded hatched from the edge of the chart to the first (or last) dated
// fact about the organization; events as markers (a day), brackets (a
// month, a year, part of one) or spans (periods), numbered and listed below,
// with titles and dates on hover; figures as labels at their dates; with a
// date, a line across the chart and the organizations present then
// highlighted. Every fact comes from the input. Pure functions, no gRPC.

#include <optional>
#include <string>
#include <vector>

#include "presence/registry/v1/registry.pb.h"
#include "presence/timeline/v1/timeline.pb.h"

namespace presence::cli {

struct ChartInput {
  // Shown at the top; empty: "Who was present, <first year>–<last year>".
  std::string title;
  // The lanes, in any order (the chart groups them under their parents).
  std::vector<registry::v1::Organization> lanes;
  // Every organization the lanes name as parent (for group headings).
  std::vector<registry::v1::Organization> parents;
  // Events naming the lanes; each is drawn on every lane it names.
  std::vector<timeline::v1::Event> events;
  // The window; unset: from the data, widened to whole years.
  std::optional<type::v1::PartialDate> since, until;
  // --at and GetPresence's answer for it.
  std::optional<type::v1::PartialDate> at;
  std::optional<timeline::v1::Presence> presence;
};

// The chart as an SVG document. Elements tests and styles can find:
//   g.lane[data-organization]      one per lane, with rect.bar (the recorded
//                                  or documented lifespan) and rect.unknown
//                                  (hatched: a bound not recorded)
//   g.event[data-event]            one per event and lane, with a <title>
//   g.figure                       one per date of figures on a lane
//   line.at, g.lane.present        the --at date and the lanes present then
// REQUIRES: every date in `input` is valid (ValidatePartialDate).
std::string ChartSvg(const ChartInput& input);

// An HTML page with the same SVG inline and a legend of its symbols.
std::string ChartHtml(const ChartInput& input);

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_CHART_H_
