#include "services/token_service/domain/validation.h"

#include <algorithm>
#include <climits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/status/field_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

// Why a name is rejected, as the description of the FieldError.
constexpr char kEmpty[] = "must not be empty";
constexpr char kBadUtf8[] = "must be valid UTF-8";
constexpr char kControl[] = "must not contain control characters";

std::string Repeat(absl::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) absl::StrAppend(&out, piece);
  return out;
}

// Expects a FieldError on `field` whose description is `description`.
void ExpectFieldError(const absl::Status& status, absl::string_view field,
                      absl::string_view description) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(FieldOf(status), std::optional<std::string>(std::string(field))) << status;
  EXPECT_EQ(DescriptionOf(status), description) << status;
}

// --- NormalizeName -----------------------------------------------------------

struct NameCase {
  std::string label;
  std::string input;
  std::string normalized;  // when error is empty
  std::string error;       // the description, or empty for success
};

std::ostream& operator<<(std::ostream& os, const NameCase& c) { return os << c.label; }

std::string NameCaseLabel(const ::testing::TestParamInfo<NameCase>& param_info) {
  return param_info.param.label;
}

class NormalizeNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(NormalizeNameTest, Table) {
  const NameCase& c = GetParam();
  absl::StatusOr<std::string> got = NormalizeName("name", c.input);
  if (c.error.empty()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.normalized);
  } else {
    ExpectFieldError(got.status(), "name", c.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Valid, NormalizeNameTest,
    ::testing::Values(
        NameCase{"plain", "QA-Test-Token", "QA-Test-Token", ""},
        NameCase{"inner_spaces_kept", "deploy  bot 2", "deploy  bot 2", ""},
        NameCase{"trimmed", "  ci token \t", "ci token", ""},
        NameCase{"trimmed_newlines", "\r\n ci\n", "ci", ""}, NameCase{"one_char", "x", "x", ""},
        NameCase{"utf8", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x91",
                 "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x91", ""},
        NameCase{"punctuation", "a~b!?", "a~b!?", ""},
        NameCase{"ascii_100", Repeat("a", 100), Repeat("a", 100), ""},
        NameCase{"two_byte_100", Repeat("\xC3\xA9", 100), Repeat("\xC3\xA9", 100), ""},
        NameCase{"three_byte_100", Repeat("\xE2\x82\xAC", 100), Repeat("\xE2\x82\xAC", 100), ""},
        NameCase{"four_byte_100", Repeat("\xF0\x9F\x94\x91", 100), Repeat("\xF0\x9F\x94\x91", 100),
                 ""},
        // Surrounding whitespace does not count towards the limit.
        NameCase{"padded_100", "  " + Repeat("a", 100) + "\t", Repeat("a", 100), ""},
        NameCase{"highest_code_point", "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", ""}),
    NameCaseLabel);

INSTANTIATE_TEST_SUITE_P(
    Invalid, NormalizeNameTest,
    ::testing::Values(
        NameCase{"empty", "", "", kEmpty}, NameCase{"spaces", "   ", "", kEmpty},
        NameCase{"whitespace_only", " \t\r\n\v\f", "", kEmpty},
        NameCase{"ascii_101", Repeat("a", 101), "", "must be at most 100 characters (got 101)"},
        NameCase{"two_byte_101", Repeat("\xC3\xA9", 101), "",
                 "must be at most 100 characters (got 101)"},
        NameCase{"four_byte_101", Repeat("\xF0\x9F\x94\x91", 101), "",
                 "must be at most 100 characters (got 101)"},
        NameCase{"newline", "a\nb", "", kControl}, NameCase{"tab", "a\tb", "", kControl},
        NameCase{"nul", std::string("a\0b", 3), "", kControl},
        NameCase{"escape", "a\x1b[2Jb", "", kControl}, NameCase{"del", "a\x7fz", "", kControl},
        NameCase{"nel_u0085", "a\xC2\x85z", "", kControl},
        NameCase{"c1_u009f", "a\xC2\x9Fz", "", kControl},
        NameCase{"line_separator_u2028", "a\xE2\x80\xA8z", "", kControl},
        NameCase{"paragraph_separator_u2029", "a\xE2\x80\xA9z", "", kControl},
        NameCase{"lone_continuation", "a\x80z", "", kBadUtf8},
        NameCase{"invalid_byte_ff", "a\xFFz", "", kBadUtf8},
        NameCase{"invalid_byte_f8", "a\xF8\x88\x80\x80\x80", "", kBadUtf8},
        NameCase{"truncated_two_byte", "a\xC3", "", kBadUtf8},
        NameCase{"truncated_four_byte", "a\xF0\x9F\x94", "", kBadUtf8},
        NameCase{"bad_continuation", "\xC3\x28", "", kBadUtf8},
        NameCase{"surrogate_d800", "a\xED\xA0\x80", "", kBadUtf8},
        NameCase{"above_u10ffff", "a\xF4\x90\x80\x80", "", kBadUtf8},
        NameCase{"latin1_not_utf8", "caf\xE9", "", kBadUtf8},
        // Overlong encodings of '/', NUL and U+FFFF.
        NameCase{"overlong_2_slash", "\xC0\xAF", "", kBadUtf8},
        NameCase{"overlong_2_nul", "a\xC0\x80z", "", kBadUtf8},
        NameCase{"overlong_2_c1", "\xC1\xBF", "", kBadUtf8},
        NameCase{"overlong_3_slash", "\xE0\x80\xAF", "", kBadUtf8},
        NameCase{"overlong_3_max", "\xE0\x9F\xBF", "", kBadUtf8},
        NameCase{"overlong_4_slash", "\xF0\x80\x80\xAF", "", kBadUtf8},
        NameCase{"overlong_4_max", "\xF0\x8F\xBF\xBF", "", kBadUtf8}),
    NameCaseLabel);

// What an outside review found (issue #14): names that look like others, or
// like nothing, because of invisible characters, exotic spaces or another
// encoding of the same text.
constexpr char kInvisible[] = "must contain a visible character";
std::string Hidden(absl::string_view code_point) {
  return absl::StrCat("must not contain invisible or text-direction characters (found ", code_point,
                      ")");
}

INSTANTIATE_TEST_SUITE_P(
    UnicodeValid, NormalizeNameTest,
    ::testing::Values(
        // NFC: a decomposed "é" (e + U+0301) is stored composed.
        NameCase{"nfc_composes", "cafe\xCC\x81", "caf\xC3\xA9", ""},
        NameCase{"nfc_keeps_composed", "caf\xC3\xA9", "caf\xC3\xA9", ""},
        // Hangul jamo compose into a syllable.
        NameCase{"nfc_hangul", "\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80", ""},
        // Unicode whitespace around is trimmed: U+00A0, U+3000, U+2003, U+0085.
        NameCase{"trim_no_break_space", "\xC2\xA0prod\xC2\xA0", "prod", ""},
        NameCase{"trim_ideographic_space", "\xE3\x80\x80prod\xE3\x80\x80", "prod", ""},
        NameCase{"trim_em_space_and_nel", "\xE2\x80\x83prod\xC2\x85", "prod", ""},
        // Other spaces inside become U+0020.
        NameCase{"inner_no_break_space", "my\xC2\xA0token", "my token", ""},
        NameCase{"inner_ideographic_space", "my\xE3\x80\x80token", "my token", ""},
        // Marks on a letter, emoji with a variation selector, an ideograph
        // with its own, right-to-left letters: all visible text.
        NameCase{"combining_marks", "a\xCC\x81\xCC\x82", "\xC3\xA1\xCC\x82", ""},
        NameCase{"emoji_variation_selector", "\xE2\x9D\xA4\xEF\xB8\x8F ops",
                 "\xE2\x9D\xA4\xEF\xB8\x8F ops", ""},
        NameCase{"ideographic_variation_selector", "\xE8\x91\x9B\xF3\xA0\x84\x80",
                 "\xE8\x91\x9B\xF3\xA0\x84\x80", ""},
        NameCase{"hebrew", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",
                 ""},
        // The limit counts code points after NFC: 100 decomposed "é" are
        // 200 code points in, 100 out.
        NameCase{"nfc_then_count", Repeat("e\xCC\x81", 100), Repeat("\xC3\xA9", 100), ""}),
    NameCaseLabel);

INSTANTIATE_TEST_SUITE_P(
    UnicodeInvalid, NormalizeNameTest,
    ::testing::Values(
        NameCase{"right_to_left_override", "invoice\xE2\x80\xAEtxt.exe", "", Hidden("U+202E")},
        NameCase{"left_to_right_mark", "a\u200Eb", "", Hidden("U+200E")},
        NameCase{"first_strong_isolate", "a\u2068b", "", Hidden("U+2068")},
        NameCase{"arabic_letter_mark", "a\u061Cb", "", Hidden("U+061C")},
        NameCase{"zero_width_space", "prod\xE2\x80\x8B", "", Hidden("U+200B")},
        NameCase{"zero_width_joiner", "a\u200Db", "", Hidden("U+200D")},
        NameCase{"word_joiner", "a\u2060b", "", Hidden("U+2060")},
        NameCase{"byte_order_mark", "\xEF\xBB\xBFprod", "", Hidden("U+FEFF")},
        NameCase{"soft_hyphen", "pro\u00ADd", "", Hidden("U+00AD")},
        NameCase{"tag_character", "a\xF3\xA0\x80\x81", "", Hidden("U+E0001")},
        NameCase{"hangul_filler_inside", "prod\xE3\x85\xA4x", "", Hidden("U+3164")},
        NameCase{"combining_grapheme_joiner", "a\u034Fb", "", Hidden("U+034F")},
        // A variation selector after a plain letter only hides there.
        NameCase{"variation_selector_after_letter", "prod\xEF\xB8\x8F", "", Hidden("U+FE0F")},
        // Nothing visible at all.
        NameCase{"only_zero_width_space", "\xE2\x80\x8B", "", Hidden("U+200B")},
        NameCase{"only_unicode_spaces", "\xC2\xA0\xE3\x80\x80\xE2\x80\x83", "", kEmpty},
        NameCase{"only_hangul_filler", "\xE3\x85\xA4", "", Hidden("U+3164")},
        NameCase{"only_combining_marks", "\xCC\x81\xCC\x82", "", kInvisible},
        NameCase{"only_braille_blank", "\xE2\xA0\x80\xE2\xA0\x80", "", kInvisible},
        NameCase{"mark_between_spaces", " \xCC\x81 ", "", kInvisible},
        // Inner controls stay controls, even where they are whitespace too.
        NameCase{"inner_nel", "a\xC2\x85z", "", kControl},
        NameCase{"nfc_101", Repeat("e\xCC\x81", 101), "",
                 "must be at most 100 characters (got 101)"},
        NameCase{"huge", std::string(5000, 'a'), "", "must be at most 100 characters"}),
    NameCaseLabel);

TEST(NormalizeNameTest, LookAlikesNormalizeToOneName) {
  // Each pair would otherwise be two names that read the same.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"caf\xC3\xA9", "cafe\xCC\x81"},
      {"prod", "\xE3\x80\x80prod\xC2\xA0"},
      {"my token", "my\xC2\xA0token"},
      {"\xEA\xB0\x80", "\xE1\x84\x80\xE1\x85\xA1"},
  };
  for (const auto& [a, b] : pairs) {
    SCOPED_TRACE(absl::CEscape(b));
    EXPECT_EQ(NormalizeName("name", a).value(), NormalizeName("name", b).value());
  }
}

