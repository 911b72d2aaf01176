#include "client/chart.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "client/format.h"
#include "services/common/partial_date.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using ::presence::type::v1::PartialDate;

// Geometry, in SVG user units (pixels at 100%). 960 wide: at A4 width the
// 11-unit text prints at about 8 pt.
constexpr double kWidth = 960;
constexpr double kPlotLeft = 222;
constexpr double kPlotRight = 936;
constexpr double kTitleHeight = 62;
constexpr double kGroupHeight = 26;
// A lane, from its top: event numbers and titles (baseline 13), event
// markers (centred on 22), the bar (29 to 44), figures (baseline 57).
constexpr double kLaneHeight = 64;
constexpr double kLabelRow = 13;
constexpr double kTrack = 22;
constexpr double kBarTop = 29;
constexpr double kBarHeight = 15;
constexpr double kFigureRow = 57;
// Text sizes: at A4 width (0.8 of the chart's) the smallest prints at 6 pt.
constexpr double kSmall = 10;   // Figures, bounds, legend.
constexpr double kText = 10.5;  // Event labels, key.
constexpr double kAxisHeight = 30;
constexpr double kKeyRow = 16;
constexpr char kFont[] = "DejaVu Sans, Verdana, Arial, sans-serif";

// Group colours (bars, headings), in order of appearance; the last is for
// organizations without a parent.
constexpr const char* kColors[] = {"#2b5c9e", "#b07a12", "#2e8b57", "#7a4fa3", "#b5453a",
                                   "#1f7a8c", "#8a6d3b"};
constexpr char kNoParentColor[] = "#5f6b7a";

// A closed interval of day numbers.
struct Days {
  int64_t lo = 0;
  int64_t hi = 0;
};

Days DaysOf(const PartialDate& date) {
  const DayInterval i = ToInterval(date);
  return {DayNumber(i.lower), DayNumber(i.upper)};
}

std::string Esc(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // XML 1.0 has no other control characters.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') out += c;
    }
  }
  return out;
}

// A gradient offset (0 to 1): four decimals, a tenth of a pixel on the
// widest bar.
std::string Offset(double v) { return absl::StrFormat("%.4f", v); }

std::string N(double v) {
  std::string s = absl::StrFormat("%.1f", v);
  if (absl::EndsWith(s, ".0")) s.resize(s.size() - 2);
  return s;
}

// Approximate advance of text in DejaVu Sans: 0.56 em per character.
double TextWidth(absl::string_view text, double size) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;  // UTF-8 code points.
  return static_cast<double>(chars) * size * 0.56;
}

// `text` cut (at a code point) to fit `width`, with an ellipsis.
std::string Fit(const std::string& text, double size, double width) {
  if (TextWidth(text, size) <= width) return text;
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 &&
        TextWidth(out + "…", size) + size * 0.58 > width) {
      break;
    }
    out += text[i];
  }
  return out + "…";
}

std::string ShortCategory(Organization::Headcount::Category c) {
  switch (c) {
    case Organization::Headcount::INTERNATIONAL_STAFF: return "intl staff";
    case Organization::Headcount::LOCAL_STAFF: return "local staff";
    case Organization::Headcount::TROOPS: return "troops";
    case Organization::Headcount::MEMBER_STATES: return "member states";
    case Organization::Headcount::CONTRIBUTING_NATIONS: return "contributing nations";
    case Organization::Headcount::SECONDED_POSITIONS: return "seconded positions";
    default: return "staff";
  }
}

std::string FigureText(const Organization::Headcount& h) {
  std::string text = absl::StrCat(FormatCount(h), " ", ShortCategory(h.category()));
  if (!h.contributor().empty()) absl::StrAppend(&text, " (", h.contributor(), ")");
  return text;
}

std::string Label(const Organization& org) {
  return org.acronym().empty() ? IdOf(org.name()) : org.acronym();
}

// One lane and what is drawn on it.
struct Lane {
  const Organization* org = nullptr;
  std::string group;  // The parent's name, or empty.
  std::string color;
  bool has_start = false, has_end = false;
  Days start, end;
  // The dated facts about it (events, figures, leaders' terms).
  bool has_evidence = false;
  Days evidence;
  double y = 0;
  bool present = false;
  // In the presence report's unknown_bound_organizations: nothing says it
  // was there on the date, nor that it was not (shown apart, not faded).
  bool unknown_bound = false;
  const timeline::v1::Presence::PresentOrganization* presence = nullptr;
};

struct Group {
  std::string name;  // Empty: no parent.
  std::string heading;
  std::string color;
  std::vector<Lane*> lanes;
  int64_t first = 0;
};

class Chart {
 public:
  explicit Chart(const ChartInput& input) : input_(input) {
    for (const Organization& p : input.parents) parents_[p.name()] = &p;
    for (size_t i = 0; i < input.events.size(); ++i) {
      for (const std::string& o : input.events[i].organizations()) {
        events_of_[o].push_back(&input.events[i]);
      }
    }
    BuildLanes();
    ChooseRange();
    NumberEvents();
  }

  std::string Svg() {
    LayOut();
    std::string out = absl::StrCat(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", N(kWidth), "\" height=\"",
        N(height_), "\" viewBox=\"0 0 ", N(kWidth), " ", N(height_),
        "\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" font-family=\"", kFont,
        "\">\n");
    absl::StrAppend(&out, "<title id=\"chart-title\">", Esc(Title()), "</title>\n",
                    "<desc id=\"chart-desc\">", Esc(Description()), "</desc>\n");
    Defs(&out);
    absl::StrAppend(&out, "<rect class=\"background\" x=\"0\" y=\"0\" width=\"", N(kWidth),
                    "\" height=\"", N(height_), "\" fill=\"#ffffff\"/>\n");
    Heading(&out);
    Grid(&out);
    for (const Group& g : groups_) DrawGroup(g, &out);
    At(&out);
    Axis(&out);
    Key(&out);
    Legend(&out);
    absl::StrAppend(&out, "</svg>\n");
    return out;
  }

