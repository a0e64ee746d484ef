package dev.sparktune.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The work directory on any Hadoop file system, with the layout every stage shares:
 * {@code <work_dir>/<stage>/{data,rejects,dropped,...,_manifest.json}}, plus {@code _staging/} for
 * outputs being written. Also resolves the relative paths users write in config.
 */
public final class Workspace {
  public static final String MANIFEST = "_manifest.json";

  private final Configuration conf;
  private final Path baseDir;
  private final Path root;

  /**
   * @param workDir the configured work directory
   * @param baseDir the local directory relative paths are resolved against (the command's working
   *     directory), used when the default file system is local
   */
  public Workspace(String workDir, java.nio.file.Path baseDir, Configuration conf) {
    this.conf = conf;
    this.baseDir = new Path(baseDir.toAbsolutePath().normalize().toUri());
    this.root = resolve(workDir);
  }

  /** Qualifies a user-given path (glob characters allowed) against the base directory or default FS. */
  public Path resolve(String userPath) {
    Path p = new Path(userPath);
    try {
      if (p.toUri().getScheme() == null && !p.isAbsolute()
          && "file".equals(FileSystem.getDefaultUri(conf).getScheme())) {
        p = new Path(baseDir, userPath);
      }
      return p.getFileSystem(conf).makeQualified(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve path " + userPath + ": " + e.getMessage(), e);
    }
  }

  public Configuration conf() {
    return conf;
  }

  public Path root() {
    return root;
  }

  public FileSystem fs(Path path) throws IOException {
    return path.getFileSystem(conf);
  }

  public Path stageDir(String stage) {
    return new Path(root, stage);
  }

  public Path table(String stage, String table) {
    return new Path(stageDir(stage), table);
  }

  public Path manifest(String stage) {
    return new Path(stageDir(stage), MANIFEST);
  }

  Path stagingRoot() {
    return new Path(root, "_staging");
  }
}