// Random mixes of the characters above, valid or not: nothing crashes, and
// what NormalizeName accepts is a fixed point of it, at most 100 code points,
// that the name filter accepts too (so a stored name can always be searched).
TEST(NormalizeNameTest, RandomMixesNormalizeToAFixedPoint) {
  // One line each: ASCII and controls (NUL is added below); Unicode spaces;
  // format characters; other ignorables and variation selectors; marks,
  // letters, Hangul jamo; emoji, CJK, Hebrew, Greek; U+2800 and U+0958
  // (which NFC decomposes); bytes that are not UTF-8.
  std::vector<std::string> pieces = absl::StrSplit(
      "a|Z|0| |\t|\n|\x7f|\xC2\x85|"
      "\xC2\xA0|\xE3\x80\x80|\xE2\x80\x83|"
      "\xE2\x80\x8B|\xE2\x80\xAE|\xEF\xBB\xBF|\xC2\xAD|"
      "\xE3\x85\xA4|\xCD\x8F|\xEF\xB8\x8F|\xF3\xA0\x84\x80|"
      "\xCC\x81|\xCC\xA3|e|\xC3\xA9|\xE1\x84\x80|\xE1\x85\xA1|"
      "\xE2\x9D\xA4|\xF0\x9F\x94\x91|\xE8\x91\x9B|\xD7\xA9|\xCE\xA3|"
      "\xE2\xA0\x80|\xE0\xA5\x98|"
      "\xFF|\xC3|\xED\xA0\x80|\xF4\x90\x80\x80|\x80",
      '|');
  pieces.push_back(std::string(1, '\0'));
  std::mt19937 random(20261128);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string input;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) input += pieces[random() % pieces.size()];
    SCOPED_TRACE(absl::CEscape(input));
    absl::StatusOr<std::string> name = NormalizeName("name", input);
    absl::StatusOr<std::string> filter = NormalizeNameFilter("name_contains", input);
    if (filter.ok()) FoldForSearch(*filter);
    if (!name.ok()) {
      ASSERT_EQ(FieldOf(name.status()), std::optional<std::string>("name")) << name.status();
      continue;
    }
    ++accepted;
    ASSERT_EQ(NormalizeName("name", *name).value_or("refused"), *name);
    ASSERT_TRUE(NormalizeNameFilter("name_contains", *name).ok());
    const size_t code_points = std::count_if(name->begin(), name->end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    });
    ASSERT_LE(code_points, kMaxNameChars);
  }
  EXPECT_GT(accepted, 200);  // the mix is not all refusals
}