  std::string Title() const {
    if (!input_.title.empty()) return input_.title;
    const int first = static_cast<int>(DayFromNumber(lo_).year());
    const int last = static_cast<int>(DayFromNumber(hi_).year());
    return first == last ? absl::StrCat("Who was present, ", first)
                         : absl::StrCat("Who was present, ", first, "–", last);
  }

 private:
  void AddEvidence(Lane* lane, const Days& d) {
    if (!lane->has_evidence) {
      lane->evidence = d;
      lane->has_evidence = true;
    } else {
      lane->evidence.lo = std::min(lane->evidence.lo, d.lo);
      lane->evidence.hi = std::max(lane->evidence.hi, d.hi);
    }
  }

  void BuildLanes() {
    lanes_.reserve(input_.lanes.size());
    for (const Organization& org : input_.lanes) {
      Lane& lane = lanes_.emplace_back();
      lane.org = &org;
      lane.group = org.parent_organization();
      lane.has_start = IsSet(org.has_established(), org.established());
      lane.has_end = IsSet(org.has_ended(), org.ended());
      if (lane.has_start) lane.start = DaysOf(org.established());
      if (lane.has_end) lane.end = DaysOf(org.ended());
      for (const Event* e : EventsOf(org.name())) AddEvidence(&lane, EventDays(*e));
      for (const auto& h : org.headcounts()) AddEvidence(&lane, DaysOf(h.as_of()));
      for (const auto& l : org.leaders()) {
        if (IsSet(l.has_appointed(), l.appointed())) AddEvidence(&lane, DaysOf(l.appointed()));
        if (IsSet(l.has_left(), l.left())) AddEvidence(&lane, DaysOf(l.left()));
      }
      if (input_.presence) {
        for (const auto& p : input_.presence->organizations()) {
          if (p.organization() == org.name()) {
            lane.present = true;
            lane.presence = &p;
          }
        }
        for (const auto& p : input_.presence->unknown_bound_organizations()) {
          if (p.organization() == org.name()) {
            lane.unknown_bound = true;
            lane.presence = &p;
          }
        }
      }
    }
    // Groups: by parent, ordered by their first lane's start, then name;
    // organizations without a parent last.
    std::map<std::string, Group> by_parent;
    for (Lane& lane : lanes_) {
      Group& g = by_parent[lane.group];
      g.name = lane.group;
      g.lanes.push_back(&lane);
    }
    for (auto& [name, g] : by_parent) {
      for (Lane* lane : g.lanes) {
        const int64_t first = FirstDay(*lane);
        g.first = lane == g.lanes.front() ? first : std::min(g.first, first);
      }
      std::sort(g.lanes.begin(), g.lanes.end(), [](const Lane* a, const Lane* b) {
        return std::make_tuple(FirstDay(*a), Label(*a->org)) <
               std::make_tuple(FirstDay(*b), Label(*b->org));
      });
      if (name.empty()) {
        g.heading = "Not part of another organization";
      } else if (auto p = parents_.find(name); p != parents_.end()) {
        g.heading = p->second->acronym().empty()
                        ? p->second->display_name()
                        : absl::StrCat(p->second->acronym(), " — ", p->second->display_name());
      } else {
        g.heading = IdOf(name);
      }
      groups_.push_back(std::move(g));
    }
    std::sort(groups_.begin(), groups_.end(), [](const Group& a, const Group& b) {
      return std::make_tuple(a.name.empty(), a.first, a.heading) <
             std::make_tuple(b.name.empty(), b.first, b.heading);
    });
    size_t color = 0;
    for (Group& g : groups_) {
      g.color = g.name.empty() ? kNoParentColor : kColors[color++ % std::size(kColors)];
      for (Lane* lane : g.lanes) lane->color = g.color;
    }
  }

  const std::vector<const Event*>& EventsOf(const std::string& org) const {
    static const std::vector<const Event*> kNone;
    auto it = events_of_.find(org);
    return it == events_of_.end() ? kNone : it->second;
  }

  static Days EventDays(const Event& e) {
    Days d = DaysOf(e.start());
    if (IsSet(e.has_end(), e.end())) d.hi = std::max(d.hi, DaysOf(e.end()).hi);
    return d;
  }

  static int64_t FirstDay(const Lane& lane) {
    if (lane.has_start) return lane.start.lo;
    if (lane.has_evidence) return lane.evidence.lo;
    return DayNumber(MaxDay());
  }

  // The window: as asked, else the data's years.
  void ChooseRange() {
    bool any = false;
    int64_t lo = 0, hi = 0;
    const auto take = [&](const Days& d) {
      lo = any ? std::min(lo, d.lo) : d.lo;
      hi = any ? std::max(hi, d.hi) : d.hi;
      any = true;
    };
    for (const Lane& lane : lanes_) {
      if (lane.has_start) take(lane.start);
      if (lane.has_end) take(lane.end);
      if (lane.has_evidence) take(lane.evidence);
    }
    if (input_.at) take(DaysOf(*input_.at));
    if (!any) take(DaysOf(PartialDate()));  // Never reached with valid input.
    absl::CivilDay first = DayFromNumber(lo), last = DayFromNumber(hi);
    lo_ = DayNumber(absl::CivilDay(first.year(), 1, 1));
    hi_ = DayNumber(absl::CivilDay(last.year(), 12, 31));
    if (input_.since) lo_ = DaysOf(*input_.since).lo;
    if (input_.until) hi_ = DaysOf(*input_.until).hi;
    if (hi_ < lo_) hi_ = lo_;
  }

