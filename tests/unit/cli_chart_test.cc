// The chart as a person would check it, without a browser: the SVG parses
// as XML, is self-contained, and its lanes, bars, bounds, markers, figures
// and the --at line sit where the data puts them on the chart's own axis.
// (presencectl_test renders the Kosovo chart in Chromium.)

#include "client/chart.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/partial_date.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/svg.h"

namespace presence::cli {
namespace {

using ::presence::registry::v1::Organization;
using ::presence::timeline::v1::Event;
using ::testing::HasSubstr;
using ::testing::Not;
using ::presence::testing::Class;
using ::presence::testing::Svg;

type::v1::PartialDate D(const std::string& text) {
  auto date = ParsePartialDate(text);
  EXPECT_THAT(date, testing::IsOk()) << text;
  return date.ok() ? *date : type::v1::PartialDate();
}

Organization Org(const std::string& id, const std::string& acronym, const std::string& parent,
                 const std::string& established, const std::string& ended) {
  Organization org;
  org.set_name("organizations/" + id);
  org.set_acronym(acronym);
  org.set_display_name("The " + acronym);
  org.set_kind(Organization::KIND_MILITARY_MISSION);
  if (!parent.empty()) org.set_parent_organization("organizations/" + parent);
  if (!established.empty()) *org.mutable_established() = D(established);
  if (!ended.empty()) *org.mutable_ended() = D(ended);
  return org;
}

Event Ev(const std::string& id, const std::string& start, const std::string& end,
         std::vector<std::string> orgs) {
  Event e;
  e.set_name("events/" + id);
  e.set_title("Title of " + id);
  e.set_kind(Event::OTHER);
  *e.mutable_start() = D(start);
  if (!end.empty()) *e.mutable_end() = D(end);
  for (const auto& o : orgs) e.add_organizations("organizations/" + o);
  return e;
}

class ChartTest : public ::testing::Test {
 protected:
  ChartTest() {
    Organization nato;
    nato.set_name("organizations/nato");
    nato.set_acronym("NATO");
    nato.set_display_name("North Atlantic Treaty Organization");
    input_.parents = {nato};
    input_.lanes = {
        Org("b", "B", "nato", "2001-06~", ""),          // c. Jun 2001, end not recorded
        Org("a", "A", "nato", "1999", "2005-03-10"),     // a year; a day
        Org("c", "C", "", "", ""),                       // neither recorded
    };
    auto* h = input_.lanes[2].add_headcounts();
    *h->mutable_as_of() = D("2003");
    h->set_category(Organization::Headcount::TROOPS);
    h->set_count(5000);
    h->set_bound(Organization::Headcount::APPROXIMATE);
    input_.events = {Ev("day", "2000-05-01", "", {"a"}), Ev("year", "2002", "", {"a", "c"}),
                     Ev("period", "2001-01-01", "2003-12-31", {"a"}),
                     Ev("late", "2004-02", "", {"b"})};
    input_.at = D("2002-06-01");
    timeline::v1::Presence presence;
    *presence.mutable_date() = *input_.at;
    presence.add_organizations()->set_organization("organizations/a");
    presence.add_organizations()->set_organization("organizations/c");
    input_.presence = presence;
  }

  // The x of 1 January of `year` on the chart's axis, from the axis itself:
  // its ticks are years here, its line ends where the window does.
  double Year(const Svg& svg, int year) const {
    const std::string label = absl::StrCat(year);
    for (xmlNodePtr t : svg.All("//s:g[" + Class("axis") + "]/s:text")) {
      if (Svg::Text(t) == label) return Svg::Number(t, "x");
    }
    xmlNodePtr axis = svg.One("//s:g[" + Class("axis") + "]/s:line[1]");
    return Svg::Number(axis, "x2");  // After the last tick: the window's end.
  }
  // The x of a day, interpolated between year ticks.
  double Day(const Svg& svg, int year, int month, int day) const {
    const absl::CivilDay d(year, month, day);
    const double fraction = static_cast<double>(d - absl::CivilDay(year, 1, 1)) /
                            static_cast<double>(absl::CivilDay(year + 1, 1, 1) -
                                                absl::CivilDay(year, 1, 1));
    return Year(svg, year) + fraction * (Year(svg, year + 1) - Year(svg, year));
  }

