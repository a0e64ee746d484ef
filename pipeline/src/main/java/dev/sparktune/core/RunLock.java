package dev.sparktune.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running command per work directory: {@code <work_dir>/_lock} names the holder (host, pid,
 * start time, command). On a local or mounted file system the holder also keeps an OS lock on it,
 * which the kernel drops when the process dies however it dies (kill -9 included): a lock file with
 * a holder but no OS lock is a dead run's, and is taken over. On other file systems (HDFS) the file
 * is created exclusively and deleted on release; one left by a dead process on this host is taken
 * over, one from another host must be removed by hand (the message says how).
 */
public final class RunLock implements AutoCloseable {
  public static final String FILE = "_lock";

  private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FileChannel channel; // local: the locked file; null on other file systems
  private final FileLock lock;
  private final FileSystem fs;
  private final Path path;

  private RunLock(FileChannel channel, FileLock lock, FileSystem fs, Path path) {
    this.channel = channel;
    this.lock = lock;
    this.fs = fs;
    this.path = path;
  }

  /** Thrown when another live process holds the work directory; the message names it. */
  public static final class HeldException extends IllegalStateException {
    HeldException(String message) {
      super(message);
    }
  }

  /**
   * Takes the work directory for {@code command}, creating it if needed.
   *
   * @throws HeldException when another live run holds it
   * @throws IOException when the work directory cannot be created or written (the message names it)
   */
  public static RunLock acquire(Workspace workspace, String command) throws IOException {
    Path root = workspace.root();
    Path file = new Path(root, FILE);
    FileSystem fs = workspace.fs(root);
    try {
      fs.mkdirs(root);
    } catch (IOException e) {
      throw new IOException("work_dir " + root + " cannot be created: " + e.getMessage(), e);
    }
    return "file".equals(root.toUri().getScheme()) ? local(file, command) : shared(fs, file, command);
  }

  private static RunLock local(Path file, String command) throws IOException {
    java.nio.file.Path p = Paths.get(file.toUri());
    FileChannel ch;
    try {
      ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (AccessDeniedException e) {
      throw new IOException("work_dir " + p.getParent() + " is not writable (cannot create " + p + ")", e);
    } catch (IOException e) {
      throw new IOException("work_dir " + p.getParent() + " cannot be used: cannot create " + p + " ("
          + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
    }
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // this JVM holds it already
    }
    if (lock == null) {
      String holder = describe(readAll(ch));
      ch.close();
      throw new HeldException("work_dir " + p.getParent() + " is in use by " + holder
          + "; wait for it to finish, or stop it (a lock of a process that died is taken over by itself)");
    }
    byte[] previous = readAll(ch);
    if (previous.length > 0) {
      LOG.warn("taking over the work_dir lock left by {}, which is no longer running", describe(previous));
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap(holder(command)), 0);
    ch.force(false);
    return new RunLock(ch, lock, null, null);
  }

  private static RunLock shared(FileSystem fs, Path file, String command) throws IOException {
    for (int attempt = 0; attempt < 2; attempt++) {
      try (OutputStream out = fs.create(file, false)) {
        out.write(holder(command));
        return new RunLock(null, null, fs, file);
      } catch (FileAlreadyExistsException e) {
        byte[] held;
        try (InputStream in = fs.open(file)) {
          held = in.readAllBytes();
        }
        if (!deadOnThisHost(held)) {
          throw new HeldException("work_dir " + file.getParent() + " is in use by " + describe(held)
              + "; if that run is gone, delete " + file);
        }
        LOG.warn("taking over the work_dir lock left by {}, which is no longer running", describe(held));
        fs.delete(file, false);
      }
    }
    throw new HeldException("work_dir " + file.getParent() + ": another run took the lock at the same moment");
  }

  private static byte[] holder(String command) {
    ObjectNode n = JSON.createObjectNode();
    n.put("host", host());
    n.put("pid", ProcessHandle.current().pid());
    n.put("started", Instant.now().toString());
    n.put("command", command);
    return (n.toString() + "\n").getBytes(StandardCharsets.UTF_8);
  }

  private static String host() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown-host";
    }
  }

  /** "`sparktune run` (pid 42 on host h, started 2026-…)" from a lock file's content. */
  static String describe(byte[] content) {
    try {
      JsonNode n = JSON.readTree(content);
      return "`sparktune " + n.path("command").asText("?") + "` (pid " + n.path("pid").asText("?") + " on host "
          + n.path("host").asText("?") + ", started " + n.path("started").asText("?") + ")";
    } catch (IOException | RuntimeException e) {
      return "another sparktune process (its lock file is unreadable)";
    }
  }

  private static boolean deadOnThisHost(byte[] content) {
    try {
      JsonNode n = JSON.readTree(content);
      return host().equals(n.path("host").asText()) && ProcessHandle.of(n.path("pid").asLong()).isEmpty();
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static byte[] readAll(FileChannel ch) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(ch.size(), 1 << 16));
    ch.read(buf, 0);
    return java.util.Arrays.copyOf(buf.array(), buf.position());
  }

  /** Releases the work directory. The local lock file stays (empty), so no one can lock a stale copy. */
  @Override
  public void close() throws IOException {
    if (channel != null) {
      try (channel) {
        channel.truncate(0);
        lock.release();
      }
    } else {
      fs.delete(path, false);
    }
  }
}