  // Events numbered in date order, for the markers and the key.
  void NumberEvents() {
    for (const Event& e : input_.events) ordered_.push_back(&e);
    std::stable_sort(ordered_.begin(), ordered_.end(), [](const Event* a, const Event* b) {
      const Days da = EventDays(*a), db = EventDays(*b);
      return std::make_tuple(da.lo, da.hi, a->name()) < std::make_tuple(db.lo, db.hi, b->name());
    });
    for (size_t i = 0; i < ordered_.size(); ++i) number_[ordered_[i]] = static_cast<int>(i + 1);
  }

  void LayOut() {
    double y = kTitleHeight;
    for (Group& g : groups_) {
      y += kGroupHeight;
      for (Lane* lane : g.lanes) {
        lane->y = y;
        y += kLaneHeight;
      }
    }
    lanes_bottom_ = y;
    key_top_ = y + kAxisHeight + 16;
    key_rows_ = static_cast<int>((ordered_.size() + 1) / 2);
    height_ = key_top_ + 18 + key_rows_ * kKeyRow + 36;
  }

  // x of the start of a day; an interval [lo, hi] spans X(lo) to X(hi + 1).
  double X(int64_t day) const {
    const double t = static_cast<double>(day - lo_) / static_cast<double>(hi_ + 1 - lo_);
    return std::clamp(kPlotLeft + t * (kPlotRight - kPlotLeft), kPlotLeft, kPlotRight);
  }
  double XEnd(int64_t day) const { return X(day + 1); }

  std::string Description() const {
    std::vector<std::string> parts;
    for (const Group& g : groups_) {
      for (const Lane* lane : g.lanes) {
        std::string text = absl::StrCat(Label(*lane->org), " (", lane->org->display_name(), "): ",
                                        lane->has_start ? FormatPartialDateHuman(lane->org->established())
                                                        : "start not recorded",
                                        " to ",
                                        lane->has_end ? FormatPartialDateHuman(lane->org->ended())
                                                      : "end not recorded");
        const size_t events = EventsOf(lane->org->name()).size();
        if (events > 0) absl::StrAppend(&text, ", ", events, events == 1 ? " event" : " events");
        if (input_.presence) {
          absl::StrAppend(&text, lane->present         ? ", present"
                                 : lane->unknown_bound ? ", presence unknown"
                                                       : ", not present");
        }
        parts.push_back(text);
      }
    }
    std::string desc = absl::StrCat("Timeline of ", lanes_.size(), " organizations from ",
                                    FormatPartialDateHuman(DateOf(lo_)), " to ",
                                    FormatPartialDateHuman(DateOf(hi_)));
    if (input_.at) absl::StrAppend(&desc, ", marking ", FormatPartialDateHuman(*input_.at));
    return absl::StrCat(desc, ". ", absl::StrJoin(parts, "; "), ".");
  }

  static PartialDate DateOf(int64_t day) {
    const absl::CivilDay d = DayFromNumber(day);
    PartialDate date;
    date.set_year(static_cast<int>(d.year()));
    date.set_month(d.month());
    date.set_day(d.day());
    return date;
  }

