package dev.sparktune.config;

/**
 * A configuration problem found before any work starts, naming the file, line and key path at fault.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