// --- NormalizeNameFilter / FoldForSearch ---------------------------------------

TEST(NormalizeNameFilterTest, KeepsSpacesAndComposes) {
  EXPECT_EQ(NormalizeNameFilter("name_contains", "").value(), "");
  EXPECT_EQ(NormalizeNameFilter("name_contains", " prod").value(), " prod");
  EXPECT_EQ(NormalizeNameFilter("name_contains", "e\xCC\x81").value(), "\xC3\xA9");
  EXPECT_EQ(NormalizeNameFilter("name_contains", "% _'").value(), "% _'");
}

TEST(NormalizeNameFilterTest, RefusesWhatNoNameHolds) {
  // A NUL used to end the filter early and so match every token.
  ExpectFieldError(NormalizeNameFilter("name_contains", std::string("\0", 1)).status(),
                   "name_contains", kControl);
  ExpectFieldError(NormalizeNameFilter("name_contains", std::string("a\0b", 3)).status(),
                   "name_contains", kControl);
  ExpectFieldError(NormalizeNameFilter("name_contains", "a\nb").status(), "name_contains",
                   kControl);
  ExpectFieldError(NormalizeNameFilter("name_contains", "\xE2\x80\xAE").status(), "name_contains",
                   Hidden("U+202E"));
  ExpectFieldError(NormalizeNameFilter("name_contains", "caf\xE9").status(), "name_contains",
                   kBadUtf8);
}

