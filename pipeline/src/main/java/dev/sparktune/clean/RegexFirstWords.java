package dev.sparktune.clean;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a refusal regex's match must start with, worked out from its source when that is certain: its
 * first letters ({@link #letters}) or its whole first word ({@link #of}). The first word: {@code \b}
 * and a run of ASCII letters (or a group of such alternatives) followed by a character that is not a
 * letter and not optional ({@code "\bi( cannot| can't)"} starts with the word
 * "i", {@code "\b(openai|anthropic)['\u2019]s"} with "openai" or "anthropic"). The detector then tries
 * such a regex only where the text's word (its run of letters) is one of those, instead of at every
 * word that starts with the same letter. Anything less certain gives null, and the regex stays
 * indexed by its first letter.
 */
final class RegexFirstWords {
  private RegexFirstWords() {}

  /** The lower-case first words of {@code regex}, or null when they cannot be told for certain. */
  static Set<String> of(String regex) {
    if (!regex.startsWith("\\b") || topLevelAlternation(regex)) {
      return null;
    }
    Set<String> out = new TreeSet<>();
    for (String branch : branches(regex.substring(2))) {
      String word = exactWord(branch);
      if (word == null) {
        return null;
      }
      out.add(word);
    }
    return out.isEmpty() ? null : out;
  }

  /**
   * The lower-case letters a match of {@code regex} can start with, when it is {@code \b} followed
   * by a letter or a group of alternatives that each start with a letter, none of them optional;
   * otherwise null.
   */
  static Set<Character> letters(String regex) {
    if (!regex.startsWith("\\b") || topLevelAlternation(regex)) {
      return null;
    }
    Set<Character> out = new TreeSet<>();
    for (String branch : branches(regex.substring(2))) {
      if (branch.isEmpty() || !Character.isLetter(branch.charAt(0))
          || branch.length() > 1 && "?*{".indexOf(branch.charAt(1)) >= 0) {
        return null;
      }
      out.add(Character.toLowerCase(branch.charAt(0)));
    }
    return out.isEmpty() ? null : out;
  }

  /**
   * The literal texts (lower case), one of which every match of {@code regex} starts with: after its
   * {@code \b}, the run of plain characters (ASCII letters and digits, space, comma, apostrophe,
   * hyphen) that each branch opens with, less a last character a quantifier makes optional; null when
   * a branch opens with no such run. {@code "\b(against|violates?) my"} gives "against my " and
   * "violate".
   */
  static String[] prefixes(String regex) {
    if (!regex.startsWith("\\b") || topLevelAlternation(regex)) {
      return null;
    }
    List<String> branches = branches(regex.substring(2));
    String[] out = new String[branches.size()];
    for (int b = 0; b < out.length; b++) {
      String branch = branches.get(b);
      int j = 0;
      while (j < branch.length() && plain(branch.charAt(j))) {
        j++;
      }
      if (quantified(branch, j) && branch.charAt(j) != '+') {
        j--; // "s?": the s may be absent
      }
      if (j <= 0) {
        return null;
      }
      out[b] = branch.substring(0, j).toLowerCase(Locale.ROOT);
    }
    return out.length == 0 ? null : out;
  }

  private static boolean plain(char c) {
    return isAsciiLetter(c) || c >= '0' && c <= '9' || c == ' ' || c == ',' || c == '\'' || c == '-';
  }

  /** Whether {@code regex} has a | outside every group: its later branches then start anywhere. */
  static boolean topLevelAlternation(String regex) {
    boolean[] found = {false};
    scan(regex, (i, depth) -> found[0] |= regex.charAt(i) == '|' && depth == 0);
    return found[0];
  }

  /** {@code s} itself, or, when it starts with a group, each alternative followed by what comes after it. */
  private static List<String> branches(String s) {
    if (!s.startsWith("(")) {
      return List.of(s);
    }
    int close = closingParen(s);
    if (close < 0 || s.startsWith("(?") && !s.startsWith("(?:") || quantified(s, close + 1)) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String alt : alternatives(s.substring(s.startsWith("(?:") ? 3 : 1, close))) {
      out.add(alt + s.substring(close + 1));
    }
    return out;
  }

  private static String exactWord(String branch) {
    int j = 0;
    while (j < branch.length() && isAsciiLetter(branch.charAt(j))) {
      j++;
    }
    if (j == 0) {
      return null;
    }
    String word = branch.substring(0, j).toLowerCase(Locale.ROOT);
    String next = branch.substring(j);
    if (next.isEmpty()) {
      return word;
    }
    if (next.startsWith("(")) {
      // A group right after the word: each of its alternatives must open with a non-letter.
      int close = closingParen(next);
      if (close < 0 || next.startsWith("(?") && !next.startsWith("(?:") || quantified(next, close + 1)) {
        return null;
      }
      for (String alt : alternatives(next.substring(next.startsWith("(?:") ? 3 : 1, close))) {
        if (!opensWithNonLetter(alt)) {
          return null;
        }
      }
      return word;
    }
    return opensWithNonLetter(next) ? word : null;
  }

  /** Whether {@code s} starts with a non-letter it cannot skip: a space, comma, \s, \b or an apostrophe class. */
  private static boolean opensWithNonLetter(String s) {
    for (String token : List.of(" ", ",", "\\s", "\\b", "\\.", "['\\u2019]", "['\u2019]")) {
      if (s.startsWith(token)) {
        return token.equals("\\b") || !quantified(s, token.length()) || s.charAt(token.length()) == '+';
      }
    }
    return false;
  }

  private static boolean quantified(String s, int at) {
    return at < s.length() && "?*+{".indexOf(s.charAt(at)) >= 0;
  }

  private static boolean isAsciiLetter(char c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z';
  }

  /** Index of the ')' closing the group {@code s} opens with, or -1 (escapes and [classes] skipped). */
  private static int closingParen(String s) {
    int[] close = {-1};
    scan(s, (i, depth) -> {
      if (s.charAt(i) == ')' && depth == 0 && close[0] < 0) {
        close[0] = i;
      }
    });
    return close[0];
  }

  /** The top-level alternatives of a group's body. */
  private static List<String> alternatives(String body) {
    List<String> out = new ArrayList<>();
    int[] from = {0};
    scan(body, (i, depth) -> {
      if (body.charAt(i) == '|' && depth == 0) {
        out.add(body.substring(from[0], i));
        from[0] = i + 1;
      }
    });
    out.add(body.substring(from[0]));
    return out;
  }

  /** What {@link #scan} reports: a structural character and the group depth after it. */
  private interface Visitor {
    void at(int index, int depth);
  }

  /** Walks a regex's structural characters ( ) | outside escapes and [classes], with the group depth. */
  private static void scan(String s, Visitor visitor) {
    int depth = 0;
    boolean inClass = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        i++;
      } else if (inClass) {
        inClass = c != ']';
      } else if (c == '[') {
        inClass = true;
      } else if (c == '(' || c == ')' || c == '|') {
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        visitor.at(i, depth);
      }
    }
  }
}