  void Defs(std::string* out) const {
    absl::StrAppend(out, "<defs>\n");
    std::set<std::string> colors;
    for (const Lane& lane : lanes_) colors.insert(lane.color);
    for (const std::string& c : colors) {
      absl::StrAppend(out, "<pattern id=\"hatch-", c.substr(1),
                      "\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
                      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"",
                      c, "\" fill-opacity=\"0.10\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
                      "stroke=\"", c, "\" stroke-width=\"2.2\" stroke-opacity=\"0.55\"/></pattern>\n");
    }
    for (size_t i = 0; i < lanes_.size(); ++i) {
      const Lane& lane = lanes_[i];
      double x0 = 0, x1 = 0;
      if (!BarExtent(lane, &x0, &x1)) continue;
      const double w = std::max(x1 - x0, 0.001);
      double in = 0, out_at = 1;
      if (lane.has_start) in = std::clamp((XEnd(lane.start.hi) - x0) / w, 0.0, 1.0);
      if (lane.has_end) out_at = std::clamp((X(lane.end.lo) - x0) / w, in, 1.0);
      const bool fade_in = in * w > 1.5, fade_out = (1 - out_at) * w > 1.5;
      absl::StrAppend(out, "<linearGradient id=\"bar-", i, "\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">");
      absl::StrAppend(out, "<stop offset=\"0\" stop-color=\"", lane.color, "\" stop-opacity=\"",
                      fade_in ? "0.05" : "1", "\"/>");
      absl::StrAppend(out, "<stop offset=\"", Offset(in), "\" stop-color=\"", lane.color,
                      "\" stop-opacity=\"1\"/>");
      absl::StrAppend(out, "<stop offset=\"", Offset(out_at), "\" stop-color=\"", lane.color,
                      "\" stop-opacity=\"1\"/>");
      absl::StrAppend(out, "<stop offset=\"1\" stop-color=\"", lane.color, "\" stop-opacity=\"",
                      fade_out ? "0.05" : "1", "\"/></linearGradient>\n");
    }
    absl::StrAppend(out, "</defs>\n");
  }

  // The bar: from the establishment (or the first dated fact) to the end
  // (or the last dated fact). False if there is nothing to draw.
  bool BarExtent(const Lane& lane, double* x0, double* x1) const {
    if (!lane.has_start && !lane.has_evidence) return false;
    if (!lane.has_end && !lane.has_evidence) return false;
    *x0 = lane.has_start ? X(lane.start.lo) : X(lane.evidence.lo);
    *x1 = lane.has_end ? XEnd(lane.end.hi) : XEnd(lane.evidence.hi);
    if (*x1 < *x0 + 2) *x1 = *x0 + 2;  // A single documented day stays visible.
    return true;
  }

  void Heading(std::string* out) const {
    absl::StrAppend(out, "<text class=\"title\" x=\"16\" y=\"28\" font-size=\"20\" "
                         "font-weight=\"bold\" fill=\"#1f2933\">",
                    Esc(Title()), "</text>\n");
    std::string sub = absl::StrCat(lanes_.size(), " organizations · ", input_.events.size(),
                                   input_.events.size() == 1 ? " event" : " events");
    if (input_.at) {
      int present = 0, unknown = 0;
      for (const Lane& lane : lanes_) {
        present += lane.present;
        unknown += lane.unknown_bound;
      }
      absl::StrAppend(&sub, " · ", present, " present on ", FormatPartialDateHuman(*input_.at));
      if (unknown > 0) absl::StrAppend(&sub, ", ", unknown, " unknown");
    }
    absl::StrAppend(&sub, " · from the presence registry and timeline");
    absl::StrAppend(out, "<text class=\"subtitle\" x=\"16\" y=\"48\" font-size=\"12\" "
                         "fill=\"#52606d\">",
                    Esc(sub), "</text>\n");
  }

  // Ticks: the smallest step giving at most 12 of them.
  std::vector<std::pair<int64_t, std::string>> Ticks() const {
    const absl::CivilDay first = DayFromNumber(lo_), last = DayFromNumber(hi_);
    const int64_t months = (last.year() - first.year()) * 12 + (last.month() - first.month()) + 1;
    int step = 1;
    for (int s : {1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200}) {
      step = s;
      if (months / s <= 12) break;
    }
    std::vector<std::pair<int64_t, std::string>> ticks;
    absl::CivilMonth m(first.year(), first.month());
    if (step >= 12) {
      int64_t year = first.year();
      if (first.month() != 1 || first.day() != 1) ++year;
      const int64_t years = step / 12;
      year = (year + years - 1) / years * years;
      m = absl::CivilMonth(year, 1);
    } else if (first.day() != 1) {
      m += 1;
    }
    for (; absl::CivilDay(m) <= last; m += step) {
      const int64_t day = DayNumber(absl::CivilDay(m));
      ticks.emplace_back(day, step >= 12 || m.month() == 1
                                  ? absl::StrCat(m.year())
                                  : absl::FormatCivilTime(m).substr(0, 7));
      if (step < 12 && m.month() != 1) {
        static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        ticks.back().second = kMonths[m.month() - 1];
      }
    }
    return ticks;
  }

  void Grid(std::string* out) const {
    absl::StrAppend(out, "<g class=\"grid\" stroke=\"#e4e7eb\" stroke-width=\"1\">\n");
    for (const auto& [day, label] : Ticks()) {
      absl::StrAppend(out, "<line x1=\"", N(X(day)), "\" y1=\"", N(kTitleHeight), "\" x2=\"",
                      N(X(day)), "\" y2=\"", N(lanes_bottom_), "\"/>\n");
    }
    absl::StrAppend(out, "</g>\n");
  }

  void DrawGroup(const Group& g, std::string* out) const {
    const double y = g.lanes.front()->y - kGroupHeight;
    absl::StrAppend(out, "<g class=\"group\" data-parent=\"", Esc(g.name), "\">\n",
                    "<text x=\"16\" y=\"", N(y + 18), "\" font-size=\"13.5\" font-weight=\"bold\" "
                    "fill=\"", g.color, "\">", Esc(g.heading), "</text>\n",
                    "<line x1=\"16\" y1=\"", N(y + 24), "\" x2=\"", N(kPlotRight), "\" y2=\"",
                    N(y + 24), "\" stroke=\"", g.color, "\" stroke-opacity=\"0.35\"/>\n");
    for (const Lane* lane : g.lanes) DrawLane(*lane, out);
    absl::StrAppend(out, "</g>\n");
  }

  std::string LaneTooltip(const Lane& lane) const {
    const Organization& o = *lane.org;
    std::string text = absl::StrCat(o.display_name(), " (", KindName(o.kind()), ")\n",
                                    "Established: ",
                                    lane.has_start ? FormatPartialDateHuman(o.established())
                                                   : "not recorded",
                                    "\nEnded: ",
                                    lane.has_end ? FormatPartialDateHuman(o.ended())
                                                 : "not recorded");
    for (const auto& l : o.leaders()) {
      absl::StrAppend(&text, "\nLed by ", l.person(), ", ", l.role());
      if (IsSet(l.has_appointed(), l.appointed())) {
        absl::StrAppend(&text, " (from ", FormatPartialDateHuman(l.appointed()), ")");
      }
    }
    return text;
  }

  void DrawLane(const Lane& lane, std::string* out) const {
    const size_t index = static_cast<size_t>(&lane - lanes_.data());
    const double y = lane.y;
    const double bar_y = y + kBarTop;
    const bool dim = input_.presence && !lane.present && !lane.unknown_bound;
    absl::StrAppend(out, "<g class=\"lane", lane.present ? " present" : "",
                    lane.unknown_bound ? " unknown-bound" : "",
                    "\" data-organization=\"", Esc(lane.org->name()), "\"",
                    dim ? " opacity=\"0.5\"" : "", ">\n");
    if (lane.present) {
      absl::StrAppend(out, "<rect class=\"highlight\" x=\"8\" y=\"", N(y + 1), "\" width=\"",
                      N(kPlotRight + 16 - 8), "\" height=\"", N(kLaneHeight - 2),
                      "\" rx=\"4\" fill=\"#fdf3d0\" fill-opacity=\"0.75\"><title>", Esc(PresenceTooltip(lane)),
                      "</title></rect>\n");
    } else if (lane.unknown_bound) {
      // Apart from the present ones: an outline, no fill.
      absl::StrAppend(out, "<rect class=\"highlight unknown-bound\" x=\"8\" y=\"", N(y + 1),
                      "\" width=\"", N(kPlotRight + 16 - 8), "\" height=\"", N(kLaneHeight - 2),
                      "\" rx=\"4\" fill=\"none\" stroke=\"#c9a227\" stroke-dasharray=\"4 3\"><title>",
                      Esc(PresenceTooltip(lane)), "</title></rect>\n");
    }
    // The label column.
    absl::StrAppend(out, "<text class=\"lane-label\" x=\"24\" y=\"", N(y + 26),
                    "\" font-size=\"14\" font-weight=\"bold\" fill=\"#1f2933\"><title>",
                    Esc(LaneTooltip(lane)), "</title>", Esc(Label(*lane.org)), "</text>\n");
    absl::StrAppend(out, "<text class=\"lane-name\" x=\"24\" y=\"", N(y + 42),
                    "\" font-size=\"11\" fill=\"#52606d\">",
                    Esc(Fit(lane.org->display_name(), 11, kPlotLeft - 34)), "</text>\n");
    // Unrecorded bounds: hatched from the chart's edge.
    const std::string hatch = absl::StrCat("url(#hatch-", lane.color.substr(1), ")");
    double x0 = 0, x1 = 0;
    const bool bar = BarExtent(lane, &x0, &x1);
    if (!lane.has_start) {
      const double right = bar ? x0 : kPlotRight;
      Unknown(lane, kPlotLeft, right, hatch, "start not recorded", bar_y, out);
    }
    if (!lane.has_end && bar) Unknown(lane, x1, kPlotRight, hatch, "end not recorded", bar_y, out);
    if (bar) {
      absl::StrAppend(out, "<rect class=\"bar\" x=\"", N(x0), "\" y=\"", N(bar_y), "\" width=\"",
                      N(x1 - x0), "\" height=\"", N(kBarHeight), "\" rx=\"2\" fill=\"url(#bar-",
                      index, ")\"><title>", Esc(LaneTooltip(lane)), "</title></rect>\n");
      BoundLabels(lane, x0, x1, bar_y, out);
    }
    Events(lane, y, out);
    Figures(lane, y, out);
    absl::StrAppend(out, "</g>\n");
  }

  void Unknown(const Lane&, double x0, double x1, const std::string& hatch, const char* text,
               double bar_y, std::string* out) const {
    if (x1 - x0 < 1) return;
    absl::StrAppend(out, "<rect class=\"unknown\" x=\"", N(x0), "\" y=\"", N(bar_y + 2),
                    "\" width=\"", N(x1 - x0), "\" height=\"", N(kBarHeight - 4), "\" fill=\"",
                    hatch, "\"><title>", text, "</title></rect>\n");
    if (TextWidth(text, kSmall) + 8 < x1 - x0) {
      absl::StrAppend(out, "<text x=\"", N((x0 + x1) / 2), "\" y=\"", N(bar_y + kBarHeight - 4),
                      "\" font-size=\"", N(kSmall), "\" font-style=\"italic\" "
                      "text-anchor=\"middle\" fill=\"#52606d\" stroke=\"#ffffff\" "
                      "stroke-width=\"3\" paint-order=\"stroke\">",
                      text, "</text>\n");
    }
  }

  // The bounds' dates in the bar ("1999", "c. 1999", "9 Dec 2008").
  void BoundLabels(const Lane& lane, double x0, double x1, double bar_y, std::string* out) const {
    const double baseline = bar_y + kBarHeight - 3.5;
    double used = x0;
    if (lane.has_start) {
      const std::string text = FormatPartialDateHuman(lane.org->established());
      const double start = std::max(x0, XEnd(lane.start.hi)) + 4;
      if (start + TextWidth(text, kSmall) + 4 < x1) {
        absl::StrAppend(out, "<text class=\"bound\" x=\"", N(start), "\" y=\"", N(baseline),
                        "\" font-size=\"10\" font-weight=\"bold\" fill=\"#ffffff\">", Esc(text),
                        "</text>\n");
        used = start + TextWidth(text, kSmall);
      }
    }
    if (lane.has_end) {
      const std::string text = FormatPartialDateHuman(lane.org->ended());
      const double end = std::min(x1, X(lane.end.lo)) - 4;
      if (end - TextWidth(text, kSmall) > used + 8) {
        absl::StrAppend(out, "<text class=\"bound\" x=\"", N(end), "\" y=\"", N(baseline),
                        "\" font-size=\"10\" font-weight=\"bold\" fill=\"#ffffff\" "
                        "text-anchor=\"end\">",
                        Esc(text), "</text>\n");
      }
    }
  }

  static std::string EventWhen(const Event& e) {
    std::string when = FormatPartialDateHuman(e.start());
    if (IsSet(e.has_end(), e.end())) absl::StrAppend(&when, " – ", FormatPartialDateHuman(e.end()));
    return when;
  }

  void Events(const Lane& lane, double y, std::string* out) const {
    std::vector<const Event*> events = EventsOf(lane.org->name());
    std::sort(events.begin(), events.end(),
              [this](const Event* a, const Event* b) { return number_.at(a) < number_.at(b); });
    const double mid = y + kTrack;
    std::vector<std::pair<double, const Event*>> anchors;  // Where the numbers go.
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = *events[i];
      const Days start = DaysOf(e.start());
      const bool period = IsSet(e.has_end(), e.end());
      const Days whole = EventDays(e);
      if (whole.hi < lo_ || whole.lo > hi_) continue;
      const int number = number_.at(&e);
      absl::StrAppend(out, "<g class=\"event\" data-event=\"", Esc(e.name()), "\"><title>",
                      number, ". ", Esc(EventWhen(e)), ": ", Esc(e.title()), "</title>");
      double anchor = 0;  // Where the number goes.
      if (period) {
        const double a = X(whole.lo), b = std::max(XEnd(whole.hi), X(whole.lo) + 3);
        absl::StrAppend(out, "<rect class=\"span\" x=\"", N(a), "\" y=\"", N(mid - 1.5),
                        "\" width=\"", N(b - a), "\" height=\"3\" fill=\"#1f2933\" "
                        "fill-opacity=\"0.6\"/>",
                        "<rect x=\"", N(a), "\" y=\"", N(mid - 5), "\" width=\"1.5\" "
                        "height=\"10\" fill=\"#1f2933\"/>",
                        "<rect x=\"", N(b - 1.5), "\" y=\"", N(mid - 5), "\" width=\"1.5\" "
                        "height=\"10\" fill=\"#1f2933\"/>");
        anchor = a + 4;
      } else if (start.hi - start.lo < 2) {
        const double x = (X(start.lo) + XEnd(start.hi)) / 2;
        absl::StrAppend(out, "<path class=\"marker\" d=\"M", N(x), " ", N(mid - 6), " l5 6 l-5 6 "
                        "l-5 -6 z\" fill=\"#1f2933\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>");
        anchor = x;
      } else {
        // Known to a month, a year or part of one: a bracket over it.
        const double a = X(start.lo), b = std::max(XEnd(start.hi), X(start.lo) + 3);
        absl::StrAppend(out, "<rect class=\"bracket\" x=\"", N(a), "\" y=\"", N(mid - 4),
                        "\" width=\"", N(b - a), "\" height=\"8\" rx=\"2\" fill=\"#1f2933\" "
                        "fill-opacity=\"0.22\" stroke=\"#1f2933\" stroke-width=\"1.2\"/>");
        anchor = (a + b) / 2;
      }
      absl::StrAppend(out, "</g>\n");
      anchors.emplace_back(anchor, &e);
    }
    // Numbers, with the title where it fits before the next label; events
    // at (nearly) the same place share one label ("10, 11").
    double label_end = -1e9;  // Right end of the last label placed.
    for (size_t i = 0; i < anchors.size();) {
      size_t j = i + 1;
      while (j < anchors.size() && anchors[j].first - anchors[i].first < 8) ++j;
      std::vector<std::string> numbers;
      for (size_t k = i; k < j; ++k) numbers.push_back(absl::StrCat(number_.at(anchors[k].second)));
      const std::string num = absl::StrJoin(numbers, ", ");
      const double x = std::max(anchors[i].first - TextWidth(numbers.front(), kText) / 2,
                                label_end + 4);
      const double next = j < anchors.size() ? anchors[j].first - 4 : kPlotRight + 4;
      const double room = next - x - 4;
      std::string text = num;
      if (j == i + 1) {
        const std::string with_title = absl::StrCat(num, " ", anchors[i].second->title());
        if (TextWidth(with_title, kText) <= room) {
          text = with_title;
        } else if (room > 70) {
          text = Fit(with_title, kText, room);
        }
      }
      absl::StrAppend(out, "<text class=\"event-label\" x=\"", N(x), "\" y=\"",
                      N(y + kLabelRow), "\" font-size=\"", N(kText), "\" fill=\"#1f2933\">",
                      Esc(text), "</text>\n");
      label_end = x + TextWidth(text, kText);
      i = j;
    }
  }