TEST(FoldForSearchTest, FoldsCaseInEveryScript) {
  EXPECT_EQ(FoldForSearch("QA-Test-Token"), "qa-test-token");
  EXPECT_EQ(FoldForSearch("\u00C9COLE"), "\u00E9cole");
  EXPECT_EQ(FoldForSearch("Stra\u00DFe"), "strasse");
  EXPECT_EQ(FoldForSearch("STRASSE"), "strasse");
  // Greek final sigma and capital sigma fold alike.
  EXPECT_EQ(FoldForSearch("\xCE\xA3"), FoldForSearch("\xCF\x82"));
  // Decomposed and composed text fold alike.
  EXPECT_EQ(FoldForSearch("E\xCC\x81"), FoldForSearch("\xC3\xA9"));
  EXPECT_EQ(FoldForSearch(""), "");
}

TEST(NormalizeNameTest, NamesTheFieldItWasGiven) {
  EXPECT_EQ(FieldOf(NormalizeName("display_name", "").status()),
            std::optional<std::string>("display_name"));
  EXPECT_EQ(FieldOf(NormalizeName("name", Repeat("x", 101)).status()),
            std::optional<std::string>("name"));
}

// --- ValidateExpiry / ValidateDate -------------------------------------------

constexpr absl::CivilDay kToday(2026, 11, 28);

struct ExpiryCase {
  std::string input;
  int max_days;
  std::optional<absl::CivilDay> day;  // nullopt: error
  std::string error;
};

void CheckExpiry(const ExpiryCase& c) {
  SCOPED_TRACE(absl::StrCat("\"", c.input, "\" max_days=", c.max_days));
  absl::StatusOr<absl::CivilDay> got = ValidateExpiry("expires_on", c.input, kToday, c.max_days);
  if (c.day.has_value()) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, *c.day);
  } else {
    ExpectFieldError(got.status(), "expires_on", c.error);
  }
}

