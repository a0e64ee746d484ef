package dev.sparktune.ingest.html;

import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Pass 3 of {@link MainTextExtractor} on the rendered text: drops short lines that read like site
 * chrome (copyright, cookie and newsletter notices, ...), whatever element they came from.
 */
final class BoilerplateLines {
  private BoilerplateLines() {}

  /**
   * Short lines that say what site chrome says in any page (copyright, cookie notices, newsletter
   * and sign-in prompts, visitor counters, "powered by"), in English, German, French and Spanish;
   * lower case, matched against the lower-cased line.
   */
  private static final List<Phrase> BOILERPLATE_LINE = java.util.stream.Stream.of("©", "\\(c\\)\\s*\\d{4}",
      "all rights reserved", "powered by", "we uses? cookies", "this site uses? cookies", "this website uses? cookies",
      "cookie (policy|settings|preferences)", "accept (all )?cookies", "newsletter", "subscribe to", "sign up for",
      "log ?in or register", "you must (log ?in|be logged in)", "affiliate (links?|commission)", "^advertisement",
      "^sponsored", "you are visitor", "visitor (number|#|no\\.)", "best viewed (with|in)", "follow us on",
      "back to top", "share (this|on) ", "terms of (use|service)", "privacy policy", "skip to (main )?content",
      "alle rechte vorbehalten", "datenschutz", "impressum", "tous droits réservés", "mentions légales",
      "utilise des cookies", "todos los derechos reservados", "aviso legal", "utiliza(mos)? cookies", "boletín",
      "suscríbete", "abonnez-vous", "inscrivez-vous").map(Phrase::of).toList();
  private static final Pattern BLANK_LINES = Pattern.compile("\n{3,}");

  /**
   * One chrome phrase: its pattern, and the literal text every match starts with, looked for first. One
   * case-insensitive alternation of all phrases tried each of them at every position of every line
   * (about 35 µs a line: 25 s for a 50 MB page); a line that contains none of the literals is now
   * passed in about a microsecond.
   *
   * @param literal what every match starts with ("" when the pattern starts with an operator)
   * @param anchored whether a match must start the line ({@code ^})
   * @param pattern null when the phrase is all literal
   */
  private record Phrase(String literal, boolean anchored, Pattern pattern) {
    static Phrase of(String regex) {
      boolean anchored = regex.startsWith("^");
      StringBuilder literal = new StringBuilder();
      int i = anchored ? 1 : 0;
      while (i < regex.length()) {
        char c = regex.charAt(i);
        if (c == '\\' && i + 1 < regex.length() && !Character.isLetterOrDigit(regex.charAt(i + 1))) {
          literal.append(regex.charAt(i + 1));
          i += 2;
        } else if ("\\^$.|?*+()[]{}".indexOf(c) < 0) {
          literal.append(c);
          i++;
        } else {
          break;
        }
      }
      if (i == regex.length()) {
        return new Phrase(literal.toString(), anchored, null);
      }
      // A quantifier makes the character before it optional.
      if ("?*+{".indexOf(regex.charAt(i)) >= 0 && literal.length() > 0) {
        literal.setLength(literal.length() - 1);
      }
      return new Phrase(literal.toString(), anchored, Pattern.compile(regex));
    }

    boolean foundIn(String lowerCaseLine) {
      boolean candidate = anchored ? lowerCaseLine.startsWith(literal) : lowerCaseLine.contains(literal);
      return candidate && (pattern == null || pattern.matcher(lowerCaseLine).find());
    }
  }

  /** {@code text} without its short chrome lines, with runs of blank lines cut to one. */
  static String drop(String text) {
    StringBuilder out = new StringBuilder(text.length() + 1);
    for (String line : text.split("\n", -1)) {
      if (line.length() < 250 && isBoilerplate(line.toLowerCase(Locale.ROOT))) {
        continue;
      }
      out.append(line).append('\n');
    }
    return BLANK_LINES.matcher(out).replaceAll("\n\n").strip();
  }

  private static boolean isBoilerplate(String lowerCaseLine) {
    for (Phrase p : BOILERPLATE_LINE) {
      if (p.foundIn(lowerCaseLine)) {
        return true;
      }
    }
    return false;
  }
}