  // Figures, one label per date: "Apr 2009: ~1,900 intl staff, ~1,100
  // local staff".
  void Figures(const Lane& lane, double lane_y, std::string* out) const {
    std::map<std::pair<int64_t, int64_t>, std::vector<const Organization::Headcount*>> by_date;
    for (const auto& h : lane.org->headcounts()) {
      const Days d = DaysOf(h.as_of());
      if (d.hi < lo_ || d.lo > hi_) continue;
      by_date[{d.lo, d.hi}].push_back(&h);
    }
    double used_right = -1e9;
    for (const auto& [days, figures] : by_date) {
      std::vector<std::string> parts;
      for (const auto* h : figures) parts.push_back(FigureText(*h));
      const std::string text = absl::StrCat(FormatPartialDateHuman(figures.front()->as_of()),
                                            ": ", absl::StrJoin(parts, ", "));
      const double x = (X(days.first) + XEnd(days.second)) / 2;
      const double y = lane_y + kFigureRow;
      const double bar_bottom = lane_y + kBarTop + kBarHeight;
      const double width = TextWidth(text, kSmall);
      // Left of the tick near the right edge, else right of it.
      const bool to_left = x + width > kPlotRight;
      double start = to_left ? x - width : x;
      std::string shown = text;
      if (start < std::max(kPlotLeft, used_right + 6)) {
        start = std::max(kPlotLeft, used_right + 6);
        shown = Fit(text, kSmall, (to_left ? x : kPlotRight) - start);
      }
      absl::StrAppend(out, "<g class=\"figure\"><title>", Esc(text), "</title>",
                      "<line x1=\"", N(x), "\" y1=\"", N(bar_bottom), "\" x2=\"", N(x),
                      "\" y2=\"", N(y - 8), "\" stroke=\"", lane.color, "\"/>",
                      "<text x=\"", N(to_left ? start + TextWidth(shown, kSmall) : start), "\" y=\"",
                      N(y), "\" font-size=\"", N(kSmall), "\" fill=\"", lane.color, "\"",
                      to_left ? " text-anchor=\"end\"" : "", ">", Esc(shown), "</text></g>\n");
      used_right = start + TextWidth(shown, kSmall);
    }
  }