  ChartInput input_;
};

TEST_F(ChartTest, IsSelfContainedAccessibleXml) {
  const std::string text = ChartSvg(input_);
  Svg svg(text);
  ASSERT_TRUE(svg.ok()) << text;
  EXPECT_THAT(Svg::Text(svg.One("/s:svg/s:title")), HasSubstr("Who was present, 1999–2005"));
  EXPECT_THAT(Svg::Text(svg.One("/s:svg/s:desc")),
              HasSubstr("A (The A): 1999 to 10 Mar 2005, 3 events, present"));
  EXPECT_EQ(Svg::Attr(svg.One("/s:svg"), "role"), "img");
  // Nothing fetched or run: no scripts, images, links, styles or fonts
  // from elsewhere; url() only for the document's own patterns.
  EXPECT_TRUE(svg.All("//s:script | //s:image | //s:a | //s:foreignObject | //s:style").empty());
  EXPECT_THAT(text, Not(HasSubstr("href")));
  EXPECT_THAT(text, Not(HasSubstr("@import")));
  size_t at = 0;
  while ((at = text.find("url(", at)) != std::string::npos) {
    EXPECT_EQ(text.substr(at, 5), "url(#");
    ++at;
  }
  EXPECT_EQ(text.find("http"), text.find("http://www.w3.org/2000/svg")) << "only the namespace";
}

TEST_F(ChartTest, LanesAreGroupedUnderTheirParents) {
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  std::vector<std::string> lanes;
  for (xmlNodePtr g : svg.All("//s:g[" + Class("lane") + "]")) {
    lanes.push_back(Svg::Attr(g, "data-organization"));
  }
  // NATO's lanes by start, then those without a parent.
  EXPECT_THAT(lanes, ::testing::ElementsAre("organizations/a", "organizations/b",
                                            "organizations/c"));
  EXPECT_THAT(Svg::Text(svg.One("//s:g[@data-parent='organizations/nato']/s:text[1]")),
              "NATO — North Atlantic Treaty Organization");
  EXPECT_EQ(svg.All("//s:g[@data-parent='organizations/nato']/s:g[" + Class("lane") + "]").size(),
            2u);
}

TEST_F(ChartTest, BarsSpanTheLifespanAndFadeOverUncertainBounds) {
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  // A: established "1999" (the whole year), ended 10 Mar 2005 (a day).
  xmlNodePtr bar = svg.One("//s:g[@data-organization='organizations/a']/s:rect[" + Class("bar") + "]");
  const double x = Svg::Number(bar, "x"), width = Svg::Number(bar, "width");
  EXPECT_NEAR(x, Year(svg, 1999), 0.6);
  EXPECT_NEAR(x + width, Day(svg, 2005, 3, 11), 0.6);
  EXPECT_TRUE(svg.All("//s:g[@data-organization='organizations/a']/s:rect[" + Class("unknown") +
                      "]").empty());
  // Its gradient fades in across 1999 and does not fade out.
  const std::string fill = Svg::Attr(bar, "fill");
  ASSERT_TRUE(absl::StartsWith(fill, "url(#")) << fill;
  const std::string id = fill.substr(5, fill.size() - 6);
  std::vector<xmlNodePtr> stops = svg.All("//s:linearGradient[@id='" + id + "']/s:stop");
  ASSERT_EQ(stops.size(), 4u);
  EXPECT_LT(Svg::Number(stops[0], "stop-opacity"), 0.2);
  EXPECT_NEAR(Svg::Number(stops[1], "offset") * width, Year(svg, 2000) - Year(svg, 1999), 1.5);
  EXPECT_EQ(Svg::Number(stops[3], "stop-opacity"), 1);
  // The bounds are written on the bar.
  std::vector<std::string> bounds;
  for (xmlNodePtr t : svg.All("//s:g[@data-organization='organizations/a']/s:text[" +
                              Class("bound") + "]")) {
    bounds.push_back(Svg::Text(t));
  }
  EXPECT_THAT(bounds, ::testing::ElementsAre("1999", "10 Mar 2005"));
  // B: an approximate start is marked "c."; its end is not recorded:
  // hatched from its last dated fact (Feb 2004) to the edge.
  EXPECT_EQ(Svg::Text(svg.One("//s:g[@data-organization='organizations/b']/s:text[" +
                              Class("bound") + "]")),
            "c. Jun 2001");
  xmlNodePtr b_end = svg.One("//s:g[@data-organization='organizations/b']/s:rect[" +
                             Class("unknown") + "]");
  EXPECT_NEAR(Svg::Number(b_end, "x"), Day(svg, 2004, 3, 1), 0.6);
  EXPECT_EQ(Svg::Text(b_end), "end not recorded");
}

TEST_F(ChartTest, UnrecordedBoundsAreHatchedAroundTheDocumentedYears) {
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  // C has no dates of its own; its facts are the 2002 event and a 2003
  // figure: documented 2002-2003, hatched before and after.
  const std::string lane = "//s:g[@data-organization='organizations/c']";
  xmlNodePtr bar = svg.One(lane + "/s:rect[" + Class("bar") + "]");
  EXPECT_NEAR(Svg::Number(bar, "x"), Year(svg, 2002), 0.6);
  EXPECT_NEAR(Svg::Number(bar, "x") + Svg::Number(bar, "width"), Year(svg, 2004), 0.6);
  std::vector<xmlNodePtr> unknown = svg.All(lane + "/s:rect[" + Class("unknown") + "]");
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_NEAR(Svg::Number(unknown[0], "x"), Year(svg, 1999), 0.6);
  EXPECT_NEAR(Svg::Number(unknown[0], "x") + Svg::Number(unknown[0], "width"), Year(svg, 2002), 0.6);
  EXPECT_EQ(Svg::Text(unknown[0]), "start not recorded");
  EXPECT_NE(Svg::Attr(unknown[0], "fill").find("url(#hatch-"), std::string::npos);
  // Its figure, at its date.
  xmlNodePtr figure = svg.One(lane + "/s:g[" + Class("figure") + "]");
  EXPECT_EQ(Svg::Text(svg.One(lane + "/s:g[" + Class("figure") + "]/s:title")),
            "2003: ~5,000 troops");
  EXPECT_NEAR(Svg::Number(svg.One(lane + "/s:g[" + Class("figure") + "]/s:line"), "x1"),
              (Year(svg, 2003) + Year(svg, 2004)) / 2, 0.6);
  (void)figure;
}

TEST_F(ChartTest, EventsAreMarkersBracketsOrSpansWithTitles) {
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  const std::string a = "//s:g[@data-organization='organizations/a']";
  // A day: a marker at it.
  xmlNodePtr day = svg.One(a + "/s:g[@data-event='events/day']");
  EXPECT_EQ(svg.All(a + "/s:g[@data-event='events/day']/s:path[" + Class("marker") + "]").size(), 1u);
  EXPECT_THAT(Svg::Text(svg.One(a + "/s:g[@data-event='events/day']/s:title")),
              HasSubstr("1 May 2000: Title of day"));
  (void)day;
  // A year: a bracket over the year.
  xmlNodePtr year = svg.One(a + "/s:g[@data-event='events/year']/s:rect[" + Class("bracket") + "]");
  EXPECT_NEAR(Svg::Number(year, "x"), Year(svg, 2002), 0.6);
  EXPECT_NEAR(Svg::Number(year, "x") + Svg::Number(year, "width"), Year(svg, 2003), 0.6);
  // A period: a span from its start to its end.
  xmlNodePtr span = svg.One(a + "/s:g[@data-event='events/period']/s:rect[" + Class("span") + "]");
  EXPECT_NEAR(Svg::Number(span, "x"), Year(svg, 2001), 0.6);
  EXPECT_NEAR(Svg::Number(span, "x") + Svg::Number(span, "width"), Year(svg, 2004), 0.6);
  // An event is drawn on every lane it names, with the same number.
  EXPECT_EQ(svg.All("//s:g[@data-event='events/year']").size(), 2u);
  // The key lists every event once, numbered in date order.
  std::vector<xmlNodePtr> key = svg.All("//s:g[" + Class("key") + "]/s:text");
  ASSERT_EQ(key.size(), 1u + 2 * input_.events.size());
  EXPECT_THAT(Svg::Text(key[2]), HasSubstr("1 May 2000  Title of day"));
}

TEST_F(ChartTest, TheDateLineAndWhoWasPresentThen) {
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  xmlNodePtr line = svg.One("//s:line[" + Class("at") + "]");
  EXPECT_NEAR(Svg::Number(line, "x1"), Day(svg, 2002, 6, 1) + 0.5 * (Day(svg, 2002, 6, 2) -
                                                                     Day(svg, 2002, 6, 1)),
              0.6);
  std::vector<std::string> present;
  for (xmlNodePtr g : svg.All("//s:g[" + Class("present") + "]")) {
    present.push_back(Svg::Attr(g, "data-organization"));
  }
  EXPECT_THAT(present, ::testing::ElementsAre("organizations/a", "organizations/c"));
  EXPECT_EQ(Svg::Attr(svg.One("//s:g[@data-organization='organizations/b']"), "opacity"), "0.5");
}

TEST_F(ChartTest, TheWindowIsTheOneAskedFor) {
  input_.since = D("2002");
  input_.until = D("2003");
  input_.at.reset();
  input_.presence.reset();
  Svg svg(ChartSvg(input_));
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(Svg::Text(svg.One("/s:svg/s:title")), HasSubstr("2002–2003"));
  // A's bar starts before the window: clipped to its left edge.
  xmlNodePtr bar = svg.One("//s:g[@data-organization='organizations/a']/s:rect[" + Class("bar") + "]");
  EXPECT_NEAR(Svg::Number(bar, "x"), Year(svg, 2002), 0.6);
  EXPECT_TRUE(svg.All("//s:line[" + Class("at") + "]").empty());
  EXPECT_TRUE(svg.All("//s:g[@data-event='events/day']").empty()) << "outside the window";
}

TEST_F(ChartTest, TextIsEscaped) {
  input_.lanes[0].set_acronym("B<&>\"'");
  input_.events[0].set_title("<script>alert(1)</script>");
  const std::string text = ChartSvg(input_);
  EXPECT_TRUE(Svg(text).ok());
  EXPECT_THAT(text, Not(HasSubstr("<script>")));
}

TEST_F(ChartTest, TheHtmlPageHasTheSvgAndALegend) {
  const std::string html = ChartHtml(input_);
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr(ChartSvg(input_)));
  EXPECT_THAT(html, HasSubstr("<h2>Legend</h2>"));
  EXPECT_THAT(html, HasSubstr("highlighted lanes are the organizations present then"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
}

}  // namespace
}  // namespace presence::cli
