package dev.sparktune.collective;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs N ranks as threads of this JVM joined by a TCP ring on loopback (one rank: no ring), as the
 * tasks of one executor would be: for tests and benchmarks of the collective and the trainer.
 */
public final class LoopbackRanks {
  private LoopbackRanks() {}

  /** What one rank does with its link to the others. */
  public interface Body {
    Object run(Collective collective) throws Exception;
  }

  /**
   * Runs {@code body} on every rank and returns each rank's result, or the RuntimeException it
   * threw (so a test can inspect every rank's failure).
   */
  public static List<Object> run(int ranks, int timeoutMs, Body body) throws Exception {
    List<ServerSocket> servers = new ArrayList<>();
    List<InetSocketAddress> peers = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(ranks);
    try {
      for (int r = 0; r < ranks; r++) {
        ServerSocket s = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        servers.add(s);
        peers.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort()));
      }
      List<Future<Object>> futures = new ArrayList<>();
      for (int r = 0; r < ranks; r++) {
        int rank = r;
        futures.add(pool.submit(() -> {
          try (Collective c = ranks == 1 ? Collective.single()
              : TcpRing.connect(rank, peers, servers.get(rank), "loopback", timeoutMs)) {
            return body.run(c);
          } catch (RuntimeException e) {
            return e;
          }
        }));
      }
      List<Object> out = new ArrayList<>();
      for (Future<Object> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Exception ex ? ex : e;
        }
      }
      return out;
    } finally {
      pool.shutdownNow();
      for (ServerSocket s : servers) {
        s.close();
      }
    }
  }
}