  std::string PresenceTooltip(const Lane& lane) const {
    const std::string when = FormatPartialDateHuman(*input_.at);
    std::string text = lane.unknown_bound
                           ? absl::StrCat("Presence on ", when, " unknown")
                           : absl::StrCat("Present on ", when);
    if (lane.presence == nullptr) return text;
    absl::StrAppend(&text, "\nBasis: ", BasisText(lane.presence->basis()));
    for (const auto& l : lane.presence->leaders()) {
      absl::StrAppend(&text, "\nLed by ", l.person(), ", ", l.role());
    }
    for (const auto& h : lane.presence->headcounts()) {
      absl::StrAppend(&text, "\nStrength ", FigureText(h), " (",
                      FormatPartialDateHuman(h.as_of()), ")");
    }
    return text;
  }

  void At(std::string* out) const {
    if (!input_.at) return;
    const Days d = DaysOf(*input_.at);
    const double a = X(d.lo), b = XEnd(d.hi);
    const std::string when = FormatPartialDateHuman(*input_.at);
    absl::StrAppend(out, "<g class=\"at\"><title>", Esc(when), "</title>");
    if (b - a > 3) {
      absl::StrAppend(out, "<rect x=\"", N(a), "\" y=\"", N(kTitleHeight), "\" width=\"", N(b - a),
                      "\" height=\"", N(lanes_bottom_ - kTitleHeight), "\" fill=\"#d64545\" "
                      "fill-opacity=\"0.10\"/>");
    }
    const double x = (a + b) / 2;
    absl::StrAppend(out, "<line class=\"at\" x1=\"", N(x), "\" y1=\"", N(kTitleHeight - 4),
                    "\" x2=\"", N(x), "\" y2=\"", N(lanes_bottom_), "\" stroke=\"#d64545\" "
                    "stroke-width=\"1.5\"/>",
                    "<text x=\"", N(x), "\" y=\"", N(kTitleHeight - 7), "\" font-size=\"11.5\" "
                    "font-weight=\"bold\" text-anchor=\"middle\" fill=\"#d64545\">",
                    Esc(when), "</text></g>\n");
  }

