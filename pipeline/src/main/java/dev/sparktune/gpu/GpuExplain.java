package dev.sparktune.gpu;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Which operators of a plan the RAPIDS Accelerator would run on a GPU, asked on any machine (a CPU
 * will do): {@code com.nvidia.spark.rapids.ExplainPlan.explainPotentialGpuPlan}, read by reflection
 * so the 1 GB RAPIDS jar stays optional, and its report reduced to the operators that would stay on
 * the CPU, each judged against the fallbacks sparktune expects by design.
 */
public final class GpuExplain {
  private GpuExplain() {}

  /** One operator that would not run on the GPU; {@code expected} says why that is by design, or null. */
  public record Fallback(String exec, Set<String> causes, String line, String expected) {}

  /** Typed Dataset operators: the tokenizer's mapPartitions and its row (de)serialization. */
  static final Set<String> TYPED = Set.of("SerializeFromObjectExec", "MapPartitionsExec",
      "DeserializeToObjectExec", "MapElementsExec", "AppendColumnsExec");

  private static final Pattern EXEC = Pattern.compile("^(\\s*)([!*@^]*)\\s*(?:Exec\\s*)?<(\\w+Exec)>(.*)$");
  private static final Pattern EXPRESSION = Pattern.compile("^\\s*!Expression <(\\w+)>");

  /** Whether the RAPIDS jar is on the classpath. */
  public static boolean available() {
    return method() != null;
  }

  private static Method method() {
    try {
      return Class.forName("com.nvidia.spark.rapids.ExplainPlan")
          .getMethod("explainPotentialGpuPlan", Dataset.class, String.class);
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }

  /** The accelerator's full report ("ALL": every operator, with what would run where and why). */
  public static String report(Dataset<Row> plan) {
    Method m = method();
    if (m == null) {
      throw new IllegalStateException("the RAPIDS Accelerator jar (com.nvidia:rapids-4-spark_2.13) is not "
          + "on the classpath; add it with --jars or SPARKTUNE_JAVA_OPTS/-cp");
    }
    try {
      return (String) m.invoke(null, plan, "ALL");
    } catch (InvocationTargetException e) {
      throw new IllegalStateException("RAPIDS could not explain the plan: " + e.getCause(), e.getCause());
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many operators of a report would run on the GPU. */
  public static int onGpu(String report) {
    int n = 0;
    for (String line : report.split("\n")) {
      Matcher m = EXEC.matcher(line);
      if (m.matches() && m.group(2).contains("*") && m.group(4).contains("will run on GPU")) {
        n++;
      }
    }
    return n;
  }

  /** The operators of a report that would not run on the GPU, with their root causes. */
  public static List<Fallback> fallbacks(String report) {
    String[] lines = report.split("\n");
    List<Fallback> out = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      Matcher m = EXEC.matcher(lines[i]);
      if (!m.matches() || !m.group(2).contains("!") || !m.group(4).contains("cannot run on GPU")) {
        continue;
      }
      int indent = m.group(1).length();
      String exec = m.group(3);
      Set<String> causes = new LinkedHashSet<>();
      for (int j = i + 1; j < lines.length; j++) {
        String l = lines[j];
        int ind = l.length() - l.stripLeading().length();
        if (ind <= indent || EXEC.matcher(l).matches()) {
          break; // the operator's own expressions end where a child operator (or a sibling) starts
        }
        Matcher e = EXPRESSION.matcher(l);
        if (e.find()) {
          causes.add(e.group(1));
        }
      }
      out.add(new Fallback(exec, causes, lines[i].strip(), expected(exec, causes, lines[i])));
    }
    return out;
  }

  /** Why an operator stays on the CPU by design, or null when it should have run on the GPU. */
  static String expected(String exec, Set<String> causes, String line) {
    if (exec.equals("RDDScanExec")) {
      return "the ingest readers: rows made by Java parsers (jsoup, Commons CSV, JSqlParser, Jackson)";
    }
    if (line.contains("VectorUDT")) {
      return "MLlib feature vectors: k-means and TF-IDF run on the CPU (RAPIDS accelerates SQL, not MLlib)";
    }
    if (line.contains("without columnar children")) {
      return "a shuffle between CPU operators, which RAPIDS keeps on the CPU on purpose";
    }
    if (TYPED.contains(exec)) {
      return "typed Dataset code: mapPartitions over Java objects (the tokenizer, sentence embeddings) "
          + "and its row conversion";
    }
    if (exec.equals("ProjectExec") && !causes.isEmpty()
        && causes.stream().allMatch(c -> c.equals("ScalaUDF") || c.equals("BoundReference")
            || c.equals("AttributeReference"))
        && causes.contains("ScalaUDF")) {
      return "a projection of Java UDFs only (Unicode normalization, refusal phrases, MinHash, "
          + "repetition), kept apart so the rules around it stay on the GPU";
    }
    return null;
  }
}
