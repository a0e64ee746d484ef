package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import com.github.javaparser.JavaParser;
import com.github.javaparser.ParseResult;
import com.github.javaparser.ParserConfiguration;
import com.github.javaparser.ast.CompilationUnit;
import com.github.javaparser.ast.body.CallableDeclaration;
import org.junit.jupiter.api.Test;

/**
 * Main code stays readable: no source file over {@value #MAX_FILE_LINES} lines and no method or
 * constructor over {@value #MAX_METHOD_LINES} lines (from its first annotation or modifier to its
 * closing brace, Javadoc not counted). Exceptions are listed with their reason in
 * {@code source-limits-exceptions.txt}; an exception that is no longer needed fails too, so the
 * list stays true.
 */
class SourceLimitsTest {

  static final int MAX_FILE_LINES = 400;
  static final int MAX_METHOD_LINES = 60;
  private static final List<Path> ROOTS =
      List.of(Path.of("pipeline/src/main/java"), Path.of("jobs/src/main/java"));

  @Test
  void filesAndMethodsAreWithinTheLimitsOrListedWithAReason() throws IOException {
    Map<String, String> exceptions = exceptions();
    Map<String, String> over = new TreeMap<>();
    int files = 0;
    int methods = 0;
    JavaParser parser = new JavaParser(new ParserConfiguration()
        .setLanguageLevel(ParserConfiguration.LanguageLevel.JAVA_17));
    for (Path root : ROOTS) {
      assertTrue(Files.isDirectory(root), root + " (tests run from the repository root)");
      List<Path> sources;
      try (Stream<Path> walk = Files.walk(root)) {
        sources = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
      }
      for (Path source : sources) {
        files++;
        String text = Files.readString(source, StandardCharsets.UTF_8);
        String name = source.toString().replace('\\', '/');
        long lines = text.lines().count();
        if (lines > MAX_FILE_LINES) {
          over.put(name, lines + " lines");
        }
        ParseResult<CompilationUnit> parsed = parser.parse(text);
        assertTrue(parsed.isSuccessful(), name + ": " + parsed.getProblems());
        for (CallableDeclaration<?> callable
            : parsed.getResult().orElseThrow().findAll(CallableDeclaration.class)) {
          methods++;
          int length = callable.getRange().map(r -> r.end.line - r.begin.line + 1).orElse(0);
          if (length > MAX_METHOD_LINES) {
            over.merge(name + "#" + callable.getNameAsString(), length + " lines",
                (a, b) -> a + ", " + b);
          }
        }
      }
    }
    assertTrue(files > 80 && methods > 500, files + " files, " + methods + " methods parsed");
    List<String> unlisted = new ArrayList<>();
    over.forEach((key, size) -> {
      if (!exceptions.containsKey(key)) {
        unlisted.add(key + " (" + size + ")");
      }
    });
    TreeSet<String> stale = new TreeSet<>(exceptions.keySet());
    stale.removeAll(over.keySet());
    assertEquals(List.of(), unlisted, "over the limits and not in source-limits-exceptions.txt");
    assertEquals(List.of(), List.copyOf(stale),
        "listed in source-limits-exceptions.txt but within the limits now: remove them");
  }

  /** {@code path[#method]: reason} per line; blank lines and {@code #} comments skipped. */
  private static Map<String, String> exceptions() throws IOException {
    Map<String, String> exceptions = new TreeMap<>();
    try (var in = SourceLimitsTest.class.getResourceAsStream("/source-limits-exceptions.txt")) {
      assertTrue(in != null, "source-limits-exceptions.txt on the test classpath");
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
          continue;
        }
        int colon = trimmed.indexOf(": ");
        assertTrue(colon > 0 && trimmed.length() > colon + 2, "needs a reason: " + line);
        exceptions.put(trimmed.substring(0, colon), trimmed.substring(colon + 2));
      }
    }
    return exceptions;
  }
}
