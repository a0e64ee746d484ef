package dev.sparktune.jobs;

import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/**
 * Ingest throughput per source type on generated inputs: writes about {@code mb} MB of CSV, JSON
 * lines, HTML pages and a MySQL dump, ingests each alone, and prints records/s and MB/s.
 */
final class IngestBench {
  private static final String[] WORDS = ("spark data pipeline record model token cluster train adapter source "
      + "clean quality shard arrow parquet export invoice account password settings report dashboard team "
      + "project workspace billing refund customer support question answer example value column table").split(" ");

  record Result(String type, long records, long bytes, double seconds) {}

  private IngestBench() {}

  static List<Result> run(SparkSession spark, Path dir, int mb) throws IOException {
    long target = (long) mb << 20;
    Files.createDirectories(dir);
    List<Result> results = new ArrayList<>();
    results.add(one(spark, dir, "csv", target, IngestBench::csv,
        "{type: csv, path: %s/csv/*.csv, fields: {instruction: question, input: context, output: answer}}"));
    results.add(one(spark, dir, "json", target, IngestBench::jsonl, "{type: json, path: %s/json/*.jsonl}"));
    results.add(one(spark, dir, "html", target, IngestBench::html, "{type: html, path: %s/html/*.html}"));
    results.add(one(spark, dir, "sql", target, IngestBench::sql,
        "{type: sql, path: %s/sql/*.sql, sql: {table: faq}, fields: {instruction: question, output: answer}}"));
    return results;
  }

  interface Generator {
    long write(Path dir, long bytes) throws IOException;
  }

  private static Result one(SparkSession spark, Path dir, String type, long bytes, Generator gen, String source)
      throws IOException {
    Path data = dir.resolve(type);
    if (!Files.isDirectory(data)) {
      Files.createDirectories(data);
      gen.write(data, bytes);
    }
    long size;
    try (var files = Files.list(data)) {
      size = files.mapToLong(p -> p.toFile().length()).sum();
    }
    String yaml = "sources:\n  - " + source.formatted(dir).replace("{type", "{name: bench_" + type + ", type") + "\n";
    IngestConfig config = ConfigBinder.bind(ConfigTree.parse(yaml, "bench"), IngestConfig.class);
    Path work = dir.resolve("work-" + type);
    Workspace ws = new Workspace(work.toString(), dir, spark.sparkContext().hadoopConfiguration());
    Manifest m = new StageRunner(spark, ws, List.of(new IngestStage(config)))
        .run(new StageRunner.Options(null, null, null, true)).get(0).manifest();
    return new Result(type, m.counts().in(), size, m.durationSeconds());
  }

  private static String sentence(Random r, int words) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) {
      String w = WORDS[r.nextInt(WORDS.length)];
      sb.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
      sb.append(i == words - 1 ? "." : (r.nextInt(8) == 0 ? ", " : " "));
    }
    return sb.toString();
  }

  private static long csv(Path dir, long bytes) throws IOException {
    Random r = new Random(1);
    long n = 0;
    try (Writer w = writer(dir.resolve("data.csv"))) {
      w.write("question,context,answer\n");
      long written = 0;
      while (written < bytes) {
        String answer = sentence(r, 40) + (n % 50 == 0 ? "\n" + sentence(r, 10) : "");
        String line = "\"" + sentence(r, 12).replace(".", "?") + "\",," + "\"" + answer.replace("\"", "\"\"") + "\"\n";
        w.write(line);
        written += line.length();
        n++;
      }
    }
    return n;
  }

  private static long jsonl(Path dir, long bytes) throws IOException {
    Random r = new Random(2);
    long n = 0;
    for (int part = 0; part < 4; part++) {
      try (Writer w = writer(dir.resolve("part-" + part + ".jsonl"))) {
        long written = 0;
        while (written < bytes / 4) {
          String line = "{\"instruction\": \"" + sentence(r, 12) + "\", \"input\": \"\", \"output\": \""
              + sentence(r, 40) + "\\n" + sentence(r, 8) + "\"}\n";
          w.write(line);
          written += line.length();
          n++;
        }
      }
    }
    return n;
  }

  private static long html(Path dir, long bytes) throws IOException {
    Random r = new Random(3);
    long n = 0;
    long written = 0;
    while (written < bytes) {
      StringBuilder page = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><title>")
          .append(sentence(r, 6)).append("</title><script>var x = 1;</script></head><body>")
          .append("<nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/docs\">Docs</a></li></ul></nav>")
          .append("<div id=\"cookie-banner\">We use cookies. <button>OK</button></div><main><article><h1>")
          .append(sentence(r, 8)).append("</h1>");
      for (int p = 0; p < 12; p++) {
        page.append("<p>").append(sentence(r, 45)).append("</p>");
      }
      page.append("</article></main><aside class=\"sidebar\"><h4>Related</h4><ul>");
      for (int l = 0; l < 6; l++) {
        page.append("<li><a href=\"/p/").append(l).append("\">").append(sentence(r, 5)).append("</a></li>");
      }
      page.append("</ul></aside><footer>© 2026 Example</footer></body></html>\n");
      Files.writeString(dir.resolve(String.format("page-%06d.html", n)), page, StandardCharsets.UTF_8);
      written += page.length();
      n++;
    }
    return n;
  }

  private static long sql(Path dir, long bytes) throws IOException {
    Random r = new Random(4);
    long n = 0;
    try (Writer w = writer(dir.resolve("dump.sql"))) {
      w.write("-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE `faq` (`id` int, `question` text, "
          + "`answer` text, `category` varchar(64)) ENGINE=InnoDB;\nLOCK TABLES `faq` WRITE;\n");
      long written = 0;
      while (written < bytes) {
        StringBuilder st = new StringBuilder("INSERT INTO `faq` VALUES ");
        for (int row = 0; row < 500; row++) {
          st.append(row == 0 ? "" : ",").append('(').append(n++).append(",'")
              .append(sentence(r, 12).replace(".", "?")).append("','").append(sentence(r, 40)).append("\\n")
              .append(sentence(r, 6).replace("e", "\\'e")).append("','cat").append(n % 7).append("')");
        }
        st.append(";\n");
        w.write(st.toString());
        written += st.length();
      }
      w.write("UNLOCK TABLES;\n");
    }
    return n;
  }

  private static Writer writer(Path file) throws IOException {
    return new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8), 1 << 20);
  }
}
