#include "common/text/utf8.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

TEST(Utf8Test, WellFormedSequences) {
  for (const std::string& text :
       {std::string(""), std::string("ascii"), std::string(1, '\0'), std::string("caf\xC3\xA9"),
        std::string("\xE2\x82\xAC"),
        std::string("\xED\x9F\xBF"),  // U+D7FF, below the surrogates
        std::string("\xEE\x80\x80"),  // U+E000, above them
        std::string("\xF0\x9F\x98\x80"), std::string("\xF4\x8F\xBF\xBF")}) {  // U+10FFFF
    EXPECT_TRUE(IsValidUtf8(text)) << absl::CEscape(text);
  }
}

TEST(Utf8Test, IllFormedSequences) {
  for (const std::string& text : {
           std::string("\x80"),              // continuation without a lead
           std::string("\xC3"),              // truncated
           std::string("\xC3\x28"),          // bad continuation
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xC1\xBF"),          // overlong
           std::string("\xE0\x80\xAF"),      // overlong, three bytes
           std::string("\xED\xA0\x80"),      // U+D800, a surrogate
           std::string("\xF0\x8F\xBF\xBF"),  // overlong, four bytes
           std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
           std::string("\xF5\x80\x80\x80"),
           std::string("\xFF"),
           std::string("ok\xFE"),
       }) {
    EXPECT_FALSE(IsValidUtf8(text)) << absl::CEscape(text);
  }
}

TEST(Utf8Test, SequenceLengthOfTheFirstCharacter) {
  EXPECT_EQ(Utf8SequenceLength(""), 0u);
  EXPECT_EQ(Utf8SequenceLength("a\xFF"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xC3\xA9z"), 2u);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82\xAC"), 3u);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80"), 4u);
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98"), 0u);
}

}  // namespace
}  // namespace tokens
