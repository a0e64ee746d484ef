package dev.sparktune.clean;

import com.hankcs.algorithm.AhoCorasickDoubleArrayTrie;
import java.io.Serializable;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Finds refusal and AI boilerplate ("As an AI language model…", "I'm sorry, but I cannot…") in text,
 * from a phrase list and a regex list, and strips the sentences that contain it.
 *
 * <p>Phrases match case-insensitively, on word boundaries where the phrase starts or ends with a
 * letter or digit ("openai" does not match "OpenAPI"); a space in a phrase matches any run of
 * whitespace, and straight and curly apostrophes are the same. Regexes are Java patterns compiled
 * case-insensitive and Unicode-aware. Every match reports the list entry that produced it, so drops
 * and removals can be counted per phrase.
 */
public final class RefusalDetector implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A match of one list entry at [start, end) of the text. */
  public record Match(int start, int end, String phrase) {}

  /** A sentence removed by {@link #strip}, with the entry that matched in it. */
  public record Removal(String sentence, String phrase) {}

  /** What {@link #strip} left, and what it took out. */
  public record Stripped(String text, List<Removal> removed) {}

  private final List<String> phraseList = new ArrayList<>();
  /**
   * All phrases in one Aho–Corasick automaton, run over the folded text (one pass per text): a DFA
   * ({@link PhraseAutomaton}, one table step per character) where its table fits, else a double-array
   * trie (org.ahocorasick's trie, before either, did a boxed hash-map lookup per character).
   */
  private transient PhraseAutomaton phraseDfa;
  private transient AhoCorasickDoubleArrayTrie<String> phraseTrie;
  /** The largest DFA table built (entries); tests set 0 to run the trie. */
  private final long maxDfaEntries;
  private final List<String> regexSources;
  private transient List<Pattern> regexes;
  /**
   * Regexes that start with {@code \b} and a known first word, or else a known set of first letters:
   * tried only at word starts with that word or letter (anchored), instead of each scanning the whole text.
   */
  private transient RegexStarts starts;
  /** Regexes whose first letters could not be worked out: searched the slow way. */
  private transient List<Integer> regexAnywhere;
  /**
   * Whether regexes are indexed by their first word and checked against their literal starts where
   * these are known (off: by first letter only, as a reference).
   */
  private final boolean byWord;

  public RefusalDetector(List<String> phrases, List<String> regexSources) {
    this(phrases, regexSources, true, PhraseAutomaton.MAX_ENTRIES);
  }

  RefusalDetector(List<String> phrases, List<String> regexSources, boolean byWord, long maxDfaEntries) {
    this.byWord = byWord;
    this.maxDfaEntries = maxDfaEntries;
    LinkedHashSet<String> unique = new LinkedHashSet<>();
    for (String p : phrases) {
      String n = normalizePhrase(p);
      if (!n.isEmpty()) {
        unique.add(n);
      }
    }
    phraseList.addAll(unique);
    this.regexSources = List.copyOf(regexSources);
    compile();
  }

  private void compile() {
    java.util.TreeMap<String, String> keyed = new java.util.TreeMap<>();
    for (String p : phraseList) {
      keyed.put(p, p);
    }
    phraseTrie = null; // no phrases: nothing to fold or search for
    phraseDfa = keyed.isEmpty() ? null : PhraseAutomaton.of(List.copyOf(keyed.keySet()), maxDfaEntries);
    if (!keyed.isEmpty() && phraseDfa == null) {
      phraseTrie = new AhoCorasickDoubleArrayTrie<>();
      phraseTrie.build(keyed);
    }
    List<Pattern> compiled = new ArrayList<>();
    for (String r : regexSources) {
      try {
        compiled.add(Pattern.compile(r, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE));
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("refusal regex '" + r + "' does not compile: " + e.getDescription(), e);
      }
    }
    regexes = compiled;
    starts = new RegexStarts();
    regexAnywhere = new ArrayList<>();
    for (int k = 0; k < regexSources.size(); k++) {
      java.util.Set<String> words = byWord ? RegexFirstWords.of(regexSources.get(k)) : null;
      java.util.Set<Character> first = RegexFirstWords.letters(regexSources.get(k));
      starts.addPrefixes(k, byWord ? RegexFirstWords.prefixes(regexSources.get(k)) : null);
      if (words != null) {
        for (String w : words) {
          starts.addWord(w, k);
        }
      } else if (first == null) {
        regexAnywhere.add(k);
      } else {
        for (char c : first) {
          starts.addLetter(c, k);
        }
      }
    }
  }

  private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
    in.defaultReadObject();
    compile();
  }

  /** The entries of a list file: one per line, blank lines and {@code #} comments skipped. */
  public static List<String> parseList(String fileText) {
    List<String> out = new ArrayList<>();
    for (String line : fileText.split("\r?\n")) {
      String t = line.strip();
      if (!t.isEmpty() && !t.startsWith("#")) {
        out.add(t);
      }
    }
    return out;
  }

  static String normalizePhrase(String p) {
    StringBuilder sb = new StringBuilder();
    boolean space = false;
    for (char c : p.strip().toCharArray()) {
      if (Character.isWhitespace(c)) {
        space = true;
        continue;
      }
      if (space && sb.length() > 0) {
        sb.append(' ');
      }
      space = false;
      sb.append(fold(c));
    }
    return sb.toString();
  }

  static char fold(char c) {
    if (c < 128) { // the common case, without the Unicode tables
      return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c == '`' ? '\'' : c;
    }
    if (c == '\u2019' || c == '\u2018' || c == '\u02BC') {
      return '\'';
    }
    return Character.toLowerCase(c);
  }

  static boolean isSpace(char c) {
    return c < 128 ? c == ' ' || c >= '\t' && c <= '\r' || c >= '\u001C' && c <= '\u001F' : Character.isWhitespace(c);
  }

  private static boolean isWordChar(char c) {
    return c < 128 ? ASCII_WORD[c] : Character.isLetterOrDigit(c);
  }

  /** {@link Character#isLetterOrDigit} of the ASCII characters. */
  private static final boolean[] ASCII_WORD = new boolean[128];

  static {
    for (char c = 0; c < 128; c++) {
      ASCII_WORD[c] = Character.isLetterOrDigit(c);
    }
  }

  /** The first match in {@code text} (by position; the longest entry there), or null. */
  public Match first(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    List<Match> slowFirst = slowRegexes(text, true);
    Match slow = slowFirst.isEmpty() ? null : slowFirst.get(0);
    Match[] phrase = {null}; // the earliest phrase match, the longest there
    phrases(text, (s, t, p) -> {
      if (phrase[0] == null || s < phrase[0].start() || s == phrase[0].start() && t > phrase[0].end()) {
        phrase[0] = new Match(s, t, p);
      }
    });
    int limit = Math.min(slow == null ? text.length() : slow.start() + 1,
        phrase[0] == null ? text.length() : phrase[0].start() + 1);
    Matcher[] matchers = new Matcher[regexes.size()];
    int phraseAt = phrase[0] == null ? -1 : phrase[0].start();
    boolean afterWord = false; // whether the character before i is a letter or digit
    for (int i = 0; i < limit; i++) {
      char c = text.charAt(i);
      // Most places are inside a word, or start with a letter no regex starts with: two table lookups.
      Match r = afterWord || !starts.mayStart(c) ? null : regexAt(text, i, matchers);
      afterWord = isWordChar(c);
      Match m = longer(i == phraseAt ? phrase[0] : null, r);
      if (m != null) {
        return slow != null && slow.start() == m.start() ? longer(m, slow) : m;
      }
    }
    return slow;
  }

  /** Every match, in text order, not overlapping each other. */
  public List<Match> all(String text) {
    List<Match> out = new ArrayList<>();
    if (text == null || text.isEmpty()) {
      return out;
    }
    Match[] phrase = phraseMatches(text);
    Matcher[] matchers = new Matcher[regexes.size()];
    int i = 0;
    while (i < text.length()) {
      boolean start = (i == 0 || !isWordChar(text.charAt(i - 1))) && starts.mayStart(text.charAt(i));
      Match m = longer(phrase[i], start ? regexAt(text, i, matchers) : null);
      if (m != null) {
        out.add(m);
        i = m.end();
      } else {
        i++;
      }
    }
    out.addAll(slowRegexes(text, false));
    out.sort(Comparator.comparingInt(Match::start).thenComparing(m -> -m.end()));
    return out;
  }

  /** The longest phrase match starting at each position of {@code text} (null where none). */
  private Match[] phraseMatches(String text) {
    Match[] out = new Match[text.length()];
    phrases(text, (s, t, p) -> {
      if (out[s] == null || t > out[s].end()) {
        out[s] = new Match(s, t, p);
      }
    });
    return out;
  }

  /** Receives a phrase match at [start, end) of the text. */
  private interface Found {
    void at(int start, int end, String phrase);
  }

  /**
   * Every phrase match in {@code text} (overlapping ones too): one Aho–Corasick pass over the text
   * folded as phrases are (lower case, apostrophes unified, whitespace runs as one space), then the
   * word-boundary checks on the original text.
   */
  private void phrases(String text, Found found) {
    int n = text.length();
    if (phraseDfa == null && phraseTrie == null) {
      return;
    }
    FoldBuffers b = FoldBuffers.of(n);
    char[] folded = b.folded;
    int[] start = b.start;
    int[] end = b.end;
    int m = 0;
    int i = 0;
    while (i < n) {
      char c = text.charAt(i);
      start[m] = i;
      if (isSpace(c)) {
        int j = i + 1;
        while (j < n && isSpace(text.charAt(j))) {
          j++;
        }
        end[m] = j;
        folded[m++] = ' ';
        i = j;
      } else {
        end[m] = ++i;
        folded[m++] = fold(c);
      }
    }
    PhraseAutomaton.Hit hit = (first, afterLast, p) -> {
      int s = start[first];
      int t = end[afterLast - 1];
      if (isWordChar(p.charAt(0)) && s > 0 && isWordChar(text.charAt(s - 1))
          || isWordChar(p.charAt(p.length() - 1)) && t < n && isWordChar(text.charAt(t))) {
        return;
      }
      found.at(s, t, p);
    };
    if (phraseDfa != null) {
      phraseDfa.scan(folded, m, hit);
    } else {
      phraseTrie.parseText(Arrays.copyOf(folded, m), hit::hit);
    }
  }

  private static Match longer(Match a, Match b) {
    if (a == null) {
      return b;
    }
    return b == null || a.end() >= b.end() ? a : b;
  }

  /**
   * The longest indexed-regex match starting exactly at {@code i}, or null; {@code i} is a word start
   * (no letter or digit before it) whose character may start a regex ({@link RegexStarts#mayStart}).
   */
  private Match regexAt(String text, int i, Matcher[] matchers) {
    char first = RegexStarts.fold(text.charAt(i));
    Match best = regexesAt(starts.letterAt(first), text, i, matchers, null);
    return regexesAt(starts.wordAt(first, text, i), text, i, matchers, best);
  }

  /** The longest match at {@code i} of the regexes {@code ks} (may be null), if longer than {@code best}. */
  private Match regexesAt(List<Integer> ks, String text, int i, Matcher[] matchers, Match best) {
    for (int q = 0; ks != null && q < ks.size(); q++) {
      int k = ks.get(q);
      if (!starts.mayMatch(k, text, i)) {
        continue; // the text here does not open as the regex's literal start does
      }
      Matcher m = matchers[k];
      if (m == null) {
        m = regexes.get(k).matcher(text); // one matcher per regex and text, moved by region()
        matchers[k] = m;
      }
      m.region(i, text.length());
      m.useTransparentBounds(true);
      m.useAnchoringBounds(false);
      if (m.lookingAt() && m.end() > i && (best == null || m.end() > best.end())) {
        best = new Match(i, m.end(), regexSources.get(k));
      }
    }
    return best;
  }

  private List<Match> slowRegexes(String text, boolean firstOnly) {
    List<Match> out = new ArrayList<>();
    for (int k : regexAnywhere) {
      Matcher m = regexes.get(k).matcher(text);
      while (m.find()) {
        if (m.end() > m.start()) {
          out.add(new Match(m.start(), m.end(), regexSources.get(k)));
          if (firstOnly) {
            break;
          }
        }
      }
    }
    out.sort(Comparator.comparingInt(Match::start));
    return out;
  }

  /**
   * Removes every sentence that contains a match. The text between the removed sentences is kept
   * as written; whitespace left at the seams is tidied.
   */
  public Stripped strip(String text) {
    List<Match> matches = all(text);
    if (matches.isEmpty()) {
      return new Stripped(text, List.of());
    }
    BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
    sentences.setText(text);
    List<int[]> ranges = new ArrayList<>();
    List<String> phrases = new ArrayList<>();
    for (Match m : matches) {
      int start = sentences.preceding(Math.min(m.start() + 1, text.length()));
      start = start == BreakIterator.DONE ? 0 : start;
      int end = sentences.following(Math.max(m.end() - 1, 0));
      end = end == BreakIterator.DONE ? text.length() : end;
      if (!ranges.isEmpty() && start < ranges.get(ranges.size() - 1)[1]) {
        int[] last = ranges.get(ranges.size() - 1);
        last[1] = Math.max(last[1], end);
      } else {
        ranges.add(new int[] {start, end});
        phrases.add(m.phrase());
      }
    }
    StringBuilder kept = new StringBuilder();
    List<Removal> removed = new ArrayList<>();
    int pos = 0;
    for (int r = 0; r < ranges.size(); r++) {
      int[] range = ranges.get(r);
      kept.append(text, pos, range[0]);
      removed.add(new Removal(text.substring(range[0], range[1]).strip(), phrases.get(r)));
      pos = range[1];
    }
    kept.append(text, pos, text.length());
    String tidy = kept.toString().replaceAll("[ \\t]+\\n", "\n").replaceAll("\\n{3,}", "\n\n")
        .replaceAll("[ \\t]{2,}", " ").strip();
    return new Stripped(tidy, removed);
  }
}
