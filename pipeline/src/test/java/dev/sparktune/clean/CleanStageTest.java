package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.TestSpark;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The clean stage on real records (ingested from a JSON-lines file), with the shipped phrase lists. */
class CleanStageTest {
  @TempDir static Path dir;
  static SparkSession spark;
  static Path input;

  static final String QUALITY = """
      quality:
        min_chars: {output: 5}
        max_chars: {output: 1000}
        min_words: {instruction: 2}
        max_words: {input: 6}
        min_mean_word_length: 2.5
        max_symbol_word_ratio: 0.2
        max_ellipsis_line_fraction: 0.5
        max_duplicate_ngram_fraction: 0.4
        max_non_printable_ratio: 0.05
      """;

  /** A paragraph of {@code n} distinct words (w0 ... w{n-1} mixed with real words). */
  static List<String> words(String prefix, int n) {
    List<String> w = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      w.add(prefix + i);
    }
    return w;
  }

  static Set<String> shingles(String text, int k) {
    String[] w = text.toLowerCase().replaceAll("[^\\p{L}\\p{N}]+", " ").strip().split(" ");
    Set<String> s = new HashSet<>();
    for (int i = 0; i + k <= w.length; i++) {
      s.add(String.join(" ", java.util.Arrays.copyOfRange(w, i, i + k)));
    }
    return s;
  }

  static double jaccard(String a, String b) {
    Set<String> sa = shingles(a, 5);
    Set<String> sb = shingles(b, 5);
    Set<String> inter = new HashSet<>(sa);
    inter.retainAll(sb);
    Set<String> union = new HashSet<>(sa);
    union.addAll(sb);
    return (double) inter.size() / union.size();
  }

  static final String BASE = String.join(" ", words("alpha", 100)) + ".";
  static final String NEAR = BASE.replace(" alpha50 ", " omega50 ");
  static final String HALF = String.join(" ", words("alpha", 67)) + " " + String.join(" ", words("beta", 33)) + ".";

  @BeforeAll
  static void writeInput() throws IOException {
    spark = TestSpark.get();
    List<Map<String, String>> records = new ArrayList<>();
    record(records, "Write a poem about the sea.",
        "As an AI language model, I cannot write poems. Here are some facts about the sea instead: it covers 71% "
            + "of Earth and holds 97% of its water.");
    record(records, "Tell me a joke.", "I'm sorry, but I can't help with that request.");
    record(records, "Who made you?", "I was trained by OpenAI, and my knowledge cutoff is 2021.");
    record(records, "What is two plus two?", "Two plus two is four. Is there anything else I can help you with?");
    record(records, "Describe your job.",
        "As an AI researcher, I study how models fail on long documents and how to measure it.");
    record(records, "Give advice on backups.",
        "I cannot stress enough how important it is to test restoring your backups regularly.");
    record(records, "What is an OpenAPI file?", "The OpenAPI specification describes REST endpoints in YAML or JSON.");
    record(records, "Summarize the meeting notes.", "");
    record(records, "Is the sky blue?", "Yes.");
    record(records, "Write a very long answer please.", "Long sentence with many words. ".repeat(40));
    record(records, "Hi?", "A greeting that is long enough to pass the other rules.");
    record(records, "Spell the alphabet with spaces.", "a b c d e f g h i j k l m n o p");
    record(records, "Write some hashtags for my post.", "#travel #sunset #beach #summer #vibes amazing");
    record(records, "Write three trailing sentences.",
        "We went to the market and bought apples...\nThen we walked home along the river...\nIt was a good day.");
    record(records, "Write an advert.", "buy now and save big today ".repeat(12));
    record(records, "Decode this.", "Caf\uFFFD \uFFFD\uFFFD\uFFFD\uFFFD\uFFFD r\uFFFDsum\uFFFD with broken bytes here");
    records.add(Map.of("instruction", "Translate this long input.", "input",
        "one two three four five six seven eight", "output", "Eins zwei drei vier fünf sechs sieben acht."));
    record(records, "Name a prime number.", "Seven is a prime number.");
    record(records, "name a  PRIME number.", "Seven   is a prime number.");
    record(records, "Continue the sequence one.", BASE);
    record(records, "Continue the sequence one.", NEAR);
    record(records, "Continue the sequence two.", HALF);
    record(records, "Explain NFKC.", "The ﬁle ＡＢＣ uses ligatures\u200B and full-width letters.   Done.");
    input = dir.resolve("records.jsonl");
    ObjectMapper json = new ObjectMapper();
    StringBuilder sb = new StringBuilder();
    for (Map<String, String> r : records) {
      sb.append(json.writeValueAsString(r)).append('\n');
    }
    Files.writeString(input, sb.toString());
  }

  static void record(List<Map<String, String>> records, String instruction, String output) {
    Map<String, String> r = new LinkedHashMap<>();
    r.put("instruction", instruction);
    r.put("output", output);
    records.add(r);
  }

  static Manifest run(Path work, String cleanYaml, boolean force) {
    SourceConfig source = new SourceConfig("fixture", SourceConfig.SourceType.JSON, input.toString(), null, null,
        null, null, null, null, null, null);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse(cleanYaml, "test"), CleanConfig.class);
    Workspace ws = new Workspace(work.toString(), dir, spark.sparkContext().hadoopConfiguration());
    List<StageRunner.Outcome> out = new StageRunner(spark, ws, List.of(
        new IngestStage(new IngestConfig(List.of(source), null)), new CleanStage(clean)))
        .run(new StageRunner.Options(null, null, null, force));
    return out.get(1).manifest();
  }

  static Dataset<Row> table(Path work, String name) {
    return spark.read().parquet(work.resolve("clean").resolve(name).toString());
  }

  static Map<String, String> reasonsByInstruction(Path work) {
    return table(work, "dropped").collectAsList().stream().collect(Collectors.toMap(
        r -> r.getString(r.fieldIndex("instruction")), r -> r.getString(r.fieldIndex("reason")), (a, b) -> a + "," + b));
  }

  @Test
  void fixtureJaccardsAreWhatTheTestClaims() {
    assertTrue(Math.abs(jaccard(BASE, NEAR) - 0.9) < 0.02, "near pair " + jaccard(BASE, NEAR));
    assertTrue(Math.abs(jaccard(BASE, HALF) - 0.5) < 0.1, "half pair " + jaccard(BASE, HALF));
  }

  @Test
  void dropModeQualityAndDedup() {
    Path work = dir.resolve("drop");
    Manifest m = run(work, QUALITY, false);
    Map<String, String> reasons = reasonsByInstruction(work);
    assertEquals("refusal", reasons.get("Write a poem about the sea."));
    assertEquals("refusal", reasons.get("Tell me a joke."));
    assertEquals("refusal", reasons.get("Who made you?"));
    assertEquals("refusal", reasons.get("What is two plus two?"));
    for (String legit : List.of("Describe your job.", "Give advice on backups.", "What is an OpenAPI file?")) {
      assertFalse(reasons.containsKey(legit), legit + " must be kept, was dropped as " + reasons.get(legit));
    }
    assertEquals("empty_output", reasons.get("Summarize the meeting notes."));
    assertEquals("too_short", reasons.get("Is the sky blue?"));
    assertEquals("too_long", reasons.get("Write a very long answer please."));
    assertEquals("too_few_words", reasons.get("Hi?"));
    assertEquals("mean_word_length", reasons.get("Spell the alphabet with spaces."));
    assertEquals("symbol_ratio", reasons.get("Write some hashtags for my post."));
    assertEquals("ellipsis_lines", reasons.get("Write three trailing sentences."));
    assertEquals("repetition", reasons.get("Write an advert."));
    assertEquals("non_printable", reasons.get("Decode this."));
    assertEquals("too_many_words", reasons.get("Translate this long input."));
    assertEquals(1, reasons.entrySet().stream().filter(e -> e.getValue().equals("exact_duplicate")).count());
    assertEquals("near_duplicate", reasons.get("Continue the sequence one."), "exactly one of the ~0.9 pair");
    assertFalse(reasons.containsKey("Continue the sequence two."), "the ~0.5 pair is kept");

    Row exact = table(work, "dropped").filter("reason = 'exact_duplicate'").first();
    Row kept = table(work, "data").filter("lower(instruction) = 'name a prime number.'").first();
    assertEquals("duplicate of " + kept.getAs("id"), exact.getAs("detail"));
    assertTrue(((String) kept.getAs("id")).compareTo(exact.getAs("id")) < 0, "the smallest id is kept");
    Row nearKept = table(work, "data").filter("instruction = 'Continue the sequence one.'").first();
    Row nearDropped = table(work, "dropped").filter("reason = 'near_duplicate'").first();
    assertEquals("near duplicate of " + nearKept.getAs("id"), nearDropped.getAs("detail"));
    assertTrue(((String) nearKept.getAs("id")).compareTo(nearDropped.getAs("id")) < 0);

    Row poem = table(work, "dropped").filter("instruction = 'Write a poem about the sea.'").first();
    assertEquals("as an ai language model", poem.getAs("detail"));
    assertEquals(m.counts().in(), m.counts().out() + m.counts().dropped());
    assertEquals(23, m.counts().in());
    assertEquals(4, m.counts().droppedByReason().get("refusal"));
    assertEquals(4L, m.breakdowns().get("refusal_drops_by_phrase").values().stream().mapToLong(Long::longValue).sum());
    assertEquals(1L, m.breakdowns().get("refusal_drops_by_phrase").get("as an ai language model"));
  }

  @Test
  void normalizationKeepsCase() {
    Path work = dir.resolve("norm");
    run(work, QUALITY, false);
    Row nfkc = table(work, "data").filter("instruction = 'Explain NFKC.'").first();
    assertEquals("The file ABC uses ligatures and full-width letters. Done.", nfkc.getAs("output"));
    Row prime = table(work, "data").filter("lower(instruction) = 'name a prime number.'").first();
    assertEquals("Seven is a prime number.", prime.getAs("output"), "runs of spaces collapsed");
    assertTrue(List.of("Name a prime number.", "name a PRIME number.").contains(prime.<String>getAs("instruction")),
        "case is kept as written: " + prime.getAs("instruction"));
  }

  @Test
  void stripModeRemovesSentencesAndAudits() {
    Path work = dir.resolve("strip");
    Manifest m = run(work, "refusals: {mode: strip, min_chars: 20}\n" + QUALITY, false);
    Row poem = table(work, "data").filter("instruction = 'Write a poem about the sea.'").first();
    String poemOutput = poem.getAs("output");
    assertFalse(poemOutput.toLowerCase().contains("language model"), poemOutput);
    Row two = table(work, "data").filter("instruction = 'What is two plus two?'").first();
    assertEquals("Two plus two is four.", two.getAs("output"), "the closer sentence is removed, the answer kept");
    Map<String, String> reasons = reasonsByInstruction(work);
    assertEquals("refusal_stripped_too_short", reasons.get("Tell me a joke."));
    List<Row> audit = table(work, "audit").filter("field = 'output'").collectAsList();
    assertTrue(audit.size() >= 4, "one audit row per removed sentence: " + audit);
    Row closer = table(work, "audit").filter("removed LIKE 'Is there anything else%'").first();
    assertEquals("Is there anything else I can help you with?", closer.getAs("removed"));
    assertNotNull(closer.getAs("phrase"));
    assertTrue(m.breakdowns().containsKey("refusal_removals_by_phrase"));
    assertEquals(m.counts().in(), m.counts().out() + m.counts().dropped());
  }

  @Test
  void twoRunsProduceIdenticalData() {
    Path work = dir.resolve("twice");
    run(work, QUALITY, false);
    List<String> first = table(work, "data").orderBy("id").collectAsList().stream().map(Row::toString).toList();
    List<String> droppedFirst = table(work, "dropped").orderBy("id", "reason").collectAsList().stream()
        .map(Row::toString).toList();
    run(work, QUALITY, true);
    assertEquals(first, table(work, "data").orderBy("id").collectAsList().stream().map(Row::toString).toList());
    assertEquals(droppedFirst, table(work, "dropped").orderBy("id", "reason").collectAsList().stream()
        .map(Row::toString).toList());
  }
}
