package dev.sparktune.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.NoSuchElementException;

/**
 * A {@link RecordReader} whose parsing step yields zero or more results at a time (a JSON array
 * element, a SQL statement with many rows, a page with many selector matches) into a queue.
 */
public abstract class QueuedRecordReader implements RecordReader {
  /** Results parsed but not yet returned. */
  protected final Deque<ReadResult> queue = new ArrayDeque<>();
  private boolean done;

  /**
   * Parses the next piece of input into {@link #queue}; returns false at the end of the input.
   * A call may add nothing (a skipped statement) and still return true.
   */
  protected abstract boolean fill() throws IOException;

  @Override
  public final boolean hasNext() {
    try {
      while (queue.isEmpty() && !done) {
        done = !fill();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return !queue.isEmpty();
  }

  @Override
  public final ReadResult next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    return queue.poll();
  }
}
