package dev.sparktune.ingest;

import java.io.Closeable;
import java.util.Iterator;

/**
 * Streams the units of one input file. Every unit read is returned exactly once, as fields or as a
 * reject, so that the ingest count invariant (read = out + rejected) holds.
 */
public interface RecordReader extends Iterator<ReadResult>, Closeable {}
