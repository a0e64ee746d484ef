package dev.sparktune.core;

import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;

/**
 * One progress line per pipeline stage, in place of Spark's {@code [Stage N:===>]} bars: records
 * done, rate and ETA, from the tasks' input metrics (finished tasks, and running ones as the
 * executors' heartbeats report them). "Done" is the largest number of records one
 * Spark stage (one pass) has read so far (a stage makes several passes over its input), so it
 * reaches the stage's input count when the first full pass ends; the time after that (k-means
 * iterations, writing, checking) shows as elapsed time with the ETA at 0.
 *
 * <p>On a terminal the line is redrawn in place every second; otherwise (logs, CI) it is printed
 * every 30 seconds and once at the end, so a long stage still shows it is alive.
 */
public final class Progress extends SparkListener implements AutoCloseable {
  private final PrintStream out;
  private final boolean terminal;
  private final ScheduledExecutorService ticker;
  private final Map<Integer, AtomicLong> readByStage = new ConcurrentHashMap<>();
  /** Running tasks by task id: {stage id, records read so far}. */
  private final Map<Long, long[]> running = new ConcurrentHashMap<>();
  private volatile String stage;
  private volatile long expected = -1;
  private volatile long startedNanos;
  private volatile long lastPrinted;
  private volatile int lastWidth;

  Progress(PrintStream out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
    this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sparktune-progress");
      t.setDaemon(true);
      return t;
    });
    ticker.scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.SECONDS);
  }

  private static final Map<org.apache.spark.SparkContext, Progress> BY_CONTEXT =
      java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

  /** The session's progress reporter (printing to stderr), registered on first use. */
  public static Progress of(SparkSession spark) {
    return BY_CONTEXT.computeIfAbsent(spark.sparkContext(), sc -> {
      Progress p = new Progress(null, System.console() != null); // null: the System.err of the moment
      sc.addSparkListener(p);
      return p;
    });
  }

  /** A pipeline stage starts; {@code expectedRecords} is its input count, or -1 when not known yet. */
  public void begin(String stageName, long expectedRecords) {
    readByStage.clear();
    running.clear();
    expected = expectedRecords;
    startedNanos = System.nanoTime();
    lastPrinted = startedNanos;
    stage = stageName;
  }

  /** The stage ended: prints its final line (on a terminal, finishes the redrawn one). */
  public void end() {
    String name = stage;
    if (name == null) {
      return;
    }
    stage = null;
    print(line(name, true), true);
  }

  /** The stage failed: stop reporting it (its error says the rest). */
  public synchronized void abandon() {
    if (stage != null && terminal && lastWidth > 0) {
      out().println();
    }
    stage = null;
    lastWidth = 0;
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    running.remove(taskEnd.taskInfo().taskId());
    if (taskEnd.taskMetrics() == null || stage == null) {
      return;
    }
    KillPoints.pass(stage + ":job");
    long read = taskEnd.taskMetrics().inputMetrics().recordsRead();
    if (read > 0) {
      readByStage.computeIfAbsent(taskEnd.stageId(), k -> new AtomicLong()).addAndGet(read);
    }
  }

  /** Running tasks report their records read with the executors' heartbeats (every 10 s by default). */
  @Override
  public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
    if (stage == null) {
      return;
    }
    scala.collection.Iterator<scala.Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> it =
        update.accumUpdates().iterator();
    while (it.hasNext()) {
      scala.Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t = it.next();
      scala.collection.Iterator<AccumulableInfo> accums = t._4().iterator();
      while (accums.hasNext()) {
        AccumulableInfo a = accums.next();
        if (a.name().isDefined() && a.name().get().equals(RECORDS_READ) && a.update().isDefined()
            && a.update().get() instanceof Long v) {
          running.put((Long) t._1(), new long[] {(Integer) t._2(), v});
        }
      }
    }
  }

  private static final String RECORDS_READ = "internal.metrics.input.recordsRead";

  long done() {
    Map<Long, Long> byStage = new java.util.HashMap<>();
    readByStage.forEach((s, a) -> byStage.put((long) s, a.get()));
    for (long[] r : running.values()) {
      byStage.merge(r[0], r[1], Long::sum);
    }
    long best = 0;
    for (long v : byStage.values()) {
      best = Math.max(best, v);
    }
    return expected >= 0 ? Math.min(best, expected) : best;
  }

  String line(String name, boolean last) {
    double seconds = (System.nanoTime() - startedNanos) / 1e9;
    long done = last && expected >= 0 ? expected : done();
    StringBuilder b = new StringBuilder();
    b.append(name).append(": ").append(String.format("%,d", done));
    if (expected >= 0) {
      b.append(" / ").append(String.format("%,d", expected));
    }
    b.append(" records");
    double rate = seconds > 0 ? done / seconds : 0;
    if (done > 0) {
      b.append(String.format(" · %,.0f rec/s", rate));
    }
    if (!last && expected > 0 && rate > 0) {
      b.append(" · ETA ").append(duration((expected - done) / rate));
    }
    b.append(" · ").append(duration(seconds)).append(last ? " · done" : "");
    return b.toString();
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    return s < 60 ? s + " s" : s / 60 + " min " + s % 60 + " s";
  }

  private void tick() {
    String name = stage;
    if (name == null) {
      return;
    }
    long now = System.nanoTime();
    if (terminal || now - lastPrinted >= TimeUnit.SECONDS.toNanos(30)) {
      lastPrinted = now;
      print(line(name, false), false);
    }
  }

  private PrintStream out() {
    return out != null ? out : System.err;
  }

  private synchronized void print(String line, boolean last) {
    PrintStream out = out();
    if (terminal) {
      String padded = line.length() < lastWidth ? line + " ".repeat(lastWidth - line.length()) : line;
      out.print("\r" + padded + (last ? "\n" : ""));
      lastWidth = last ? 0 : line.length();
    } else {
      out.println(line);
    }
    out.flush();
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
