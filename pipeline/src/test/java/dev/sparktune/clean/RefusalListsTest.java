package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Guards the shipped lists (conf/refusal-phrases.txt, conf/refusal-regexes.txt) against the bugs of
 * the public ones: two phrases glued into one line by a missing separator, duplicates, regexes that
 * do not compile; and checks matching on the cases that matter.
 */
class RefusalListsTest {
  private static final Path CONF = Path.of("..", "conf");

  static List<String> phrases() throws IOException {
    return RefusalDetector.parseList(Files.readString(CONF.resolve("refusal-phrases.txt")));
  }

  static List<String> regexes() throws IOException {
    return RefusalDetector.parseList(Files.readString(CONF.resolve("refusal-regexes.txt")));
  }

  @Test
  void eachLineIsOneDistinctPlausiblePhrase() throws IOException {
    Map<String, Integer> seen = new HashMap<>();
    List<String> lines = phrases();
    assertTrue(lines.size() >= 50, "the phrase list is suspiciously short: " + lines.size());
    for (String p : lines) {
      String n = RefusalDetector.normalizePhrase(p);
      assertTrue(seen.put(n, 1) == null, "duplicate phrase: " + p);
      assertTrue(p.length() <= 80, "suspiciously long line (two phrases glued together?): " + p);
      assertTrue(p.split("\\s+").length <= 12, "too many words for one phrase: " + p);
      assertFalse(p.contains("\"") || p.contains("\t"), "quotes or tabs suggest a pasted list: " + p);
      assertTrue(p.equals(p.strip()), "stray whitespace: '" + p + "'");
    }
  }

  @Test
  void asciiShortcutsFoldAndSplitAsTheUnicodeTables() {
    for (char c = 0; c < Character.MAX_VALUE; c++) {
      char folded = c == '\u2019' || c == '\u2018' || c == '\u02BC' || c == '`' ? '\'' : Character.toLowerCase(c);
      assertEquals(folded, RefusalDetector.fold(c), "fold of U+" + Integer.toHexString(c));
      assertEquals(Character.isWhitespace(c), RefusalDetector.isSpace(c), "space U+" + Integer.toHexString(c));
    }
  }

  /**
   * The detector's phrase DFA and double-array trie report exactly the occurrences (overlapping ones
   * too) that org.ahocorasick's trie reports, over folded texts stitched from the shipped phrases' pieces.
   */
  @Test
  void phraseTrieFindsWhatTheReferenceTrieFinds() throws IOException {
    List<String> normalized = phrases().stream().map(RefusalDetector::normalizePhrase).distinct().toList();
    java.util.TreeMap<String, String> keyed = new java.util.TreeMap<>();
    normalized.forEach(p -> keyed.put(p, p));
    com.hankcs.algorithm.AhoCorasickDoubleArrayTrie<String> trie = new com.hankcs.algorithm.AhoCorasickDoubleArrayTrie<>();
    trie.build(keyed);
    org.ahocorasick.trie.Trie reference = org.ahocorasick.trie.Trie.builder().addKeywords(normalized).build();
    PhraseAutomaton dfa = PhraseAutomaton.of(normalized, PhraseAutomaton.MAX_ENTRIES);
    java.util.Random random = new java.util.Random(8);
    int found = 0;
    for (int t = 0; t < 3_000; t++) {
      StringBuilder text = new StringBuilder();
      for (int w = random.nextInt(8); w >= 0; w--) {
        String p = normalized.get(random.nextInt(normalized.size()));
        int from = random.nextInt(3) == 0 ? random.nextInt(p.length()) : 0;
        int to = random.nextInt(3) == 0 ? from + random.nextInt(p.length() - from) + 1 : p.length();
        text.append(p, from, to).append(random.nextInt(4) == 0 ? "" : random.nextBoolean() ? " " : ", é ");
      }
      List<String> expected = new java.util.ArrayList<>();
      for (org.ahocorasick.trie.Emit e : reference.parseText(text)) {
        expected.add(e.getStart() + "-" + e.getEnd() + ":" + e.getKeyword());
      }
      List<String> actual = new java.util.ArrayList<>();
      trie.parseText(text, (com.hankcs.algorithm.AhoCorasickDoubleArrayTrie.IHit<String>) (begin, end, p) ->
          actual.add(begin + "-" + (end - 1) + ":" + p));
      List<String> scanned = new java.util.ArrayList<>();
      char[] chars = (text + "~tail").toCharArray(); // the length given is what is scanned
      dfa.scan(chars, text.length(), (begin, end, p) -> scanned.add(begin + "-" + (end - 1) + ":" + p));
      java.util.Collections.sort(expected);
      java.util.Collections.sort(actual);
      java.util.Collections.sort(scanned);
      assertEquals(expected, actual, text.toString());
      assertEquals(expected, scanned, text.toString());
      found += expected.size();
    }
    assertTrue(found > 5_000, "occurrences compared: " + found);
  }

