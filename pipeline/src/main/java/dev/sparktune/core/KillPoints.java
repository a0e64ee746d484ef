package dev.sparktune.core;

/**
 * Named points where the kill tests stop a real run: a process started with
 * {@code -Dsparktune.test.killAt=<point>} prints {@code sparktune-test: at <point>} on stderr when
 * it gets there, and (unless the point is marked as passing) waits there to be killed with SIGKILL.
 * Without the property every call is one property lookup. The points: {@code <stage>:job} (a task
 * of the stage's first Spark job has finished; the job goes on), {@code <stage>:staged} (output and
 * manifest complete in staging), {@code <stage>:aside} (the previous output moved aside, the new one
 * not yet in place), {@code <stage>:committed} (the new output in place, the old not yet deleted),
 * {@code train:step-N} (after optimizer step N) and {@code train:checkpoint-N} (checkpoint N half
 * written).
 */
public final class KillPoints {
  private KillPoints() {}

  /** The system property naming the point to stop at. */
  public static final String PROPERTY = "sparktune.test.killAt";

  /** Stops here, waiting to be killed, when the property names {@code point}. */
  public static void reach(String point) {
    if (point.equals(System.getProperty(PROPERTY))) {
      System.err.println("sparktune-test: at " + point);
      System.err.flush();
      while (true) {
        try {
          Thread.sleep(60_000);
        } catch (InterruptedException e) {
          // only SIGKILL ends the wait: the test is about what a killed process leaves behind
        }
      }
    }
  }

  /** Says so when the property names {@code point}, and goes on (the killer acts while it runs). */
  public static void pass(String point) {
    if (point.equals(System.getProperty(PROPERTY))) {
      System.err.println("sparktune-test: at " + point);
      System.err.flush();
    }
  }
}