  void Axis(std::string* out) const {
    const double y = lanes_bottom_ + 4;
    absl::StrAppend(out, "<g class=\"axis\" font-size=\"11.5\" fill=\"#3e4c59\">\n",
                    "<line x1=\"", N(kPlotLeft), "\" y1=\"", N(y), "\" x2=\"", N(kPlotRight),
                    "\" y2=\"", N(y), "\" stroke=\"#7b8794\"/>\n");
    for (const auto& [day, label] : Ticks()) {
      absl::StrAppend(out, "<line x1=\"", N(X(day)), "\" y1=\"", N(y), "\" x2=\"", N(X(day)),
                      "\" y2=\"", N(y + 5), "\" stroke=\"#7b8794\"/>",
                      "<text x=\"", N(X(day)), "\" y=\"", N(y + 18),
                      "\" text-anchor=\"middle\">", Esc(label), "</text>\n");
    }
    absl::StrAppend(out, "</g>\n");
  }

  // The events, numbered as on the lanes, in two columns.
  void Key(std::string* out) const {
    if (ordered_.empty()) return;
    absl::StrAppend(out, "<g class=\"key\" font-size=\"", N(kText), "\" fill=\"#1f2933\">\n",
                    "<text x=\"16\" y=\"", N(key_top_), "\" font-size=\"12.5\" "
                    "font-weight=\"bold\">Events</text>\n");
    const double column = (kWidth - 32) / 2;
    for (size_t i = 0; i < ordered_.size(); ++i) {
      const Event& e = *ordered_[i];
      const size_t col = i / key_rows_, row = i % key_rows_;
      const double x = 16 + col * column, y = key_top_ + 18 + row * kKeyRow;
      const std::string when = EventWhen(e);
      absl::StrAppend(out, "<text x=\"", N(x + 14), "\" y=\"", N(y), "\" text-anchor=\"end\" "
                      "font-weight=\"bold\">", i + 1, "</text>",
                      "<text x=\"", N(x + 20), "\" y=\"", N(y), "\"><title>", Esc(when), ": ",
                      Esc(e.title()), "</title>", Esc(Fit(absl::StrCat(when, "  ", e.title()), kText,
                                                          column - 28)),
                      "</text>\n");
    }
    absl::StrAppend(out, "</g>\n");
  }