  @Test
  void regexesCompileAndAreDistinct() throws IOException {
    List<String> rs = regexes();
    assertTrue(rs.size() >= 10);
    assertEquals(rs.size(), rs.stream().distinct().count(), "duplicate regex");
    for (String r : rs) {
      Pattern.compile(r, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
      // Indexed by first letter, a regex is tried only at word starts: 3x faster on the bench corpus.
      assertNotNull(RegexFirstWords.letters(r), "regex does not start with \\b and known letters: " + r);
    }
  }

  @Test
  void matchesRefusalsAndNotLegitimateText() throws IOException {
    RefusalDetector d = new RefusalDetector(phrases(), regexes());
    for (String refusal : List.of(
        "As an AI language model, I cannot browse the internet.",
        "I'm sorry, but I can't help with that request.",
        "I was trained by OpenAI and my knowledge cutoff is 2021.",
        "Is there anything else I can help you with?",
        "AS AN AI LANGUAGE MODEL I have no opinions.",
        "As an AI   language\nmodel, I must decline.",
        "I\u2019m sorry, but I cannot do that.")) {
      assertNotNull(d.first(refusal), "not caught: " + refusal);
    }
    for (String legit : List.of(
        "As an AI researcher, I study model robustness.",
        "I cannot stress enough how important backups are.",
        "The OpenAPI specification describes REST endpoints.",
        "We are sorry for the delay in shipping.",
        "Our company's ethical guidelines forbid gifts over 50 EUR, so please decline politely.")) {
      RefusalDetector.Match m = d.first(legit);
      assertNull(m, () -> "false positive on '" + legit + "': " + m);
    }
  }

  @Test
  void wordBoundariesAndCaseAreRespected() {
    RefusalDetector d = new RefusalDetector(List.of("openai", "as an ai language model", "*sigh*"), List.of());
    assertNull(d.first("OpenAIs are not a word, OpenAPI is"), "no match inside a longer word");
    assertNotNull(d.first("made by OPENAI."));
    assertNotNull(d.first("well *sigh* fine"), "non-letter edges match without boundaries");
    RefusalDetector.Match m = d.first("Hi. As an AI language model, I can't.");
    assertEquals(4, m.start());
    assertEquals("as an ai language model", m.phrase());
    RefusalDetector nested = new RefusalDetector(List.of("as an ai", "as an ai language model", "an ai"), List.of());
    assertEquals(m.toString(), nested.first("Hi. As an AI language model, I can't.").toString(),
        "the longest phrase at the earliest start");
  }

  @Test
  void firstLettersOfRegexes() {
    assertEquals(java.util.Set.of('i'), RegexFirstWords.letters("\\bi( cannot| can't) help"));
    assertEquals(java.util.Set.of('s', 'i', 'm'), RegexFirstWords.letters("\\b(sorry|i apologi[sz]e|my apologies),"));
    assertNull(RegexFirstWords.letters("\\b(foo|bar)? baz"), "an optional group could be skipped");
    assertNull(RegexFirstWords.letters("(?i)sorry"), "no leading word boundary");
    assertNull(RegexFirstWords.letters("\\b(s?orry|x) y"), "an alternative's optional first letter");
    assertNull(RegexFirstWords.letters("\\bs{0,1}orry"), "a first letter that may be absent");
    assertEquals(java.util.Set.of('a', 'c'), RegexFirstWords.letters("\\b(a[)|]b|c)"), "a bracket inside a class");
    assertEquals(0, new RefusalDetector(List.of(), List.of("\\b(s?orry|x) y")).first("orry y").start());
    RefusalDetector d = new RefusalDetector(List.of(), List.of("\\b(sorry|my apologies), but", "sorry+ x"));
    assertEquals(7, d.first("Well - sorry, but no").start(), "indexed regex at a word start");
    assertNotNull(d.first("ssorryyy x"), "an unindexed regex is still searched");
  }

  /** A regex with an alternation outside any group can match anywhere by its later branches: it is not indexed. */
  @Test
  void aTopLevelAlternationIsSearchedEverywhere() {
    for (String regex : List.of("\\bsorry|regret", "\\b(sorry|apologies) now|regret", "\\bsorry, but|regret")) {
      assertNull(RegexFirstWords.letters(regex), regex);
      assertNull(RegexFirstWords.of(regex), regex);
      RefusalDetector d = new RefusalDetector(List.of(), List.of(regex));
      assertEquals(3, d.first("We regret it").start(), regex);
      assertNotNull(d.first("Sorry now, sorry, but no"), regex);
    }
  }

  @Test
  void literalStartsOfRegexes() {
    assertArrayEquals(new String[] {"against my ", "violate", "in violation of my ", "outside"},
        RegexFirstWords.prefixes("\\b(against|violates?|in violation of|outside( of)?) my (rules|x)"));
    assertArrayEquals(new String[] {"i"}, RegexFirstWords.prefixes("\\bi( cannot| can't) help"));
    assertArrayEquals(new String[] {"sorry"}, RegexFirstWords.prefixes("\\bsorry+ x"));
    assertArrayEquals(new String[] {"as a"}, RegexFirstWords.prefixes("\\bAs an? (ai|bot)"));
    assertArrayEquals(new String[] {"i apologi", "my apologies,"}, RegexFirstWords.prefixes("\\b(i apologi[sz]e|my apologies),"));
    assertNull(RegexFirstWords.prefixes("\\b(foo|bar)? baz"), "an optional group");
    assertNull(RegexFirstWords.prefixes("\\b[ab]c"), "a class first");
    assertNull(RegexFirstWords.prefixes("\\bs?orry"), "an optional first letter");
    assertNull(RegexFirstWords.prefixes("\\bsorry|regret"), "a top-level alternation");
    assertNull(RegexFirstWords.prefixes("(?i)sorry"), "no leading word boundary");
  }

  @Test
  void firstWordsOfRegexes() {
    assertEquals(java.util.Set.of("i"), RegexFirstWords.of("\\bi( cannot| can['\u2019]t) help"));
    assertEquals(java.util.Set.of("i"), RegexFirstWords.of("\\bi (do not|don't) have"));
    assertEquals(java.util.Set.of("openai", "anthropic"), RegexFirstWords.of("\\b(openai|anthropic)['\\u2019]s x"));
    assertEquals(java.util.Set.of("is"), RegexFirstWords.of("\\bis there anything else"));
    assertNull(RegexFirstWords.of("\\b(against|violates?) my"), "an optional letter: the word is not certain");
    assertNull(RegexFirstWords.of("\\bsorry,?but"), "a skippable comma could join two words");
    assertNull(RegexFirstWords.of("\\bi(n|s) the"), "the group goes on with letters");
    assertEquals(java.util.Set.of("as"), RegexFirstWords.of("\\bas an?(?=x)"), "what follows the word does not matter");
    assertNull(RegexFirstWords.of("\\bas(?=x)"), "a lookahead right after the word is not followed");
  }

  /**
   * Texts made of the words the regexes start with, their phrases, and filler, in varied case, some
   * words run together.
   */
  static List<String> wordSoup(int seed, int count) {
    String[] words = {"i", "I", "i'm", "I\u2019m", "it", "is", "in", "its", "as", "an", "a", "ai", "AI", "my", "me",
        "sorry,", "cannot", "can't", "am", "not", "able", "to", "help", "with", "that", "language", "model,",
        "openai's", "content", "policy", "there", "anything", "else", "how", "can", "assist", "you", "today",
        "as of my last", "knowledge", "update", "do", "don't", "have", "access", "programming", "prevents",
        "the", "capital", "of", "France", "Paris", ".", ",", "\n", "I am just an AI", "beyond my capabilities",
        "against my guidelines", "i must decline", "it is not appropriate", "İ", "ıt", "ſorry"};
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    List<String> texts = new java.util.ArrayList<>();
    for (int t = 0; t < count; t++) {
      StringBuilder text = new StringBuilder();
      int n = 3 + random.nextInt(25);
      for (int w = 0; w < n; w++) {
        String word = words[random.nextInt(words.length)];
        text.append(random.nextInt(5) == 0 ? word.toUpperCase(java.util.Locale.ROOT) : word)
            .append(random.nextInt(8) == 0 ? "" : random.nextInt(6) == 0 ? " \t\n " : " ");
      }
      texts.add(text.toString());
    }
    return texts;
  }

  /** What first() must give: the earliest of all() (the longest at that start). */
  static RefusalDetector.Match firstOfAll(RefusalDetector d, String text) {
    List<RefusalDetector.Match> all = d.all(text);
    return all.isEmpty() ? null : all.get(0);
  }

  /** Indexing regexes by their whole first word finds exactly what indexing by first letter finds. */
  @Test
  void firstWordIndexFindsWhatTheFirstLetterIndexFinds() throws IOException {
    RefusalDetector byWord = new RefusalDetector(phrases(), regexes());
    RefusalDetector byLetter = new RefusalDetector(phrases(), regexes(), false, PhraseAutomaton.MAX_ENTRIES);
    int found = 0;
    for (String s : wordSoup(5, 4000)) {
      assertEquals(String.valueOf(byLetter.first(s)), String.valueOf(byWord.first(s)), s);
      assertEquals(byLetter.all(s).toString(), byWord.all(s).toString(), s);
      assertEquals(String.valueOf(firstOfAll(byWord, s)), String.valueOf(byWord.first(s)), s);
      found += byWord.first(s) == null ? 0 : 1;
    }
    assertTrue(found > 1000, "the texts should hold refusals often: " + found);
  }

  /**
   * The indexed regexes (by first word or by first letter, tried only at word starts) find the first
   * match a plain search of every regex finds: its start and, of the regexes matching there, the
   * longest end. The texts include characters beyond ASCII that fold to an indexed letter (ſ, the
   * Kelvin sign) and letters or digits before a regex's first word.
   */
  @Test
  void indexedRegexesFindWhatAPlainSearchFinds() throws IOException {
    List<java.util.regex.Pattern> patterns = regexes().stream().map(r -> java.util.regex.Pattern.compile(r,
        java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.UNICODE_CASE)).toList();
    RefusalDetector byWord = new RefusalDetector(List.of(), regexes());
    RefusalDetector byLetter = new RefusalDetector(List.of(), regexes(), false, PhraseAutomaton.MAX_ENTRIES);
    List<String> texts = new java.util.ArrayList<>(wordSoup(11, 3000));
    texts.addAll(List.of("\u017Forry, but as an AI I cannot", "x\u017Forry, but as an AI", "\u212Anow: I cannot help",
        "9I cannot help with that", "\u00E9I cannot help with that", "I cannot help with that"));
    int found = 0;
    for (String s : texts) {
      int start = Integer.MAX_VALUE;
      int end = -1;
      for (java.util.regex.Pattern p : patterns) {
        java.util.regex.Matcher m = p.matcher(s);
        if (m.find() && (m.start() < start || m.start() == start && m.end() > end)) {
          start = m.start();
          end = m.end();
        }
      }
      String want = end < 0 ? "none" : start + "-" + end;
      for (RefusalDetector d : List.of(byWord, byLetter)) {
        RefusalDetector.Match m = d.first(s);
        assertEquals(want, m == null ? "none" : m.start() + "-" + m.end(), (d == byWord ? "by word: " : "by letter: ") + s);
      }
      found += end < 0 ? 0 : 1;
    }
    assertTrue(found > 500, "regex matches: " + found);
    assertEquals("0-19", byWord.first("\u017Forry, but as an AI I cannot").start() + "-"
        + byWord.first("\u017Forry, but as an AI I cannot").end(), "ſ folds to s as the regex's case-insensitive match folds it");
  }

  /** The phrase DFA and the double-array trie (the path of lists too large for the DFA) find the same. */
  @Test
  void phraseDfaFindsWhatTheTrieFinds() throws IOException {
    List<String> normalized = phrases().stream().map(RefusalDetector::normalizePhrase).distinct().sorted().toList();
    assertNotNull(PhraseAutomaton.of(normalized, PhraseAutomaton.MAX_ENTRIES), "the shipped list fits the DFA");
    assertNull(PhraseAutomaton.of(normalized, 10_000), "a table over the bound is not built");
    RefusalDetector dfa = new RefusalDetector(phrases(), List.of());
    RefusalDetector trie = new RefusalDetector(phrases(), List.of(), true, 0);
    int found = 0;
    for (String s : wordSoup(9, 4000)) {
      assertEquals(String.valueOf(trie.first(s)), String.valueOf(dfa.first(s)), s);
      assertEquals(trie.all(s).toString(), dfa.all(s).toString(), s);
      assertEquals(String.valueOf(firstOfAll(dfa, s)), String.valueOf(dfa.first(s)), s);
      found += dfa.all(s).size();
    }
    assertTrue(found > 500, "phrases found: " + found);
  }

  @Test
  void stripRemovesOnlyTheSentencesThatMatch() {
    RefusalDetector d = new RefusalDetector(List.of("as an ai language model",
        "is there anything else i can help you with"), List.of());
    RefusalDetector.Stripped s = d.strip("As an AI language model, I have no taste. Paris is the capital of France. "
        + "It has 2.1 million people.\nIs there anything else I can help you with?");
    assertEquals("Paris is the capital of France. It has 2.1 million people.", s.text());
    assertEquals(2, s.removed().size());
    assertEquals("As an AI language model, I have no taste.", s.removed().get(0).sentence());
    assertEquals("is there anything else i can help you with", s.removed().get(1).phrase());
  }
}
