package dev.sparktune.ingest;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;

/**
 * Opens an input file as text: decompresses by extension (.gz, .bz2, ...), honours a byte-order
 * mark over the configured charset, and replaces undecodable bytes with U+FFFD instead of failing.
 */
public final class TextInput {
  private TextInput() {}

  /** Opens the file's bytes, decompressed by extension. */
  public static InputStream open(Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    InputStream in = fs.open(path);
    try {
      CompressionCodec codec = new CompressionCodecFactory(conf).getCodec(path);
      return codec == null ? in : codec.createInputStream(in);
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
  }

  /** Wraps a byte stream as text, skipping a UTF-8/UTF-16 byte-order mark (which then sets the charset). */
  public static Reader decode(InputStream raw, Charset fallback) throws IOException {
    BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
    in.mark(3);
    int b0 = in.read();
    int b1 = in.read();
    int b2 = in.read();
    Charset charset = fallback;
    if (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF) {
      charset = StandardCharsets.UTF_8;
    } else if (b0 == 0xFE && b1 == 0xFF) {
      charset = StandardCharsets.UTF_16BE;
      in.reset();
      in.skip(2);
    } else if (b0 == 0xFF && b1 == 0xFE) {
      charset = StandardCharsets.UTF_16LE;
      in.reset();
      in.skip(2);
    } else {
      in.reset();
    }
    CharsetDecoder decoder = charset.newDecoder()
        .onMalformedInput(CodingErrorAction.REPLACE)
        .onUnmappableCharacter(CodingErrorAction.REPLACE);
    return new BufferedReader(new InputStreamReader(in, decoder), 1 << 16);
  }

  /** The first {@code max} characters of {@code s}, marked when cut. */
  public static String snippet(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    return s.substring(0, max) + "…[" + (s.length() - max) + " more chars]";
  }
}