TEST(ValidateExpiryTest, Range) {
  for (const ExpiryCase& c : std::vector<ExpiryCase>{
           ExpiryCase{"2026-11-28", 365, std::nullopt, "expiry date must be after 2026-11-28"},
           ExpiryCase{"2026-11-27", 365, std::nullopt, "expiry date must be after 2026-11-28"},
           ExpiryCase{"1999-01-01", 365, std::nullopt, "expiry date must be after 2026-11-28"},
           ExpiryCase{"2026-11-29", 365, absl::CivilDay(2026, 11, 29), ""},
           ExpiryCase{"2027-04-11", 365, absl::CivilDay(2027, 4, 11), ""},
           ExpiryCase{"2027-11-28", 365, absl::CivilDay(2027, 11, 28), ""},
           ExpiryCase{"2027-11-29", 365, std::nullopt,
                      "expiry date must be at most 365 days ahead (2027-11-28 or earlier)"},
           ExpiryCase{"9999-12-31", 365, std::nullopt,
                      "expiry date must be at most 365 days ahead (2027-11-28 or earlier)"},
           ExpiryCase{"2026-12-28", 30, absl::CivilDay(2026, 12, 28), ""},
           ExpiryCase{"2026-12-29", 30, std::nullopt,
                      "expiry date must be at most 30 days ahead (2026-12-28 or earlier)"},
           ExpiryCase{"2026-11-29", 1, absl::CivilDay(2026, 11, 29), ""},
           ExpiryCase{"2026-11-30", 1, std::nullopt,
                      "expiry date must be at most 1 days ahead (2026-11-29 or earlier)"}}) {
    CheckExpiry(c);
  }
}

TEST(ValidateExpiryTest, Format) {
  for (const ExpiryCase& c : std::vector<ExpiryCase>{
           ExpiryCase{"", 365, std::nullopt, "is required (YYYY-MM-DD)"},
           ExpiryCase{"2027-4-1", 365, std::nullopt, "must be a date in YYYY-MM-DD format"},
           ExpiryCase{"2027-02-30", 365, std::nullopt, "is not a calendar date"},
           ExpiryCase{"2027-13-01", 365, std::nullopt, "is not a calendar date"},
           ExpiryCase{"tomorrow", 365, std::nullopt, "must be a date in YYYY-MM-DD format"},
           ExpiryCase{" 2027-04-01", 365, std::nullopt, "must be a date in YYYY-MM-DD format"},
           ExpiryCase{"2027-04-01T00:00:00Z", 365, std::nullopt,
                      "must be a date in YYYY-MM-DD format"},
           ExpiryCase{"2027/04/01", 365, std::nullopt, "must be a date in YYYY-MM-DD format"}}) {
    CheckExpiry(c);
  }
}

// Format errors win over range errors, whatever `today` is.
TEST(ValidateExpiryTest, LooseDatesAreFormatErrors) {
  ExpectFieldError(
      ValidateExpiry("expires_on", "2026-4-1", absl::CivilDay(2026, 1, 1), 365).status(),
      "expires_on", "must be a date in YYYY-MM-DD format");
  ExpectFieldError(
      ValidateExpiry("expires_on", "2026-02-30", absl::CivilDay(2026, 1, 1), 365).status(),
      "expires_on", "is not a calendar date");
}

TEST(ValidateExpiryTest, LeapDayCountsInTheRange) {
  const absl::CivilDay today(2028, 2, 28);
  EXPECT_EQ(ValidateExpiry("expires_on", "2028-02-29", today, 365).value(),
            absl::CivilDay(2028, 2, 29));
  // 2028 is a leap year: 365 days after 2028-02-28 is 2029-02-27.
  EXPECT_TRUE(ValidateExpiry("expires_on", "2029-02-27", today, 365).ok());
  EXPECT_FALSE(ValidateExpiry("expires_on", "2029-02-28", today, 365).ok());
}

