package dev.sparktune.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs, on the driver, each new line rank 0 appends to metrics.jsonl. */
final class ProgressFollower {
  private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);

  private final MetricsLog log;
  private final Thread thread;
  private volatile boolean running = true;

  ProgressFollower(MetricsLog log) {
    this.log = log;
    this.thread = new Thread(this::follow, "sparktune-train-progress");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() {
    running = false;
    thread.interrupt();
  }

  private void follow() {
    int seen = -1;
    while (running) {
      try {
        Thread.sleep(2000);
        if (!Files.exists(log.file())) {
          continue;
        }
        List<StepMetrics> lines = log.read();
        if (seen < 0) {
          seen = lines.size() - 1; // a resumed run: report from the last line on
        }
        for (int i = Math.max(0, seen); i < lines.size(); i++) {
          StepMetrics m = lines.get(i);
          LOG.info(String.format("train progress: step %d, loss %.4f, lr %.3g, %.0f tokens/s%s", m.step(),
              m.loss(), m.lr(), m.tokensPerSecond(), m.evalLoss() != null
                  ? String.format(", eval loss %.4f", m.evalLoss()) : ""));
        }
        seen = lines.size();
      } catch (InterruptedException e) {
        return;
      } catch (IOException | RuntimeException e) {
        // a line being written, or the run folder being committed: try again on the next tick
      }
    }
  }
}
