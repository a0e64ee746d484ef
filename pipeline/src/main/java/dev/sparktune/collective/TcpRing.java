package dev.sparktune.collective;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ring all-reduce over TCP: each rank sends to rank + 1 and receives from rank − 1. Reduce-scatter
 * takes N − 1 steps after which rank r holds the sum of chunk r; all-gather takes N − 1 more; each
 * step sends one chunk while receiving another (a writer thread beside the reading one), in pieces
 * of {@link #PIECE} values, so the bus bandwidth is 2(N − 1)/N × size per all-reduce. Every read and
 * write has a timeout, and a failure names the peer, the operation and the step.
 */
public final class TcpRing implements Collective {
  /** Values per network write: 1 MiB of doubles. */
  static final int PIECE = 1 << 17;
  private static final int MAGIC = 0x5350544b; // "SPTK"

  private final int rank;
  private final int size;
  private final int timeoutMs;
  private final List<InetSocketAddress> peers;
  private final Socket toNext;
  private final Socket fromPrev;
  private final DataOutputStream out;
  private final DataInputStream in;
  private final ExecutorService writer;
  private final byte[] sendBytes = new byte[PIECE * 8];
  private final byte[] recvBytes = new byte[PIECE * 8];

  private TcpRing(int rank, List<InetSocketAddress> peers, int timeoutMs, Socket toNext, Socket fromPrev)
      throws IOException {
    this.rank = rank;
    this.size = peers.size();
    this.peers = peers;
    this.timeoutMs = timeoutMs;
    this.toNext = toNext;
    this.fromPrev = fromPrev;
    this.out = new DataOutputStream(new BufferedOutputStream(toNext.getOutputStream(), 1 << 16));
    this.in = new DataInputStream(new BufferedInputStream(fromPrev.getInputStream(), 1 << 16));
    this.writer = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "sparktune-ring-writer-" + rank);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Joins the ring: connects to rank + 1 and accepts rank − 1 on {@code server} (already bound, its
   * address published as {@code peers.get(rank)}). {@code job} identifies the attempt, so a late
   * peer of an earlier attempt cannot join by mistake.
   */
  public static TcpRing connect(int rank, List<InetSocketAddress> peers, ServerSocket server, String job,
      int timeoutMs) throws IOException {
    int n = peers.size();
    if (n < 2) {
      throw new IllegalArgumentException("a ring needs at least 2 ranks, got " + n);
    }
    int next = (rank + 1) % n;
    int prev = (rank - 1 + n) % n;
    long deadline = System.currentTimeMillis() + timeoutMs;
    Socket toNext = null;
    IOException last = null;
    while (toNext == null && System.currentTimeMillis() < deadline) {
      Socket s = new Socket();
      try {
        s.setTcpNoDelay(true);
        s.connect(peers.get(next), Math.max(1, (int) (deadline - System.currentTimeMillis())));
        toNext = s;
      } catch (IOException e) {
        s.close();
        last = e;
        sleep(50);
      }
    }
    if (toNext == null) {
      throw new IOException("rank " + rank + ": cannot connect to rank " + next + " at " + peers.get(next)
          + " within " + timeoutMs + " ms" + (last == null ? "" : ": " + last.getMessage()), last);
    }
    DataOutputStream hello = new DataOutputStream(toNext.getOutputStream());
    hello.writeInt(MAGIC);
    hello.writeInt(rank);
    hello.writeUTF(job);
    hello.flush();

    server.setSoTimeout(Math.max(1, (int) (deadline - System.currentTimeMillis())));
    Socket fromPrev;
    try {
      fromPrev = server.accept();
    } catch (SocketTimeoutException e) {
      toNext.close();
      throw new IOException("rank " + rank + ": rank " + prev + " (" + peers.get(prev)
          + ") did not connect within " + timeoutMs + " ms", e);
    }
    fromPrev.setSoTimeout(timeoutMs);
    fromPrev.setTcpNoDelay(true);
    DataInputStream greet = new DataInputStream(fromPrev.getInputStream());
    int magic = greet.readInt();
    int who = greet.readInt();
    String theirJob = greet.readUTF();
    if (magic != MAGIC || who != prev || !theirJob.equals(job)) {
      fromPrev.close();
      toNext.close();
      throw new IOException("rank " + rank + ": expected rank " + prev + " of job " + job + " but "
          + fromPrev.getRemoteSocketAddress() + " said rank " + who + " of job " + theirJob);
    }
    return new TcpRing(rank, peers, timeoutMs, toNext, fromPrev);
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public void reduceScatterSum(double[] buffer) {
    for (int step = 0; step < size - 1; step++) {
      int send = Math.floorMod(rank - step - 1, size);
      int recv = Math.floorMod(rank - step - 2, size);
      exchange(buffer, send, recv, true, "reduce-scatter", step);
    }
  }

  @Override
  public void allGather(double[] buffer) {
    for (int step = 0; step < size - 1; step++) {
      int send = Math.floorMod(rank - step, size);
      int recv = Math.floorMod(rank - step - 1, size);
      exchange(buffer, send, recv, false, "all-gather", step);
    }
  }

  /** Sends chunk {@code send} to the next rank while receiving chunk {@code recv} from the previous. */
  private void exchange(double[] buffer, int send, int recv, boolean add, String op, int step) {
    int sendFrom = shardStart(send, buffer.length);
    int sendTo = shardEnd(send, buffer.length);
    int recvFrom = shardStart(recv, buffer.length);
    int recvTo = shardEnd(recv, buffer.length);
    Future<?> sending = writer.submit(() -> {
      try {
        ByteBuffer bytes = ByteBuffer.wrap(sendBytes).order(ByteOrder.LITTLE_ENDIAN);
        DoubleBuffer view = bytes.asDoubleBuffer();
        for (int off = sendFrom; off < sendTo; off += PIECE) {
          int n = Math.min(PIECE, sendTo - off);
          view.clear();
          view.put(buffer, off, n);
          out.write(sendBytes, 0, n * 8);
        }
        out.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return null;
    });
    int next = (rank + 1) % size;
    int prev = (rank - 1 + size) % size;
    try {
      DoubleBuffer view = ByteBuffer.wrap(recvBytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
      for (int off = recvFrom; off < recvTo; off += PIECE) {
        int n = Math.min(PIECE, recvTo - off);
        in.readFully(recvBytes, 0, n * 8);
        if (add) {
          for (int i = 0; i < n; i++) {
            buffer[off + i] += view.get(i);
          }
        } else {
          view.position(0);
          view.get(buffer, off, n);
        }
      }
    } catch (IOException e) {
      sending.cancel(true);
      throw failure("receiving from rank " + prev + " (" + peers.get(prev) + ")", op, step, e);
    }
    try {
      sending.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw failure("sending to rank " + next + " (" + peers.get(next) + ")", op, step, e.getCause());
    } catch (TimeoutException e) {
      sending.cancel(true);
      throw failure("sending to rank " + next + " (" + peers.get(next) + ")", op, step, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failure("sending to rank " + next, op, step, e);
    }
  }

  private CollectiveException failure(String what, String op, int step, Throwable cause) {
    String reason = cause instanceof SocketTimeoutException || cause instanceof TimeoutException
        ? "no data for " + timeoutMs + " ms" : cause instanceof java.io.EOFException
        ? "the peer closed the connection (did its task die?)" : String.valueOf(cause.getMessage());
    return new CollectiveException("rank " + rank + ": " + what + " failed in " + op + " step " + step
        + ": " + reason, cause);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    writer.shutdownNow();
    try {
      toNext.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    try {
      fromPrev.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  /** A collective failed: the message names the rank, the peer, the operation and the step. */
  public static final class CollectiveException extends RuntimeException {
    CollectiveException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