// A token never issues one that outlives it: the issuer's expiry is a bound
// of its own, and the message names the latest date allowed.
TEST(ValidateExpiryTest, IssuerExpiryBoundsTheDate) {
  const absl::CivilDay issuer(2026, 12, 8);
  EXPECT_EQ(ValidateExpiry("expires_on", "2026-12-08", kToday, 365, issuer).value(), issuer);
  EXPECT_EQ(ValidateExpiry("expires_on", "2026-11-29", kToday, 365, issuer).value(),
            absl::CivilDay(2026, 11, 29));
  const std::string outlives =
      "expiry date must be 2026-12-08 or earlier: a token cannot issue a token that outlives it";
  ExpectFieldError(ValidateExpiry("expires_on", "2026-12-09", kToday, 365, issuer).status(),
                   "expires_on", outlives);
  // Also past the lifetime: the nearer bound is named.
  ExpectFieldError(ValidateExpiry("expires_on", "2028-01-01", kToday, 365, issuer).status(),
                   "expires_on", outlives);
  // An issuer that outlives the lifetime limit leaves that limit in charge.
  ExpectFieldError(
      ValidateExpiry("expires_on", "2027-11-29", kToday, 365, absl::CivilDay(2028, 1, 1)).status(),
      "expires_on", "expiry date must be at most 365 days ahead (2027-11-28 or earlier)");
  // Other rules come first.
  ExpectFieldError(ValidateExpiry("expires_on", "2026-11-28", kToday, 365, issuer).status(),
                   "expires_on", "expiry date must be after 2026-11-28");
}

TEST(ValidateDateTest, ParsesWithoutRangeRules) {
  EXPECT_EQ(ValidateDate("expires_before", "1999-01-01").value(), absl::CivilDay(1999, 1, 1));
  ExpectFieldError(ValidateDate("expires_before", "").status(), "expires_before",
                   "is required (YYYY-MM-DD)");
  ExpectFieldError(ValidateDate("expires_before", "01/02/2027").status(), "expires_before",
                   "must be a date in YYYY-MM-DD format");
}

// --- ValidateUserId ----------------------------------------------------------

TEST(ValidateUserIdTest, Accepted) {
  for (const std::string& id :
       std::vector<std::string>{"alice", "a", "0", "bob.smith", "svc_sidecar", "alice@example.com",
                                "x-1", "0day", std::string(64, 'z')}) {
    EXPECT_TRUE(ValidateUserId("user_id", id).ok()) << id;
  }
}

TEST(ValidateUserIdTest, Rejected) {
  for (const std::string& id :
       std::vector<std::string>{"", std::string(65, 'z'), "Alice", "aLICE", "alice smith", " alice",
                                "alice ", ".alice", "_alice", "-alice", "@alice", "\xC3\xA4lice",
                                "a/b", "a|b", "a*", "*", "alice\n", std::string("a\0b", 3)}) {
    absl::Status status = ValidateUserId("user_id", id);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << absl::CEscape(id);
    EXPECT_EQ(FieldOf(status), std::optional<std::string>("user_id")) << absl::CEscape(id);
  }
}

TEST(ValidateUserIdTest, Messages) {
  ExpectFieldError(ValidateUserId("user_id", ""), "user_id", "is required");
  ExpectFieldError(ValidateUserId("user_id", std::string(65, 'a')), "user_id",
                   "must be at most 64 characters");
  ExpectFieldError(
      ValidateUserId("owner", "Bob"), "owner",
      "must be lower-case letters, digits and . _ @ -, starting with a letter or digit");
}

// --- ValidateEmail -----------------------------------------------------------

TEST(ValidateEmailTest, Accepted) {
  for (const std::string& email : std::vector<std::string>{
           "", "a@b", "alice@example.com", "Alice.Smith+tokens@sub.example.org",
           "j\xC3\xB6rg@example.de", std::string(64, 'a') + "@" + std::string(189, 'b')}) {
    EXPECT_TRUE(ValidateEmail("email", email).ok()) << email;
  }
}

TEST(ValidateEmailTest, Rejected) {
  for (const std::string& email :
       std::vector<std::string>{"alice", "@example.com", "alice@", "@", "a@b@c", "a b@c", " a@b",
                                "a@b ", "a@b\n", "a\t@b", "a\x7f@b", std::string("a@b\0c", 5),
                                std::string(64, 'a') + "@" + std::string(190, 'b')}) {
    absl::Status status = ValidateEmail("email", email);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << absl::CEscape(email);
    EXPECT_EQ(FieldOf(status), std::optional<std::string>("email")) << absl::CEscape(email);
  }
}

