package dev.sparktune.ingest;

import dev.sparktune.core.InputFile;
import dev.sparktune.core.Workspace;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Lists the files a source path (file, directory or glob) names, on the driver, in path order. */
public final class InputListing {
  private InputListing() {}

  /** Fails when nothing matches, naming the source and path: a typo must not ingest nothing. */
  public static List<InputFile> list(Workspace workspace, String sourceName, String pathSpec) throws IOException {
    Path pattern = workspace.resolve(pathSpec);
    FileSystem fs = workspace.fs(pattern);
    FileStatus[] matches = fs.globStatus(pattern);
    List<InputFile> files = new ArrayList<>();
    if (matches != null) {
      for (FileStatus st : matches) {
        collect(fs, st, files);
      }
    }
    if (files.isEmpty()) {
      throw new IOException("source '" + sourceName + "': path '" + pathSpec + "' (" + pattern
          + ") matches no files");
    }
    files.sort(Comparator.comparing(InputFile::path));
    return files;
  }

  private static void collect(FileSystem fs, FileStatus st, List<InputFile> out) throws IOException {
    String name = st.getPath().getName();
    if (name.startsWith(".") || name.startsWith("_")) {
      return;
    }
    if (st.isDirectory()) {
      for (FileStatus child : fs.listStatus(st.getPath())) {
        collect(fs, child, out);
      }
    } else {
      out.add(new InputFile(st.getPath().toString(), st.getLen(), st.getModificationTime()));
    }
  }
}