  // A line of symbols at the bottom, laid out by the width of their text.
  void Legend(std::string* out) const {
    const double y = height_ - 16;
    const std::string gray = kNoParentColor;
    struct Item {
      std::string symbol;  // Drawn at x = 0; 26 wide.
      std::string text;
    };
    const std::vector<Item> items = {
        {absl::StrCat("<rect x=\"0\" y=\"-8\" width=\"26\" height=\"9\" fill=\"", gray,
                      "\"/>"),
         "lifespan (fading: a bound known to a month or year; c. approximate)"},
        {absl::StrCat("<rect x=\"0\" y=\"-7\" width=\"26\" height=\"7\" fill=\"url(#hatch-",
                      gray.substr(1), ")\"/>"),
         "not recorded"},
        {"<path d=\"M13 -9 l4 5 l-4 5 l-4 -5 z\" fill=\"#1f2933\"/>", "event on a day"},
        {"<rect x=\"4\" y=\"-8\" width=\"18\" height=\"8\" fill=\"#1f2933\" "
         "fill-opacity=\"0.22\" stroke=\"#1f2933\"/>",
         "in a month, a year"},
        {"<rect x=\"2\" y=\"-5.5\" width=\"22\" height=\"3\" fill=\"#1f2933\" "
         "fill-opacity=\"0.6\"/>",
         "over a period"},
    };
    absl::StrAppend(out, "<g class=\"legend\" font-size=\"", N(kSmall), "\" fill=\"#52606d\">");
    double x = 16;
    for (const Item& item : items) {
      absl::StrAppend(out, "<g transform=\"translate(", N(x), " ", N(y), ")\">", item.symbol,
                      "<text x=\"30\" y=\"0\">", Esc(item.text), "</text></g>");
      x += 30 + TextWidth(item.text, kSmall) + 14;
    }
    absl::StrAppend(out, "</g>\n");
  }

  const ChartInput& input_;
  std::map<std::string, const Organization*> parents_;
  std::map<std::string, std::vector<const Event*>> events_of_;
  std::vector<Lane> lanes_;
  std::vector<Group> groups_;
  std::vector<const Event*> ordered_;
  std::map<const Event*, int> number_;
  int64_t lo_ = 0, hi_ = 0;
  double lanes_bottom_ = 0, key_top_ = 0, height_ = 0;
  int key_rows_ = 0;
};

}  // namespace

std::string ChartSvg(const ChartInput& input) { return Chart(input).Svg(); }

std::string ChartHtml(const ChartInput& input) {
  Chart chart(input);
  const std::string svg = chart.Svg();
  const std::string title = Esc(chart.Title());
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", title,
      "</title>\n<style>\n"
      "body { font-family: ", kFont, "; color: #1f2933; margin: 24px auto; max-width: 980px; }\n"
      "svg { max-width: 100%; height: auto; }\n"
      "dl { display: grid; grid-template-columns: 64px 1fr; gap: 6px 12px; align-items: center; }\n"
      "dd { margin: 0; }\n"
      "</style>\n</head>\n<body>\n<figure>\n", svg,
      "</figure>\n<h2>Legend</h2>\n<dl>\n"
      "<dt><svg width=\"56\" height=\"14\"><defs><linearGradient id=\"l-fade\"><stop offset=\"0\" "
      "stop-color=\"#2b5c9e\" stop-opacity=\"0.05\"/><stop offset=\"0.6\" stop-color=\"#2b5c9e\"/>"
      "</linearGradient></defs><rect width=\"56\" height=\"14\" fill=\"url(#l-fade)\"/></svg></dt>"
      "<dd>An organization's lifespan as the registry records it. Where a bound is known only to "
      "a year, a part of one or a month, the bar fades in (or out) across that interval; "
      "“c.” marks an approximate date.</dd>\n"
      "<dt><svg width=\"56\" height=\"14\"><defs><pattern id=\"l-hatch\" "
      "patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate(45)\">"
      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#5f6b7a\" stroke-width=\"2.2\"/>"
      "</pattern></defs><rect width=\"56\" height=\"14\" fill=\"url(#l-hatch)\"/></svg></dt>"
      "<dd>A bound the registry does not record. The bar is solid only between the dated facts "
      "about the organization (events, figures, appointments).</dd>\n"
      "<dt><svg width=\"56\" height=\"14\"><path d=\"M28 1 l6 6 l-6 6 l-6 -6 z\" "
      "fill=\"#1f2933\"/></svg></dt><dd>An event on a known day.</dd>\n"
      "<dt><svg width=\"56\" height=\"14\"><rect x=\"8\" y=\"2\" width=\"40\" height=\"10\" "
      "fill=\"#1f2933\" fill-opacity=\"0.22\" stroke=\"#1f2933\"/></svg></dt>"
      "<dd>An event known to a month, a year or part of one, drawn over that interval.</dd>\n"
      "<dt><svg width=\"56\" height=\"14\"><rect x=\"4\" y=\"5\" width=\"48\" height=\"4\" "
      "fill=\"#1f2933\" fill-opacity=\"0.55\"/></svg></dt><dd>An event over a period.</dd>\n"
      "<dt><svg width=\"56\" height=\"14\"><text x=\"4\" y=\"11\" font-size=\"10\" "
      "fill=\"#2b5c9e\">~1,900</text></svg></dt>"
      "<dd>Figures (strength) as of their date; ~ approximately, &gt; more than.</dd>\n",
      input.at ? "<dt><svg width=\"56\" height=\"14\"><rect width=\"56\" height=\"14\" "
                 "fill=\"#fff4c2\"/><line x1=\"28\" y1=\"0\" x2=\"28\" y2=\"14\" "
                 "stroke=\"#d64545\" stroke-width=\"1.5\"/></svg></dt><dd>The date asked "
                 "about; highlighted lanes are the organizations present then, outlined ones "
                 "those whose start is not recorded, so that nothing says whether they were "
                 "there (others are faded).</dd>\n"
               : "",
      "</dl>\n<p>Numbers on the lanes refer to the list of events under the chart; hover over "
      "any symbol for its dates and details. Every fact comes from the presence registry and "
      "timeline.</p>\n</body>\n</html>\n");
}

}  // namespace presence::cli