TEST(ValidateEmailTest, Messages) {
  ExpectFieldError(ValidateEmail("email", "nope"), "email", "must look like name@example.com");
  ExpectFieldError(ValidateEmail("email", std::string(250, 'a') + "@b.cd"), "email",
                   "must be at most 254 characters");
}

// --- ValidatePageSize --------------------------------------------------------

TEST(ValidatePageSizeTest, DefaultsAndClamps) {
  EXPECT_EQ(ValidatePageSize("page_size", 0).value(), kDefaultPageSize);
  EXPECT_EQ(ValidatePageSize("page_size", 1).value(), 1);
  EXPECT_EQ(ValidatePageSize("page_size", 7).value(), 7);
  EXPECT_EQ(ValidatePageSize("page_size", kMaxPageSize).value(), kMaxPageSize);
  EXPECT_EQ(ValidatePageSize("page_size", kMaxPageSize + 1).value(), kMaxPageSize);
  EXPECT_EQ(ValidatePageSize("page_size", INT_MAX).value(), kMaxPageSize);
}

TEST(ValidatePageSizeTest, RejectsNegative) {
  ExpectFieldError(ValidatePageSize("page_size", -1).status(), "page_size", "must not be negative");
  ExpectFieldError(ValidatePageSize("limit", INT_MIN).status(), "limit", "must not be negative");
}

// --- ValidateTokenId ---------------------------------------------------------

TEST(ValidateTokenIdTest, AcceptsCanonicalLowerCaseUuids) {
  EXPECT_TRUE(ValidateTokenId("id", "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a").ok());
  EXPECT_TRUE(ValidateTokenId("id", "00000000-0000-0000-0000-000000000000").ok());
  EXPECT_TRUE(ValidateTokenId("id", "ffffffff-ffff-ffff-ffff-ffffffffffff").ok());
}

TEST(ValidateTokenIdTest, Rejected) {
  for (const std::string& id :
       std::vector<std::string>{"0F8C2E4A-1B3D-4C5E-8F9A-0B1C2D3E4F5A",    // upper case
                                "0f8c2e4a1b3d4c5e8f9a0b1c2d3e4f5a",        // no dashes
                                "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5",     // short
                                "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a0",   // long
                                "0f8c2e4a-1b3d-4c5e-8f9a0-b1c2d3e4f5a",    // dash misplaced
                                "0f8c2e4g-1b3d-4c5e-8f9a-0b1c2d3e4f5a",    // not hex
                                "{0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a}",  // braces
                                " 0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5",    // space
                                "utk_0123456789ABCDEFGHIJKLMNOPQRSTUVW3ffP4c"}) {
    ExpectFieldError(ValidateTokenId("id", id), "id", "is not a token id");
  }
}

TEST(ValidateTokenIdTest, EmptyIsRequired) {
  ExpectFieldError(ValidateTokenId("token_id", ""), "token_id", "is required");
}

// --- ValidateClientAddress -----------------------------------------------------

TEST(ValidateClientAddressTest, AcceptsIpAddressesAndEmpty) {
  for (const std::string& address : std::vector<std::string>{
           "", "192.0.2.7", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::1", "2001:DB8::1",
           "fe80::1:2:3:4", "::ffff:192.0.2.1", "0000:0000:0000:0000:0000:ffff:255.255.255.255"}) {
    EXPECT_TRUE(ValidateClientAddress("from", address, 64).ok()) << address;
  }
}

TEST(ValidateClientAddressTest, RefusesWhatIsNoAddress) {
  // Made of the right characters, but no address: the old rule took them.
  for (const std::string& address : std::vector<std::string>{
           "deadbeef", "cafe", ":::", "...", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4.5",
           "1:2:3:4:5:6:7:8:9", "::1::2", "1.2.3.4:", "fe80::1%eth0", "[::1]", "192.0.2.7:443",
           " 192.0.2.7", std::string("1.2.3.4\0", 8), "localhost", "10.0.0.1; DROP TABLE"}) {
    ExpectFieldError(ValidateClientAddress("from", address, 64), "from",
                     "must be an IPv4 or IPv6 address");
  }
  ExpectFieldError(ValidateClientAddress("from", std::string(65, '1'), 64), "from",
                   "must be at most 64 characters");
}

}  // namespace
}  // namespace tokens::service
