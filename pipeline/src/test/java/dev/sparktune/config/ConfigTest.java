package dev.sparktune.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
  @TempDir Path dir;

  private static final String VALID = """
      work_dir: /tmp/work
      ingest:
        sources:
          - name: faq
            type: csv
            path: data/*.csv
            csv:
              delimiter: ";"
            fields:
              instruction: question
              output: "{answer} ({source})"
          - name: alpaca
            type: json
            path: data/alpaca.json
      """;

  private Path write(String yaml) throws IOException {
    Path f = dir.resolve("test.yaml");
    Files.writeString(f, yaml);
    return f;
  }

  private SparktuneConfig load(String yaml, String... overrides) throws IOException {
    return SparktuneConfig.load(write(yaml), List.of(overrides), Map.of("HOME_DIR", "/home/x")::get);
  }

  private String error(String yaml, String... overrides) {
    return assertThrows(ConfigException.class, () -> load(yaml, overrides)).getMessage();
  }

  @Test
  void everyFileInConfLoads() throws IOException {
    Path conf = Path.of("..", "conf");
    List<Path> files;
    try (Stream<Path> s = Files.list(conf)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertTrue(files.size() >= 2, "expected the YAML configs in conf/, found " + files);
    for (Path f : files) {
      SparktuneConfig c = SparktuneConfig.load(f, List.of(), k -> null);
      assertFalse(c.ingest().sources().isEmpty(), f + " has no sources");
    }
  }

  @Test
  void configSurvivesJavaSerializationAsSparkShipsIt() throws Exception {
    // Records are deserialized through their canonical constructors: each must accept its own output.
    for (String file : List.of("local.yaml", "cluster.yaml")) {
      SparktuneConfig c = SparktuneConfig.load(Path.of("..", "conf", file), List.of(), k -> null);
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(c);
      }
      try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
          new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
        assertEquals(c, in.readObject(), file);
      }
    }
  }

  @Test
  void bindsValuesAndDefaults() throws IOException {
    SparktuneConfig c = load(VALID);
    assertEquals("/tmp/work", c.workDir());
    assertEquals("local[*]", c.spark().master());
    SourceConfig faq = c.ingest().sources().get(0);
    assertEquals(SourceConfig.SourceType.CSV, faq.type());
    assertEquals(';', faq.csv().delimiterChar());
    assertEquals('"', faq.csv().quoteChar());
    assertNull(faq.csv().escapeChar());
    assertTrue(faq.csv().header());
    assertEquals(List.of("answer", "source"), List.copyOf(FieldTemplate.parse(faq.fields().get("output")).columns()));
    SourceConfig alpaca = c.ingest().sources().get(1);
    assertEquals(List.of("instruction", "input", "output", "text", "system"), List.copyOf(alpaca.fields().keySet()),
        "a JSON source also reads a record's own system prompt");
    assertEquals(SourceConfig.JsonOptions.JsonFormat.AUTO, alpaca.json().format());
    assertEquals(500, c.ingest().maxSnippetChars());
  }

  @Test
  void semanticDedupEpsZeroIsOff() {
    // The peers' corpus.yaml writes semantic_dedup_eps: ${EPS:-0} for "off".
    ClusterConfig zero = new ClusterConfig(null, null, null, null, null, null, null, null, null, null, null, 0.0, null,
        null);
    assertNull(zero.semanticDedupEps());
    ClusterConfig on = new ClusterConfig(null, null, null, null, null, null, null, null, null, null, null, 0.1, null,
        null);
    assertEquals(0.1, on.semanticDedupEps());
  }

  @Test
  void unknownKeyNamesFileLineAndPath() {
    String msg = error(VALID.replace("delimiter: \";\"", "delimter: \";\""));
    assertTrue(msg.contains("test.yaml:8"), msg);
    assertTrue(msg.contains("ingest.sources[0].csv.delimter: unknown key"), msg);
    assertTrue(msg.contains("delimiter"), "lists the known keys: " + msg);
  }

  @Test
  void wrongTypeIsReported() {
    String msg = error(VALID + "  max_snippet_chars: lots\n");
    assertTrue(msg.contains("ingest.max_snippet_chars: expected an integer, found 'lots'"), msg);
    String list = error(VALID.replace("path: data/alpaca.json", "path: [a, b]"));
    assertTrue(list.contains("ingest.sources[1].path: expected a single value, found a list"), list);
    String enumMsg = error(VALID.replace("type: json", "type: xml"));
    assertTrue(enumMsg.contains("ingest.sources[1].type: 'xml' is not one of csv, json"), enumMsg);
  }

  @Test
  void missingRequiredValueIsReported() {
    String msg = error(VALID.replace("    path: data/alpaca.json\n", "\n"));
    assertTrue(msg.contains("ingest.sources[1].path: is required"), msg);
    assertTrue(error("ingest: {sources: []}\nwork_dir: w\n").contains("ingest.sources: needs at least one source"));
    assertTrue(error("work_dir: w\n").contains("ingest: is required"));
  }

  @Test
  void recordValidationNamesTheKey() {
    assertTrue(error(VALID.replace("delimiter: \";\"", "delimiter: \";;\""))
        .contains("ingest.sources[0].csv.delimiter: must be a single character"));
    assertTrue(error(VALID.replace("output: \"{answer} ({source})\"", "output: \"{answer\""))
        .contains("ingest.sources[0].fields.output: template '{answer' has an unclosed '{'"));
    assertTrue(error(VALID.replace("name: alpaca", "name: faq")).contains("source name 'faq' is used twice"));
    assertTrue(error(VALID.replace("type: json\n", "type: json\n      csv: {delimiter: \";\"}\n"))
        .contains("ingest.sources[1].csv: only a csv source takes csv options"));
    assertTrue(error(VALID.replace("delimiter: \";\"", "header: false"))
        .contains("ingest.sources[0].csv.columns: is required when header is false"));
  }

  @Test
  void invalidYamlAndDuplicateKeys() {
    assertTrue(error("work_dir: [unclosed\n").contains("invalid YAML"));
    String dup = error("work_dir: a\nwork_dir: b\n");
    assertTrue(dup.contains("work_dir: duplicate key"), dup);
  }

  @Test
  void environmentVariablesExpand() throws IOException {
    SparktuneConfig c = load(VALID.replace("/tmp/work", "${HOME_DIR}/work-${RUN:-default}"));
    assertEquals("/home/x/work-default", c.workDir());
    String msg = error(VALID.replace("/tmp/work", "${NOT_SET_ANYWHERE}"));
    assertTrue(msg.contains("work_dir: environment variable NOT_SET_ANYWHERE is not set"), msg);
  }

  @Test
  void overridesApplyByPathIndexAndName() throws IOException {
    SparktuneConfig c = load(VALID,
        "work_dir=/elsewhere",
        "ingest.sources[faq].csv.delimiter=|",
        "ingest.sources[1].json.format=jsonl",
        "spark.conf.spark.sql.shuffle.partitions=8",
        "ingest.sources[faq].meta=[a, b]");
    assertEquals("/elsewhere", c.workDir());
    assertEquals('|', c.ingest().sources().get(0).csv().delimiterChar());
    assertEquals(SourceConfig.JsonOptions.JsonFormat.JSONL, c.ingest().sources().get(1).json().format());
    assertEquals("8", c.spark().conf().get("spark.sql.shuffle.partitions"));
    assertEquals(List.of("a", "b"), c.ingest().sources().get(0).meta());
  }

  @Test
  void badOverridesAreReported() {
    assertTrue(error(VALID, "ingest.nope=1").contains("unknown key 'nope' under ingest"));
    assertTrue(error(VALID, "ingest.sources[7].path=x").contains("ingest.sources has no element [7]"));
    assertTrue(error(VALID, "work_dir").contains("expected key.path=value"));
    String typed = error(VALID, "ingest.max_snippet_chars=many");
    assertTrue(typed.contains("--set ingest.max_snippet_chars") && typed.contains("expected an integer"), typed);
  }
}
