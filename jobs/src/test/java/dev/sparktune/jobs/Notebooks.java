package dev.sparktune.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jdk.jshell.Diag;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;

/**
 * Runs every code cell of a Jupyter notebook, in order, through {@code jdk.jshell} in a fresh JVM
 * with this test's classpath and JVM flags: what a Java kernel does, minus the UI. Throws, naming
 * the cell and the snippet, on the first compile error or exception.
 */
final class Notebooks {
  private Notebooks() {}

  /** Runs the notebook; returns what its cells printed. */
  static String run(Path notebook, String... systemProperties) throws Exception {
    JsonNode nb = new ObjectMapper().readTree(notebook.toFile());
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);
    List<String> vm = new ArrayList<>();
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--add-opens") || arg.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
          || arg.startsWith("-Dai.djl") || arg.startsWith("-DDJL_CACHE_DIR")) {
        vm.add(arg);
      }
    }
    vm.add("-Xmx1g");
    vm.add("-DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", "jobs/target/djl-cache"));
    vm.add("-Dai.djl.offline=true");
    for (String p : systemProperties) {
      vm.add("-D" + p);
    }
    try (JShell shell = JShell.builder().out(out).err(out).remoteVMOptions(vm.toArray(String[]::new)).build()) {
      for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
        shell.addToClasspath(entry);
      }
      int cellNo = 0;
      for (JsonNode cell : nb.get("cells")) {
        cellNo++;
        if (!cell.get("cell_type").asText().equals("code")) {
          continue;
        }
        StringBuilder source = new StringBuilder();
        cell.get("source").forEach(l -> source.append(l.asText()));
        String remaining = source.toString();
        while (!remaining.isBlank()) {
          SourceCodeAnalysis.CompletionInfo info = shell.sourceCodeAnalysis().analyzeCompletion(remaining);
          String snippet = info.source() != null ? info.source() : remaining;
          for (SnippetEvent e : shell.eval(snippet)) {
            if (e.status() == Snippet.Status.REJECTED) {
              StringBuilder why = new StringBuilder();
              shell.diagnostics(e.snippet()).forEach((Diag d) -> why.append(d.getMessage(null)).append("; "));
              throw new AssertionError(notebook.getFileName() + " cell " + cellNo + " does not compile: " + why
                  + "\n" + snippet + "\noutput so far:\n" + printed.toString(StandardCharsets.UTF_8));
            }
            if (e.exception() != null) {
              throw new AssertionError(notebook.getFileName() + " cell " + cellNo + " threw " + e.exception()
                  + "\n" + snippet + "\noutput so far:\n" + printed.toString(StandardCharsets.UTF_8), e.exception());
            }
          }
          remaining = info.source() != null ? info.remaining() : "";
        }
      }
    }
    return printed.toString(StandardCharsets.UTF_8);
  }
}
