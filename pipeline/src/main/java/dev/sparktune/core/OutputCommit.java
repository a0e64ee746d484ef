package dev.sparktune.core;

import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a stage's staged output into place atomically: the previous output is moved aside, the
 * staging folder renamed into place, and only then the old output deleted. A process killed in
 * between leaves a staging folder or an {@code .old} folder behind, which {@link #recover} cleans up.
 */
final class OutputCommit {
  private static final Logger LOG = LoggerFactory.getLogger(StageRunner.class);

  private final Workspace workspace;

  OutputCommit(Workspace workspace) {
    this.workspace = workspace;
  }

  /** A new, unique staging folder for one run of the stage (not yet created). */
  Path newStaging(String stage) {
    return new Path(workspace.stagingRoot(), stage + "-" + UUID.randomUUID());
  }

  /** Swaps {@code staging} into place as the stage's output folder. */
  void commit(FileSystem fs, Path staging, String stage) throws IOException {
    Path target = workspace.stageDir(stage);
    Path old = new Path(staging.getParent(), staging.getName() + ".old");
    boolean hadOld = fs.exists(target);
    if (hadOld && !fs.rename(target, old)) {
      throw new IOException("cannot move the previous output " + target + " aside");
    }
    KillPoints.reach(target.getName() + ":aside");
    if (!fs.rename(staging, target)) {
      if (hadOld) {
        fs.rename(old, target);
      }
      throw new IOException("cannot move " + staging + " into place at " + target);
    }
    KillPoints.reach(target.getName() + ":committed");
    if (hadOld) {
      fs.delete(old, true);
    }
  }

  /**
   * Cleans up after a process that died mid-stage: staging folders are deleted, and an old output
   * moved aside by an interrupted commit is put back if nothing replaced it.
   */
  void recover(FileSystem fs, String stage) throws IOException {
    Path root = workspace.stagingRoot();
    if (!fs.exists(root)) {
      return;
    }
    Path target = workspace.stageDir(stage);
    for (FileStatus st : fs.listStatus(root)) {
      String n = st.getPath().getName();
      if (!n.startsWith(stage + "-")) {
        continue;
      }
      if (n.endsWith(".old") && !fs.exists(target)) {
        LOG.warn("{}: restoring the previous output from an interrupted commit ({})", stage, st.getPath());
        fs.rename(st.getPath(), target);
      } else {
        fs.delete(st.getPath(), true);
      }
    }
  }

  /** Deletes a staging folder after a failure, logging (not throwing) if that fails too. */
  void deleteQuietly(Path path) {
    try {
      workspace.fs(path).delete(path, true);
    } catch (IOException e) {
      LOG.warn("cannot delete staging folder {}: {}", path, e.getMessage());
    }
  }
}
