#ifndef PRESENCE_TESTS_TESTING_SVG_H_
#define PRESENCE_TESTS_TESTING_SVG_H_

// An SVG document parsed with libxml2 (no network), queried with XPath;
// "s:" is the SVG namespace. For tests of presencectl's chart.

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace presence::testing {

class Svg {
 public:
  explicit Svg(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "chart.svg", nullptr,
                           XML_PARSE_NONET),
             xmlFreeDoc) {
    if (doc_ == nullptr) return;
    ctx_.reset(xmlXPathNewContext(doc_.get()));
    xmlXPathRegisterNs(ctx_.get(), BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
  }
  bool ok() const { return doc_ != nullptr; }

  std::vector<xmlNodePtr> All(const std::string& xpath) const {
    std::vector<xmlNodePtr> nodes;
    std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObjectPtr)> result(
        xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx_.get()), xmlXPathFreeObject);
    EXPECT_NE(result, nullptr) << xpath;
    if (result == nullptr || result->nodesetval == nullptr) return nodes;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i) {
      nodes.push_back(result->nodesetval->nodeTab[i]);
    }
    return nodes;
  }
  xmlNodePtr One(const std::string& xpath) const {
    std::vector<xmlNodePtr> nodes = All(xpath);
    EXPECT_EQ(nodes.size(), 1u) << xpath;
    return nodes.empty() ? nullptr : nodes.front();
  }
  static std::string Attr(xmlNodePtr node, const char* name) {
    if (node == nullptr) return "";
    xmlChar* value = xmlGetProp(node, BAD_CAST name);
    std::string out = value == nullptr ? "" : reinterpret_cast<const char*>(value);
    xmlFree(value);
    return out;
  }
  static double Number(xmlNodePtr node, const char* name) {
    double v = NAN;
    EXPECT_TRUE(absl::SimpleAtod(Attr(node, name), &v)) << name << "=" << Attr(node, name);
    return v;
  }
  static std::string Text(xmlNodePtr node) {
    if (node == nullptr) return "";
    xmlChar* text = xmlNodeGetContent(node);
    std::string out = reinterpret_cast<const char*>(text);
    xmlFree(text);
    return out;
  }

 private:
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc_;
  std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContextPtr)> ctx_{nullptr,
                                                                      xmlXPathFreeContext};
};

// An XPath predicate: the element has class `name`.
inline std::string Class(const std::string& name) {
  return absl::StrCat("contains(concat(' ', @class, ' '), ' ", name, " ')");
}

}  // namespace presence::testing

#endif  // PRESENCE_TESTS_TESTING_SVG_H_
