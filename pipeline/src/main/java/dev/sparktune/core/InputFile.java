package dev.sparktune.core;

import java.io.Serializable;

/**
 * One file a stage reads directly, as listed on the driver: enough to notice when it changes.
 *
 * @param path fully qualified Hadoop path
 * @param size length in bytes
 * @param modified modification time in epoch milliseconds
 */
public record InputFile(String path, long size, long modified) implements Serializable {}
